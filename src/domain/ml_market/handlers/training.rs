//! Training runs (spec section 4): a vendor starts one, reads it and its log, cancels it; a
//! `byoc` run reports its results; a `local` run's model artifact is served through a signed
//! URL. The training itself is the worker pool's ([`super::super::training`]): these handlers
//! only move a run in the request's transaction, and never wait for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::api::{EventsReply, FileReply, OpContext, Page, Polled, Reply, StreamEvent, respond};
use crate::error::ApiError;
use crate::json::JsNumber;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::files;
use super::super::store::{self, Listed, MlStore, TrainingRecord};
use super::super::trainer::Hyperparams;
use super::super::training::{LOG_EVENT, log_lines};
use super::super::types::{
    DatasetRound, DatasetUrl, MetricsSource, Provider, Task, TrainingArtifacts, TrainingResults,
    TrainingRun, TrainingSpec, TrainingStatus,
};
use super::datasets::file_path;
use super::{check_signed_link, cursor_seq, next_id, now_text, page_of, signed_link};

/// The tasks the `local` trainer trains.
const LOCAL_TASKS: [Task; 1] = [Task::Signal];
/// Log lines one poll of an event stream sends at most.
const STREAM_BATCH: usize = 500;

/// The refusal of a spec the server cannot run: which field, which rule.
fn invalid(field: &str, rule: &str) -> ApiError {
    ApiError::new(Reason::TrainingSpecInvalid)
        .with("field", field)
        .with("rule", rule)
}

/// Where a run's log is read.
fn logs_path(run_id: &str) -> String {
    format!("/api/training/runs/{run_id}/logs")
}

/// The path a run's artifact URL points at, which its signature covers.
fn artifact_path(run_id: &str) -> String {
    format!("/api/training/runs/{run_id}/artifact")
}

/// A run as the API shows it: with its log's URL, and a fresh signed URL for the artifact of a
/// succeeded `local` run.
pub(super) fn view(ctx: &OpContext<'_>, record: TrainingRecord) -> TrainingRun {
    let mut artifacts = record.artifacts;
    if record.provider == Provider::Local && artifacts.sha256.is_some() {
        artifacts.model_url = Some(signed_link(ctx, &artifact_path(&record.run_id)).0);
    }
    TrainingRun {
        logs_url: logs_path(&record.run_id),
        run_id: record.run_id,
        vendor_id: record.vendor_id,
        provider: record.provider,
        status: record.status,
        spec: record.spec,
        created_at: record.created_at,
        started_at: record.started_at,
        finished_at: record.finished_at,
        failure_reason: record.failure_reason,
        artifacts,
        metrics: record.metrics,
        metrics_source: record.metrics_source,
    }
}

/// The run `run_id` of the calling vendor; another vendor's is not found, like one that is not.
pub(super) fn own_run(
    tx: &dyn MlStore,
    vendor_id: &str,
    run_id: &str,
) -> Result<TrainingRecord, ApiError> {
    tx.training_run(run_id)?
        .filter(|run| run.vendor_id == vendor_id)
        .ok_or_else(|| ApiError::new(Reason::TrainingRunNotFound).with("run_id", run_id))
}

/// The round's file a dataset URL names (`/api/datasets/files/{round}/{name}`, with or without
/// a scheme and host, with or without its signature).
fn names_round_file(url: &str, round: &DatasetRound) -> bool {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    let path = match without_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |at| &rest[at..]),
        None => without_query,
    };
    round
        .files
        .iter()
        .any(|file| path == file_path(&round.round_id, &file.name))
}

