//! `mp register`, `deploy`, `heartbeat`, `catalog`: from a trained run to a live deployment in
//! the catalog.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Context;
use crate::cli::{DeployArgs, HeartbeatArgs, RegisterArgs};
use crate::client::{self, Client};
use crate::commands::account::text;
use crate::commands::all_pages;
use crate::config;
use crate::error::{Error, Result};
use crate::secret::masked;

/// The names an env file of `mp deploy --env-file` holds.
const ENV_API_URL: &str = "MP_API_URL";
const ENV_DEPLOYMENT_ID: &str = "MP_DEPLOYMENT_ID";
const ENV_DEPLOYMENT_TOKEN: &str = "MP_DEPLOYMENT_TOKEN";

/// The vendor's model named `name`, if any.
fn model_named(client: &Client, name: &str) -> Result<Option<Value>> {
    Ok(all_pages(client, "/api/vendors/models", &[])?
        .into_iter()
        .find(|model| model["name"] == name))
}

pub fn register(context: &Context, args: &RegisterArgs) -> Result<()> {
    let client = context.vendor()?;
    let run_task = match &args.run {
        Some(run_id) => {
            let run = client.get(&format!("/api/training/runs/{}", client::encode(run_id)))?;
            run["spec"]["task"].as_str().map(str::to_owned)
        }
        None => None,
    };
    let mut version = json!({ "version": args.version });
    if let Some(run_id) = &args.run {
        version["training_run_id"] = json!(run_id);
    }
    let (model_id, created, answer) = match model_named(&client, &args.name)? {
        Some(model) => {
            let model_id = text(&model, "model_id").to_owned();
            let path = format!("/api/vendors/models/{}/versions", client::encode(&model_id));
            (model_id, false, client.post(&path, &version)?)
        }
        None => {
            let mut body = version.clone();
            body["name"] = json!(args.name);
            body["task"] = json!(
                args.task
                    .clone()
                    .or(run_task)
                    .unwrap_or_else(|| "signal".to_owned())
            );
            if let Some(description) = &args.description {
                body["description"] = json!(description);
            }
            let created = client.post("/api/vendors/models", &body)?;
            let model_id = text(&created, "model_id").to_owned();
            (model_id, true, created)
        }
    };
    // A new model answers `{model_id, version_id, model}`; a new version answers the version.
    let version = if created {
        answer["model"]["versions"]
            .as_array()
            .and_then(|versions| {
                versions
                    .iter()
                    .find(|v| v["version_id"] == answer["version_id"])
            })
            .cloned()
            .unwrap_or(Value::Null)
    } else {
        answer
    };
    let document = json!({"model_id": model_id, "created_model": created, "version": version});
    context.out.emit(
        &document,
        &format!(
            "{} {} {} of {} ({}), metrics {}",
            if created {
                "registered model and version"
            } else {
                "registered version"
            },
            text(&version, "version"),
            text(&version, "version_id"),
            args.name,
            model_id,
            text(&version, "metrics_source")
        ),
    );
    Ok(())
}

/// The model by id (`model_...`) or by name, with its versions.
fn find_model(client: &Client, model: &str) -> Result<Value> {
    if let Some(found) = model_named(client, model)? {
        return Ok(found);
    }
    client.get(&format!("/api/vendors/models/{}", client::encode(model)))
}

pub fn deploy(context: &Context, args: &DeployArgs) -> Result<()> {
    let client = context.vendor()?;
    let model = find_model(&client, &args.model)?;
    let version = model["versions"]
        .as_array()
        .and_then(|versions| {
            versions.iter().find(|v| {
                v["version_id"] == args.version.as_str() || v["version"] == args.version.as_str()
            })
        })
        .ok_or_else(|| {
            Error::local(format!(
                "{} has no version `{}`",
                text(&model, "model_id"),
                args.version
            ))
            .with_hint("give a version id (ver_...) or its name, as `mp register` printed")
        })?;
    let mut body = json!({"model_id": model["model_id"], "version_id": version["version_id"]});
    if let Some(endpoint) = &args.endpoint {
        body["endpoint_url"] = json!(endpoint);
    }
    let created = client.post("/api/deployments", &body)?;
    let token = text(&created, "infra_token").to_owned();
    let deployment_id = text(&created, "deployment_id").to_owned();
    let mut document = json!({
        "deployment_id": deployment_id,
        "token_id": created["token_id"],
        "token_expires_at": created["token_expires_at"],
        "deployment": created["deployment"],
    });
    match &args.env_file {
        Some(path) => {
            write_env_file(path, client.base(), &deployment_id, &token)?;
            document["infra_token"] = json!(masked(&token));
            document["env_file"] = json!(path.display().to_string());
            context.out.emit(
                &document,
                &format!(
                    "deployed {deployment_id}: token {} written to {} (mode 600)",
                    masked(&token),
                    path.display()
                ),
            );
        }
        None => {
            document["infra_token"] = json!(token);
            context.out.emit(
                &document,
                &format!(
                    "deployed {deployment_id}\ndeployment token (shown once, keep it now): {token}"
                ),
            );
        }
    }
    Ok(())
}

