//! verify: turns milestone files into a pass or a fail that CI can trust, against the
//! reference runtime or any server that implements the manifest.
//!
//! # Layout
//!
//! - [`milestone`]: the YAML format ([`milestone::raw`]) and its loading, which checks
//!   everything it can against the embedded manifest and the reason registry before anything
//!   runs, with file, line, column and a hint for each problem.
//! - [`target`]: the server under test. In process, the reference runtime is built with
//!   [`marketref::http::AppState::new`] on a fresh temporary SQLite store and served with
//!   [`marketref::http::run`] on `127.0.0.1:0`; otherwise any `--base-url`.
//! - [`driver`]: sends one request and judges its response, the only path to the server.
//! - [`gates`]: the drift check, the routing probes and the generated auth probes.
//! - [`run`]: one milestone, start to end; [`seeding`] reaches its seeded state through the
//!   dev routes or the API; [`session`] runs its steps in order; [`check`] judges an answer
//!   against its step, [`rules`] against the contract rules every answer keeps (with
//!   [`replay`], which knows the run's idempotent requests); [`template`] resolves
//!   `${capture}`s.
//! - [`outcome`], [`coverage`], [`divergence`], [`report`], [`junit`], [`artifacts`],
//!   [`terminal`]: what a run leaves behind.
//!
//! # Invariant
//!
//! The verifier reaches the runtime only through HTTP. The one exception is the store dump of
//! the in-process store it created itself, for `store.json`.
//!
//! # Exit codes (see [`Verdict::exit_code`] and [`Error::exit_code`])
//!
//! 0: every check passed. 1: a check failed. 2: the milestone or the command line is wrong
//! (nothing was judged).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub mod artifacts;
pub mod check;
pub mod coverage;
pub mod divergence;
pub mod driver;
pub mod error;
pub mod event_stream;
pub mod exchange;
pub mod gates;
pub mod junit;
pub mod milestone;
pub mod outcome;
pub mod pointer;
pub mod replay;
pub mod report;
pub mod route;
pub mod rules;
pub mod run;
pub mod secrets;
pub mod seeding;
pub mod session;
pub mod target;
pub mod template;
pub mod terminal;

pub use error::{Error, ErrorKind, SourceLocation};
pub use milestone::Milestone;
pub use seeding::SeedChoice;

use crate::gates::ContractsGate;
use crate::run::MilestoneRun;
use crate::terminal::Terminal;

/// What to verify, and where the results go.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Milestone files, or folders whose `*.yaml` files are milestones.
    pub paths: Vec<PathBuf>,
    /// Drive this server instead of the in-process runtime.
    pub base_url: Option<String>,
    /// Run the in-process runtime on Postgres: each milestone on a new database of the server
    /// this URL names (dropped after), instead of a SQLite file.
    pub db: Option<String>,
    /// The artifacts root; `<repository>/artifacts` of the first milestone when absent.
    pub out: Option<PathBuf>,
    /// Also write one JUnit XML file for all milestones here.
    pub junit: Option<PathBuf>,
    /// Rewrite `expected_outcome_sha256` in each milestone whose other checks pass.
    pub update_expected: bool,
    /// Report coverage of all milestones together; a gap fails the run.
    pub coverage: bool,
    /// Which path seeds the milestones (`--seed`).
    pub seed: SeedChoice,
}

/// The verdict of one call.
#[derive(Debug)]
pub struct Verdict {
    pub runs: Vec<MilestoneRun>,
    pub coverage: Option<coverage::Coverage>,
    /// The `latest/` folder of each milestone, in run order.
    pub latest: Vec<PathBuf>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        !self.runs.is_empty()
            && self.runs.iter().all(MilestoneRun::passed)
            && self.coverage.as_ref().is_none_or(|c| c.passed)
    }

    pub fn exit_code(&self) -> u8 {
        if self.passed() { 0 } else { 1 }
    }
}

/// The milestone files named by `paths`: files as given, folders by their `*.yaml` and
/// `*.yml` files in name order.
pub fn milestone_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    if paths.is_empty() {
        return Err(Error::usage("no milestone given")
            .with_hint("name milestone files or a folder, like `verify milestones/`"));
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|ext| ext == "yaml" || ext == "yml")
                })
                .collect();
            if found.is_empty() {
                return Err(Error::usage(format!(
                    "{}: no *.yaml milestone in this folder",
                    path.display()
                )));
            }
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(Error::usage(format!(
                "{}: no such file or folder",
                path.display()
            )));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    files.retain(|file| seen.insert(std::path::absolute(file).unwrap_or_else(|_| file.clone())));
    Ok(files)
}