/// `POST /api/training/runs`: a `local` run is queued for the workers, a `byoc` run is running
/// on the vendor's machine from now on. Everything a worker would trip over later is refused
/// now, with its field.
pub(super) fn create(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let mut spec: TrainingSpec = ctx.body()?;
    if spec.provider == Provider::Runpod {
        return Err(ApiError::new(Reason::ProviderNotConfigured)
            .with("field", "/provider")
            .with("provider", spec.provider.as_str()));
    }
    let round = match spec.round_id.as_str() {
        "current" => tx.current_round()?,
        round_id => tx.round(round_id)?,
    }
    .ok_or_else(|| invalid("/round_id", "known_round").with("round_id", &spec.round_id))?;
    if let Some(at) = spec
        .dataset_urls
        .iter()
        .position(|url| !names_round_file(&url.0, &round))
    {
        return Err(invalid(&format!("/dataset_urls/{at}"), "file_of_the_round"));
    }
    if spec.dataset_urls.is_empty() {
        spec.dataset_urls = round
            .files
            .iter()
            .map(|file| DatasetUrl(file_path(&round.round_id, &file.name)))
            .collect();
    }
    spec.round_id = round.round_id;
    if spec.provider == Provider::Local {
        if !LOCAL_TASKS.contains(&spec.task) {
            return Err(invalid("/task", "supported_by_local")
                .with("supported", LOCAL_TASKS.map(Task::as_str)));
        }
        Hyperparams::from_spec(&spec.hyperparam_values())
            .map_err(|refused| invalid(&refused.field, refused.rule))?;
    }
    let (seq, run_id) = next_id(tx, "ml_training_run", "run")?;
    let now = now_text(ctx.now());
    let byoc = spec.provider == Provider::Byoc;
    let record = TrainingRecord {
        run_id,
        vendor_id: vendor_id.to_owned(),
        provider: spec.provider,
        status: if byoc {
            TrainingStatus::Running
        } else {
            TrainingStatus::Queued
        },
        spec,
        created_at: now.clone(),
        started_at: byoc.then_some(now),
        finished_at: None,
        failure_reason: None,
        artifacts: TrainingArtifacts::default(),
        metrics: BTreeMap::new(),
        metrics_source: None,
    };
    tx.insert_training_run(&record, seq)?;
    tx.append_training_log(
        &record.run_id,
        if byoc {
            "byoc: trained on the vendor's machine; waiting for its results"
        } else {
            "queued for a local training worker"
        },
    )?;
    respond(&view(ctx, record))
}

/// `GET /api/training/runs`: the caller's runs in creation order, of one status or all.
pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let page = Page::from_query(ctx);
    let after = cursor_seq(ctx, tx, Listed::TrainingRuns)?;
    let status = ctx.query_str("status").and_then(TrainingStatus::parse);
    let runs = tx.training_runs_page(vendor_id, status, after, page.fetch())?;
    let runs = runs.into_iter().map(|run| view(ctx, run)).collect();
    respond(&page_of(&page, runs, |run: &TrainingRun| {
        run.run_id.clone()
    }))
}

pub(super) fn get(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let run = own_run(tx, vendor_id, ctx.path_param("run_id"))?;
    respond(&view(ctx, run))
}

/// `GET .../logs`: the lines after `since` as text, or (`follow=true`, as the manifest's
/// `event_stream` says) as an event stream
/// that ends when the run has finished and every line was sent.
pub(super) fn logs(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let run = own_run(tx, vendor_id, ctx.path_param("run_id"))?;
    let since = ctx
        .query_int("since")
        .and_then(|since| u64::try_from(since).ok())
        .unwrap_or(0);
    if ctx.asks_for_stream() {
        let run_id = run.run_id;
        return Ok(Reply::Events(EventsReply {
            after: since,
            poll: Arc::new(move |tx, after| poll_log(tx, &run_id, after)),
        }));
    }
    let text: String = log_lines(tx, &run.run_id, since)?
        .into_iter()
        .map(|(_, line)| line + "\n")
        .collect();
    Ok(Reply::Body(Value::String(text)))
}

/// The lines after `after`; the end, with the run's status, once it has finished and they
/// were all read (one snapshot, so a line written with the final status is never missed).
fn poll_log(tx: &mut dyn Tx, run_id: &str, after: u64) -> Result<Polled, ApiError> {
    let tx = store::of(tx)?;
    let lines = tx.training_log(run_id, after, STREAM_BATCH)?;
    let status = tx
        .training_run(run_id)?
        .map_or(TrainingStatus::Cancelled, |run| run.status);
    let end = (lines.len() < STREAM_BATCH && status.is_finished())
        .then(|| json!({"status": status}).to_string());
    Ok(Polled {
        events: lines
            .into_iter()
            .map(|(id, data)| StreamEvent {
                id,
                name: LOG_EVENT,
                data,
            })
            .collect(),
        end,
    })
}