/// The env file a model server reads (mode 0600): where the API is, which deployment it is,
/// and its token.
fn write_env_file(path: &Path, api_url: &str, deployment_id: &str, token: &str) -> Result<()> {
    let env = format!(
        "{ENV_API_URL}={api_url}\n{ENV_DEPLOYMENT_ID}={deployment_id}\n{ENV_DEPLOYMENT_TOKEN}={token}\n"
    );
    config::write_private(path, env.as_bytes())
}

pub fn link_infra(
    context: &Context,
    deployment_id: &str,
    env_file: &Path,
    revoke_previous: bool,
) -> Result<()> {
    let client = context.vendor()?;
    let path = format!(
        "/api/deployments/{}/infra-token",
        client::encode(deployment_id)
    );
    let issued = client.post(&path, &json!({ "revoke_previous": revoke_previous }))?;
    let token = text(&issued, "infra_token").to_owned();
    write_env_file(env_file, client.base(), deployment_id, &token)?;
    let document = json!({
        "deployment_id": deployment_id,
        "token_id": issued["token_id"],
        "infra_token": masked(&token),
        "env_file": env_file.display().to_string(),
        "revoked_previous": revoke_previous,
    });
    context.out.emit(
        &document,
        &format!(
            "{deployment_id}: a new token {} written to {} (mode 600); a model server started in its folder sends heartbeats and signals with it",
            masked(&token),
            env_file.display()
        ),
    );
    Ok(())
}

/// `KEY=VALUE` lines of an env file, refused when others can read it.
fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| Error::local(format!("reading {}: {e}", path.display())))?;
    config::refuse_open(path, metadata.permissions().mode(), 0o600)?;
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect())
}

pub fn heartbeat(context: &Context, args: &HeartbeatArgs) -> Result<()> {
    let file = match &args.env_file {
        Some(path) => read_env_file(path)?,
        None => BTreeMap::new(),
    };
    let setting = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.is_empty())
            .or_else(|| file.get(name).cloned())
    };
    let token = setting(ENV_DEPLOYMENT_TOKEN).ok_or_else(|| {
        Error::local("no deployment token")
            .with_hint("pass --env-file (from `mp deploy --env-file`) or set MP_DEPLOYMENT_TOKEN")
    })?;
    let deployment_id = setting(ENV_DEPLOYMENT_ID).ok_or_else(|| {
        Error::local("no deployment id").with_hint("pass --env-file or set MP_DEPLOYMENT_ID")
    })?;
    let api_url = match context
        .api_url
        .clone()
        .or_else(|| file.get(ENV_API_URL).cloned())
    {
        Some(url) => url,
        None => context.api_url()?,
    };
    let timestamp = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .map_err(|e| Error::local(e.to_string()))?;
    let mut body =
        json!({"deployment_id": deployment_id, "status": args.status, "timestamp": timestamp});
    if let Some(message) = &args.message {
        body["message"] = json!(message);
    }
    let client = Client::new(&api_url, Some(token))?;
    let recorded = client.post("/api/marketplace/vendor/heartbeats", &body)?;
    context.out.emit(
        &recorded,
        &format!("heartbeat recorded for {deployment_id}: {}", args.status),
    );
    Ok(())
}

pub fn catalog(context: &Context, task: Option<String>, stage: Option<String>) -> Result<()> {
    let entries = all_pages(
        &context.anonymous()?,
        "/api/catalog",
        &[("task", task), ("stage", stage)],
    )?;
    let human = if entries.is_empty() {
        "the catalog is empty".to_owned()
    } else {
        entries
            .iter()
            .map(|entry| {
                format!(
                    "{:14} {:24} {:8} {:6} {:8} sharpe {} ({}) predictions {}",
                    text(entry, "id"),
                    text(entry, "name"),
                    text(entry, "task"),
                    text(entry, "stage"),
                    text(entry, "status"),
                    entry["last_oos_sharpe"],
                    text(entry, "metrics_source"),
                    entry["total_predictions"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    context.out.emit(&json!({ "items": entries }), &human);
    Ok(())
}
