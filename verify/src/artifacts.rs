//! The files a run leaves: `<out>/milestones/<id>/<stamp>/` and `<out>/milestones/<id>/latest/`.
//!
//! Both folders get the same deterministic files; the stamp folder also gets `run.json`, the
//! only file with a time, a port, durations and the temporary store path in it. `latest/` is
//! replaced whole (written beside it, then renamed), so it never mixes two runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::coverage::Coverage;
use crate::error::Error;
use crate::exchange::Exchange;
use crate::run::MilestoneRun;

/// Pretty JSON, keys sorted, with a final newline.
pub fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

pub(crate) fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A stamp for this invocation's folders: UTC time to the millisecond.
pub fn stamp_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

/// The deterministic files of one milestone run, by file name.
pub fn files(run: &MilestoneRun) -> BTreeMap<&'static str, String> {
    let mut files = BTreeMap::new();
    files.insert("report.json", pretty(&crate::report::json(run)));
    files.insert("report.md", crate::report::markdown(run));
    files.insert("transcript.jsonl", transcript(run));
    files.insert(
        "contract_validation.json",
        pretty(&contract_validation(run)),
    );
    files.insert("auth_validation.json", pretty(&auth_validation(run)));
    if let Some(store) = &run.store {
        files.insert("store.json", pretty(store));
    }
    let outcome = crate::outcome::outcome_file(&run.outcome);
    files.insert(
        "outcome.sha256",
        format!("{}  outcome.json\n", marketref::json::sha256_hex(&outcome)),
    );
    files.insert("outcome.json", outcome);
    files.insert("junit.xml", crate::junit::junit(std::slice::from_ref(run)));
    files
}

/// Writes the stamp folder and replaces `latest/`. Returns the `latest/` folder.
pub fn write(out_root: &Path, stamp: &str, run: &MilestoneRun) -> Result<PathBuf, Error> {
    let milestone_dir = out_root.join("milestones").join(&run.id);
    create_dir(&milestone_dir)?;
    let files = files(run);

    let mut stamp_dir = milestone_dir.join(stamp);
    let mut suffix = 2;
    while stamp_dir.exists() {
        stamp_dir = milestone_dir.join(format!("{stamp}-{suffix}"));
        suffix += 1;
    }
    create_dir(&stamp_dir)?;
    for (name, contents) in &files {
        write_file(&stamp_dir.join(name), contents)?;
    }
    write_file(&stamp_dir.join("run.json"), &pretty(&run_facts(run, stamp)))?;

    let staging = milestone_dir.join(format!(".latest-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    create_dir(&staging)?;
    for (name, contents) in &files {
        write_file(&staging.join(name), contents)?;
    }
    let latest = milestone_dir.join("latest");
    if latest.exists() {
        std::fs::remove_dir_all(&latest).map_err(|e| Error::io(&latest, e))?;
    }
    std::fs::rename(&staging, &latest).map_err(|e| Error::io(&latest, e))?;
    Ok(latest)
}

pub fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    std::fs::write(path, contents).map_err(|e| Error::io(path, e))
}

fn create_dir(path: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))
}

/// What only the stamp folder records.
fn run_facts(run: &MilestoneRun, stamp: &str) -> Value {
    let timings: Vec<Value> = run
        .exchanges()
        .map(|e| json!({"phase": e.phase.as_str(), "step": e.label(), "ms": e.elapsed.as_secs_f64() * 1000.0}))
        .collect();
    json!({
        "stamp": stamp,
        "base_url": run.base_url,
        "in_process": run.in_process,
        "store_path": run.store_path,
        "elapsed_ms": run.elapsed.as_secs_f64() * 1000.0,
        "exchanges": timings,
    })
}

fn transcript(run: &MilestoneRun) -> String {
    let mut out = String::new();
    for (seq, exchange) in run.exchanges().enumerate() {
        let line = json!({
            "seq": seq + 1,
            "phase": exchange.phase.as_str(),
            "scenario": exchange.scenario,
            "step": exchange.step,
            "request": exchange.request,
            "response": exchange.response,
            "error": exchange.error,
            "passed": exchange.passed,
            "broken_rules": exchange.broken_rules().map(|c| c.rule).collect::<Vec<_>>(),
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

fn contract_validation(run: &MilestoneRun) -> Value {
    let operations: Vec<Value> = run
        .routing
        .iter()
        .map(|probe| {
            json!({
                "operation_id": probe.step,
                "in_manifest": true,
                "routed": probe.passed,
                "probe": probe,
            })
        })
        .collect();
    json!({
        "passed": run.contracts.passed && run.routing.iter().all(|p| p.passed),
        "contracts": run.contracts,
        "operations": operations,
    })
}

fn auth_validation(run: &MilestoneRun) -> Value {
    let mut by_operation: Vec<(String, Vec<&Exchange>)> = Vec::new();
    for probe in &run.auth {
        let operation_id = probe
            .step
            .split_once('/')
            .map_or(probe.step.as_str(), |(op, _)| op);
        match by_operation.last_mut() {
            Some((last, probes)) if last == operation_id => probes.push(probe),
            _ => by_operation.push((operation_id.to_owned(), vec![probe])),
        }
    }
    let manifest = marketref::manifest::Manifest::embedded();
    let operations: Vec<Value> = by_operation
        .into_iter()
        .map(|(operation_id, probes)| {
            json!({
                "operation_id": operation_id,
                "rule": manifest.operation(&operation_id).map(|op| to_value(&op.auth)),
                "passed": probes.iter().all(|p| p.passed),
                "probes": probes,
            })
        })
        .collect();
    json!({
        "passed": run.auth.iter().all(|p| p.passed),
        "operations": operations,
    })
}

/// `coverage.json`, written at the artifacts root by `--coverage`.
pub fn coverage_file(coverage: &Coverage) -> String {
    pretty(&to_value(coverage))
}
