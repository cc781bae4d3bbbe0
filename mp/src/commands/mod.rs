//! The commands, one module per group: [`account`] (login, logout, whoami, doctor), [`data`]
//! (rounds and their files), [`train`] (training runs), [`models`] (register, deploy,
//! heartbeat, link-infra, catalog), [`init`] and [`dev`] (the templates), [`validate`] (the
//! model-server contract against a running server).

pub mod account;
pub mod data;
pub mod dev;
pub mod init;
pub mod models;
pub mod train;
pub mod validate;

use crate::Context;
use crate::cli::{Command, DataCommand, TrainCommand};
use crate::error::Result;

pub fn run(context: &Context, command: Command) -> Result<()> {
    match command {
        Command::Login { key } => account::login(context, key),
        Command::Logout => account::logout(context),
        Command::Whoami => account::whoami(context),
        Command::Doctor => account::doctor(context),
        Command::Data(DataCommand::List) => data::list(context),
        Command::Data(DataCommand::Info { round }) => data::info(context, &round),
        Command::Data(DataCommand::Pull { round, out, files }) => {
            data::pull(context, &round, &out, &files)
        }
        Command::Train(TrainCommand::Start(args)) => train::start(context, &args),
        Command::Train(TrainCommand::Status { run_id }) => train::status(context, &run_id),
        Command::Train(TrainCommand::Logs {
            run_id,
            follow,
            since,
        }) => train::logs(context, &run_id, follow, since),
        Command::Train(TrainCommand::Stop { run_id }) => train::stop(context, &run_id),
        Command::Train(TrainCommand::List { status }) => train::list(context, status),
        Command::Train(TrainCommand::Report {
            run_id,
            metrics,
            hf_repo_id,
        }) => train::report(context, &run_id, &metrics, hf_repo_id),
        Command::Register(args) => models::register(context, &args),
        Command::Deploy(args) => models::deploy(context, &args),
        Command::Heartbeat(args) => models::heartbeat(context, &args),
        Command::Catalog { task, stage } => models::catalog(context, task, stage),
        Command::Init {
            template,
            dir,
            from_run,
            force,
        } => init::init(context, &template, &dir, from_run.as_deref(), force),
        Command::Dev { dir, port } => dev::dev(context, &dir, port),
        Command::Validate { url, task, junit } => {
            validate::validate(context, &url, &task, junit.as_deref())
        }
        Command::LinkInfra {
            deployment,
            env_file,
            revoke_previous,
        } => models::link_infra(context, &deployment, &env_file, revoke_previous),
    }
}

/// Every item of a paged listing at `path` (`items` and `next_cursor`), following the cursor.
pub fn all_pages(
    client: &crate::client::Client,
    path: &str,
    query: &[(&str, Option<String>)],
) -> Result<Vec<serde_json::Value>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut pairs: Vec<(&str, Option<String>)> = query.to_vec();
        pairs.push(("limit", Some("100".to_owned())));
        pairs.push(("cursor", cursor.clone()));
        let page = client.get(&crate::client::with_query(path, &pairs))?;
        if let Some(found) = page["items"].as_array() {
            items.extend(found.iter().cloned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(items),
        }
    }
}