/// `POST .../cancel`: a queued or running run is `cancelled` at once; a worker training it
/// notices at its next epoch and writes nothing more.
pub(super) fn cancel(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let run = own_run(tx, vendor_id, ctx.path_param("run_id"))?;
    if run.status.is_finished() {
        return Err(ApiError::new(Reason::TrainingRunNotCancellable)
            .with("run_id", &run.run_id)
            .with("status", run.status.as_str()));
    }
    let was = run.status;
    let cancelled = TrainingRecord {
        status: TrainingStatus::Cancelled,
        finished_at: Some(now_text(ctx.now())),
        ..run
    };
    if !tx.update_training_run(&cancelled, was)? {
        // Another transaction moved it since it was read: the worker's claim or its end.
        return Err(ApiError::new(Reason::TrainingRunNotCancellable)
            .with("run_id", &cancelled.run_id)
            .with("status", "changed"));
    }
    tx.append_training_log(&cancelled.run_id, "cancelled at the vendor's request")?;
    respond(&view(ctx, cancelled))
}

/// `POST .../results`: a running `byoc` run reports its metrics (and where its model is); it
/// has succeeded, and what it reported is marked `self_reported`.
pub(super) fn results(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let run = own_run(tx, vendor_id, ctx.path_param("run_id"))?;
    let results: TrainingResults = ctx.body()?;
    if run.provider != Provider::Byoc {
        return Err(ApiError::new(Reason::TrainingRunNotByoc)
            .with("run_id", &run.run_id)
            .with("provider", run.provider.as_str()));
    }
    let not_running = |run: &TrainingRecord| {
        ApiError::new(Reason::TrainingRunNotRunning)
            .with("run_id", &run.run_id)
            .with("status", run.status.as_str())
    };
    if run.status != TrainingStatus::Running {
        return Err(not_running(&run));
    }
    let count = results.metrics.len();
    let mut spec = run.spec.clone();
    if results.hf_repo_id.is_some() {
        spec.hf_repo_id = results.hf_repo_id;
    }
    let reported = TrainingRecord {
        status: TrainingStatus::Succeeded,
        finished_at: Some(now_text(ctx.now())),
        spec,
        artifacts: TrainingArtifacts {
            model_url: results.model_url,
            sha256: None,
            size_bytes: None,
        },
        metrics: results.metrics,
        metrics_source: Some(MetricsSource::SelfReported),
        ..run.clone()
    };
    if !tx.update_training_run(&reported, TrainingStatus::Running)? {
        return Err(not_running(&run));
    }
    tx.append_training_log(
        &reported.run_id,
        &format!("succeeded: the vendor reported {count} metrics"),
    )?;
    respond(&view(ctx, reported))
}

/// `GET .../artifact`: a succeeded `local` run's model artifact, for a URL this server signed
/// that has not expired.
pub(super) fn artifact(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let run_id = ctx.path_param("run_id");
    check_signed_link(ctx, &artifact_path(run_id))?;
    let run = tx
        .training_run(run_id)?
        .filter(|run| run.artifacts.sha256.is_some() && run.provider == Provider::Local)
        .ok_or_else(|| ApiError::new(Reason::TrainingRunNotFound).with("run_id", run_id))?;
    Ok(Reply::File(FileReply {
        path: files::artifact_path(&ctx.env.data_dir, &run.run_id),
        media_type: "application/json".to_owned(),
    }))
}

/// A version's metrics from the run it is registered from: the caller's, succeeded, for the
/// model's task.
pub(super) fn metrics_of_run(
    tx: &dyn MlStore,
    vendor_id: &str,
    run_id: &str,
    task: Task,
) -> Result<(BTreeMap<String, JsNumber>, Option<MetricsSource>), ApiError> {
    let run = own_run(tx, vendor_id, run_id)?;
    if run.status != TrainingStatus::Succeeded {
        return Err(ApiError::new(Reason::TrainingRunNotSucceeded)
            .with("training_run_id", run_id)
            .with("status", run.status.as_str()));
    }
    if run.spec.task != task {
        return Err(ApiError::new(Reason::TrainingRunTaskMismatch)
            .with("training_run_id", run_id)
            .with("run_task", run.spec.task.as_str())
            .with("model_task", task.as_str()));
    }
    Ok((run.metrics, run.metrics_source))
}
