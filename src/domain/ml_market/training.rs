//! The training worker pool (spec section 4): `serve --training-workers N` threads, each taking
//! the oldest queued `local` run from the store, training it with [`trainer`] on the round's
//! files, and writing its progress in short transactions of its own, never a request's and
//! never across an epoch.
//!
//! A run moves `queued -> running` when a worker claims it for its runtime instance (in a
//! write transaction that reads the queue and updates the run only if it is still `queued`, so
//! two workers, in one process or several, never take the same run), and from `running` to its
//! end by the worker, or to `cancelled` by a request. Every write of the worker after the claim
//! is conditional on the run still being `running` and carries its log line in the same
//! transaction, so that a cancel wins at the next epoch and a log never grows after the end.
//!
//! When the server stops, a worker stops at the next epoch and fails its run `interrupted`.
//! When its process died instead, nothing trains the run any more: every instance on the
//! database fails `interrupted` the running runs whose instance is no longer alive (as the
//! store tells, [`Store::instance_alive`]), before it serves and then every
//! [`SWEEP_INTERVAL`] ([`interrupt_orphans`]), so that a restart, or any other live instance,
//! settles them; runs another live instance trains are left alone, and queued runs are trained
//! as usual.
//!
//! [`trainer`]: super::trainer

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::api::{Env, WorkerContext, WorkerSpec};
use crate::clock::format_rfc3339_millis;
use crate::json::JsNumber;
use crate::store::{Store, StoreError};

use super::files;
use super::store::{self, MlStore, TrainingRecord};
use super::trainer::{self, Hyperparams, Outcome, Split};
use super::types::{
    FailureReason, FileKind, MetricsSource, Provider, TrainingArtifacts, TrainingStatus,
};

/// The name of a log line's event in a followed log.
pub const LOG_EVENT: &str = "log";
/// How long an idle worker waits before it looks at the queue again.
const IDLE_POLL: Duration = Duration::from_millis(20);
/// How long a worker waits after the store failed it.
const FAILED_POLL: Duration = Duration::from_secs(1);
/// How often the pool looks for running runs whose instance died. A look is one read of the
/// running runs and a look at each one's instance; a write only when one must be ended.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);
/// Log lines read at most for one text answer.
const LOG_TEXT_LIMIT: usize = 100_000;