/// Loads every milestone first, reporting every load error at once, so that nothing runs
/// when any file is wrong.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Milestone>, Error> {
    let files = milestone_files(paths)?;
    let mut milestones = Vec::new();
    let mut errors = Vec::new();
    for file in &files {
        match milestone::load(file) {
            Ok(milestone) => milestones.push(milestone),
            Err(error) => errors.push(error),
        }
    }
    let mut ids: BTreeMap<&str, &str> = BTreeMap::new();
    for milestone in &milestones {
        if let Some(other) = ids.insert(&milestone.id, &milestone.display_path) {
            errors.push(
                Error::new(
                    ErrorKind::Milestone,
                    format!(
                        "{} and {other} both declare milestone `{}`",
                        milestone.display_path, milestone.id
                    ),
                )
                .with_hint("milestone ids name artifact folders; give each file its own"),
            );
        }
    }
    match Error::many(errors) {
        Some(error) => Err(error),
        None => Ok(milestones),
    }
}

/// Verifies the milestones of `options`, printing progress to `out`. `Err` means nothing could
/// be judged (exit 2); otherwise the [`Verdict`] says pass (0) or fail (1).
pub fn verify(options: &Options, out: &mut dyn Write) -> Result<Verdict, Error> {
    let milestones = load_all(&options.paths)?;
    if let Some(url) = &options.base_url {
        target::Target::external(url)?;
    }
    if let Some(db) = &options.db {
        if options.base_url.is_some() {
            return Err(Error::usage(
                "--db chooses the in-process runtime's store; a server at --base-url has its own",
            ));
        }
        if !marketref::store::postgres::is_url(db) {
            return Err(Error::usage(format!(
                "--db `{}`: a Postgres URL (postgres://USER@HOST:PORT/DB); without --db the \
                 in-process runtime runs on a SQLite file",
                marketref::store::postgres::redacted(db)
            )));
        }
    }
    let out_root = match &options.out {
        Some(dir) => dir.clone(),
        None => milestones
            .first()
            .map(|m| m.root.join("artifacts"))
            .unwrap_or_else(|| PathBuf::from("artifacts")),
    };
    let mut terminal = Terminal::new(out);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Runtime,
                format!("starting the async runtime: {e}"),
            )
        })?;
    let client = target::client()?;
    let setting = run::RunSetting {
        base_url: options.base_url.as_deref(),
        postgres: options.db.as_deref(),
        seed: options.seed,
        client: &client,
    };
    let stamp = artifacts::stamp_now();

    let mut gates_by_root: BTreeMap<PathBuf, ContractsGate> = BTreeMap::new();
    let mut runs = Vec::new();
    let mut latest = Vec::new();
    for milestone in &milestones {
        let contracts = gates_by_root
            .entry(milestone.root.clone())
            .or_insert_with(|| gates::contracts_gate(&milestone.root))
            .clone();
        let mut run = tokio.block_on(run::run_milestone(
            milestone,
            contracts,
            &setting,
            &mut terminal,
        ))?;
        if options.update_expected {
            update_pin(milestone, &mut run, &mut terminal)?;
        }
        terminal.milestone_totals(&run);
        latest.push(artifacts::write(&out_root, &stamp, &run)?);
        runs.push(run);
    }
    drop(tokio);

    let coverage = options.coverage.then(|| coverage::compute(&runs));
    if let Some(coverage) = &coverage {
        terminal.coverage(coverage);
        artifacts::write_file(
            &out_root.join("coverage.json"),
            &artifacts::coverage_file(coverage),
        )?;
    }
    if let Some(path) = &options.junit {
        artifacts::write_file(path, &junit::junit(&runs))?;
    }
    let verdict = Verdict {
        runs,
        coverage,
        latest,
    };
    terminal.overall(verdict.passed());
    Ok(verdict)
}

/// `--update-expected`: pins the outcome of a run whose other checks all passed.
fn update_pin(
    milestone: &Milestone,
    run: &mut MilestoneRun,
    terminal: &mut Terminal<'_>,
) -> Result<(), Error> {
    let actual = run.outcome_check.actual.clone();
    if run.outcome_check.expected.as_deref() == Some(actual.as_str()) {
        return Ok(());
    }
    if !run.passed_before_outcome() {
        terminal.line(&format!(
            "{}: not updating expected_outcome_sha256: other checks failed, and a failing run's outcome is no reference",
            milestone.display_path
        ));
        return Ok(());
    }
    let text = outcome::rewrite_pin(
        &milestone.text,
        milestone.expected_outcome.as_ref(),
        &actual,
    )
    .ok_or_else(|| {
        Error::new(
            ErrorKind::Milestone,
            format!(
                "{}: cannot place expected_outcome_sha256 (no top-level `milestone:` line)",
                milestone.display_path
            ),
        )
        .with_hint("write `expected_outcome_sha256: <64 hex digits>` as a top-level key by hand")
    })?;
    artifacts::write_file(Path::new(&milestone.path), &text)?;
    run.outcome_check.updated = true;
    terminal.line(&format!(
        "{}: expected_outcome_sha256 set to {actual}",
        milestone.display_path
    ));
    Ok(())
}