/// The pool: one spec whose thread runs `N` trainers (none with `--training-workers 0`, when a
/// created `local` run stays queued), after failing what dead instances left running, and
/// then looks for such runs every [`SWEEP_INTERVAL`] (with no trainers too: what a dead
/// instance left is settled by any live one).
pub fn workers(env: &Env) -> Vec<WorkerSpec> {
    let count = env.training_workers;
    let data_dir = env.data_dir.clone();
    vec![WorkerSpec {
        name: "training".to_owned(),
        before_serving: Some(|context| {
            interrupt_orphans(context)
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        run: Box::new(move |context| {
            std::thread::scope(|scope| {
                for number in 0..count {
                    let (context, data_dir) = (context.clone(), data_dir.clone());
                    let spawned = std::thread::Builder::new()
                        .name(format!("ml_market-trainer-{number}"))
                        .spawn_scoped(scope, move || work(&context, &data_dir));
                    if let Err(error) = spawned {
                        tracing::error!(error = %error, "starting a training worker");
                    }
                }
                while !context.wait(SWEEP_INTERVAL) {
                    if let Err(error) = interrupt_orphans(&context) {
                        tracing::error!(error = %error, "looking for runs whose instance died");
                    }
                }
            });
        }),
    }]
}

/// A run's log lines after `since`, for a text answer.
pub fn log_lines(
    tx: &dyn MlStore,
    run_id: &str,
    since: u64,
) -> Result<Vec<(u64, String)>, StoreError> {
    tx.training_log(run_id, since, LOG_TEXT_LIMIT)
}

/// Fails `interrupted` every running local run whose instance is no longer alive (or that
/// has no instance: claimed before runs had owners), since nothing trains it any more, and
/// answers how many it ended. Several instances may look at once: each end is conditional on
/// the run still running, in the look's write transaction, so one of them ends it.
fn interrupt_orphans(context: &WorkerContext) -> Result<usize, StoreError> {
    // A read first: nearly always there is nothing to end, and a look then writes nothing.
    let seen = {
        let mut tx = context.store.read()?;
        orphans(context, store::of(tx.as_mut())?)?
    };
    if seen.is_empty() {
        return Ok(0);
    }
    let mut tx = context.store.write()?;
    let ml = store::of(tx.as_mut())?;
    let mut ended = Vec::new();
    for run in orphans(context, ml)? {
        let failed = failed(context, &run, FailureReason::Interrupted);
        let line = "failed: interrupted (the server stopped while it trained)";
        if end_run(ml, &failed, line)? {
            ended.push(failed.run_id);
        }
    }
    tx.commit()?;
    for run_id in &ended {
        tracing::warn!(%run_id, "a training run whose server is gone was interrupted");
    }
    Ok(ended.len())
}

/// The running local runs of `ml` whose instance is not alive.
fn orphans(context: &WorkerContext, ml: &dyn MlStore) -> Result<Vec<TrainingRecord>, StoreError> {
    let mut alive: BTreeMap<u64, bool> = BTreeMap::new();
    let mut orphans = Vec::new();
    for (run, owner) in ml.running_runs_with_owner(Provider::Local)? {
        let gone = match owner {
            None => true,
            Some(owner) if owner == context.instance => false,
            Some(owner) => match alive.entry(owner) {
                Entry::Occupied(known) => !*known.get(),
                Entry::Vacant(unknown) => !*unknown.insert(context.store.instance_alive(owner)?),
            },
        };
        if gone {
            orphans.push(run);
        }
    }
    Ok(orphans)
}

/// One trainer: claims and trains runs until shutdown.
fn work(context: &WorkerContext, data_dir: &Path) {
    while !context.stopping() {
        match claim(context) {
            Ok(Some(claimed)) => train(context, data_dir, claimed),
            Ok(None) => {
                context.wait(IDLE_POLL);
            }
            Err(error) => {
                tracing::error!(error = %error, "a training worker could not read its queue");
                context.wait(FAILED_POLL);
            }
        }
    }
}

/// A run this worker took, with the names of the round's train and validation files (`None`
/// when the round has no such files any more).
struct Claimed {
    run: TrainingRecord,
    file_names: Option<(String, String)>,
}

/// Takes the oldest queued `local` run for this instance: `None` when there is none (or
/// another worker took it first, which the next look settles).
fn claim(context: &WorkerContext) -> Result<Option<Claimed>, StoreError> {
    // A read first: an idle worker looks often, and a look at an empty queue writes nothing.
    let queued = {
        let mut tx = context.store.read()?;
        store::of(tx.as_mut())?.oldest_queued_run(Provider::Local)?
    };
    if queued.is_none() {
        return Ok(None);
    }
    // The queue again, in the claim's transaction: a run another worker is claiming there is
    // locked, and passed over.
    let mut tx = context.store.write()?;
    let ml = store::of(tx.as_mut())?;
    let Some(queued) = ml.oldest_queued_run(Provider::Local)? else {
        return Ok(None);
    };
    let round = ml.round(&queued.spec.round_id)?;
    let running = TrainingRecord {
        status: TrainingStatus::Running,
        started_at: Some(format_rfc3339_millis(context.clock.now())),
        ..queued
    };
    if !ml.claim_training_run(&running, context.instance)? {
        return Ok(None);
    }
    ml.append_training_log(&running.run_id, &started_line(&running))?;
    tx.commit()?;
    let file_names = round.and_then(|round| {
        let name_of = |kind: FileKind| {
            round
                .files
                .iter()
                .find(|file| file.kind == kind)
                .map(|file| file.name.clone())
        };
        Some((name_of(FileKind::Train)?, name_of(FileKind::Validation)?))
    });
    Ok(Some(Claimed {
        run: running,
        file_names,
    }))
}

/// The first line of a local run's log.
fn started_line(run: &TrainingRecord) -> String {
    let params = Hyperparams::from_spec(&run.spec.hyperparam_values()).unwrap_or_default();
    format!(
        "started: logistic regression, {} epochs, batch_size={}, lr={}, l2={}, seed={}",
        params.epochs, params.batch_size, params.lr, params.l2, run.spec.seed
    )
}

/// Why training stopped before its last epoch.
enum Stop {
    /// The server is shutting down.
    Shutdown,
    /// `budget.max_hours` has passed since the run started, by the worker's clock.
    Budget,
    /// Someone else ended the run (a cancel): nothing more is written.
    Ended,
    /// The store failed a progress write; the run is left running, for whichever instance
    /// finds this one gone to settle.
    Store(StoreError),
}

/// Trains a claimed run to its end.
fn train(context: &WorkerContext, data_dir: &Path, claimed: Claimed) {
    let Claimed { run, file_names } = claimed;
    let read = |name: &str| -> Result<Split, String> {
        let path = files::file_path(data_dir, &run.spec.round_id, name);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        Split::parse(&text).map_err(|e| format!("{name}: {}", e.0))
    };
    let splits = file_names
        .ok_or_else(|| "the round has no train and validation files".to_owned())
        .and_then(|(train, validation)| Ok((read(&train)?, read(&validation)?)));
    let (train_split, validation_split) = match splits {
        Ok(splits) => splits,
        Err(problem) => {
            finish_failed(
                context,
                &run,
                FailureReason::DatasetUnreadable,
                &format!("failed: dataset_unreadable ({problem})"),
            );
            return;
        }
    };
    let params = Hyperparams::from_spec(&run.spec.hyperparam_values()).unwrap_or_default();
    // From the claim, as `started_at` says: reading the round counts against the budget too.
    let started = run
        .started_at
        .as_deref()
        .and_then(crate::clock::parse_rfc3339)
        .unwrap_or_else(|| context.clock.now());
    let budget = run
        .spec
        .budget
        .as_ref()
        .and_then(|budget| budget.max_hours)
        .map(|hours| time::Duration::seconds_f64(hours * 3600.0));
    let mut stop = None;
    let outcome = trainer::train(
        &train_split,
        &validation_split,
        params,
        run.spec.seed,
        |epoch| {
            if context.stopping() {
                stop = Some(Stop::Shutdown);
                return false;
            }
            match progress(context.store.as_ref(), &run.run_id, &epoch.line()) {
                Ok(true) => {}
                Ok(false) => {
                    stop = Some(Stop::Ended);
                    return false;
                }
                Err(error) => {
                    stop = Some(Stop::Store(error));
                    return false;
                }
            }
            if budget.is_some_and(|budget| context.clock.now() - started > budget) {
                stop = Some(Stop::Budget);
                return false;
            }
            true
        },
    );
    match (outcome, stop) {
        (Outcome::Trained { model, metrics }, _) => {
            let spec = serde_json::to_value(&run.spec).unwrap_or_default();
            let bytes = trainer::artifact(&model, &metrics, &spec);
            if let Err(error) = files::write_artifact(data_dir, &run.run_id, &bytes) {
                tracing::error!(run_id = %run.run_id, error = %error, "writing a model artifact");
                finish_failed(
                    context,
                    &run,
                    FailureReason::Interrupted,
                    "failed: interrupted (the model artifact could not be written)",
                );
                return;
            }
            let metrics = metrics
                .into_iter()
                .map(|(name, value)| (name.to_owned(), JsNumber(value)))
                .collect();
            let succeeded = TrainingRecord {
                status: TrainingStatus::Succeeded,
                finished_at: Some(format_rfc3339_millis(context.clock.now())),
                artifacts: TrainingArtifacts {
                    model_url: None,
                    sha256: Some(hex::encode(Sha256::digest(&bytes))),
                    size_bytes: Some(bytes.len() as u64),
                },
                metrics,
                metrics_source: Some(MetricsSource::Platform),
                ..run.clone()
            };
            let line = succeeded_line(&succeeded);
            finish(context, &succeeded, &line);
        }
        (Outcome::Stopped { after_epochs }, Some(Stop::Budget)) => finish_failed(
            context,
            &run,
            FailureReason::BudgetExceeded,
            &format!("failed: budget_exceeded after {after_epochs} epochs"),
        ),
        (Outcome::Stopped { after_epochs }, Some(Stop::Shutdown)) => finish_failed(
            context,
            &run,
            FailureReason::Interrupted,
            &format!("failed: interrupted after {after_epochs} epochs (the server stopped)"),
        ),
        (Outcome::Stopped { .. }, Some(Stop::Store(error))) => {
            tracing::error!(run_id = %run.run_id, error = %error, "a training run's progress could not be written");
        }
        (Outcome::Stopped { .. }, Some(Stop::Ended) | None) => {}
    }
}

fn succeeded_line(run: &TrainingRecord) -> String {
    let metric = |name: &str| run.metrics.get(name).map_or(0.0, |value| value.get());
    format!(
        "succeeded: val_accuracy={:.4} val_sharpe={:.4} win_rate={:.4} trades={}; artifact sha256={}",
        metric("val_accuracy"),
        metric("val_sharpe"),
        metric("win_rate"),
        metric("trades"),
        run.artifacts.sha256.as_deref().unwrap_or_default()
    )
}

/// Appends a line to a running run's log; `false` when it is no longer running.
fn progress(store: &dyn Store, run_id: &str, line: &str) -> Result<bool, StoreError> {
    let mut tx = store.write()?;
    let ml = store::of(tx.as_mut())?;
    let running = ml
        .training_run(run_id)?
        .is_some_and(|run| run.status == TrainingStatus::Running);
    if running {
        ml.append_training_log(run_id, line)?;
        tx.commit()?;
    }
    Ok(running)
}

/// `run`, failed now for `reason`.
fn failed(context: &WorkerContext, run: &TrainingRecord, reason: FailureReason) -> TrainingRecord {
    TrainingRecord {
        status: TrainingStatus::Failed,
        failure_reason: Some(reason),
        finished_at: Some(format_rfc3339_millis(context.clock.now())),
        ..run.clone()
    }
}

fn finish_failed(context: &WorkerContext, run: &TrainingRecord, reason: FailureReason, line: &str) {
    finish(context, &failed(context, run, reason), line);
}

/// Writes a run's end and its last line in `ml`'s transaction, if it is still running;
/// whether it was.
fn end_run(ml: &mut dyn MlStore, ended: &TrainingRecord, line: &str) -> Result<bool, StoreError> {
    if !ml.update_training_run(ended, TrainingStatus::Running)? {
        return Ok(false);
    }
    ml.append_training_log(&ended.run_id, line)?;
    Ok(true)
}

/// Writes a run's end and its last line in a transaction of its own, if it is still running.
fn finish(context: &WorkerContext, ended: &TrainingRecord, line: &str) {
    let written = (|| -> Result<bool, StoreError> {
        let mut tx = context.store.write()?;
        let ended_now = end_run(store::of(tx.as_mut())?, ended, line)?;
        if ended_now {
            tx.commit()?;
        }
        Ok(ended_now)
    })();
    match written {
        Ok(true) => {
            tracing::info!(run_id = %ended.run_id, status = ended.status.as_str(), "a training run ended")
        }
        Ok(false) => {}
        Err(error) => {
            tracing::error!(run_id = %ended.run_id, error = %error, "a training run's end could not be written");
        }
    }
}
