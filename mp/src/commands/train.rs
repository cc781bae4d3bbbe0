//! `mp train start|status|logs|stop|list|report`: training runs.
//!
//! `logs --follow` reads the run's event stream (`?follow=true`) line by line as the worker
//! writes them, resumes with `Last-Event-ID` when the connection drops, and ends with the
//! stream's `end` event: exit 0 when the run succeeded, 1 otherwise.

use std::io::{BufRead, BufReader};
use std::path::Path;

use marketref::headers::LAST_EVENT_ID;
use marketref::manifest::{EventStream, Manifest};
use marketref::sse::{Event, EventReader};
use serde_json::{Map, Value, json};

use crate::Context;
use crate::cli::StartArgs;
use crate::client::{self, Client};
use crate::commands::account::text;
use crate::commands::all_pages;
use crate::error::{Error, Result};

/// The operation a run's log is read with.
const LOGS_OPERATION: &str = "mlTraining.logs";
/// Times a followed stream is opened again after it broke off before its end.
const FOLLOW_RECONNECTS: u32 = 5;

fn run_path(run_id: &str) -> String {
    format!("/api/training/runs/{}", client::encode(run_id))
}

/// `name=value` as JSON: an integer, a number, `true`/`false`, else the text.
fn hyperparam(pair: &str) -> Result<(String, Value)> {
    let (name, value) = pair.split_once('=').ok_or_else(|| {
        Error::local(format!("`--hp {pair}` is not NAME=VALUE")).with_hint("like `--hp epochs=20`")
    })?;
    let value = if let Ok(integer) = value.parse::<i64>() {
        json!(integer)
    } else if let Ok(number) = value.parse::<f64>() {
        json!(number)
    } else if let Ok(flag) = value.parse::<bool>() {
        json!(flag)
    } else {
        json!(value)
    };
    Ok((name.to_owned(), value))
}

pub fn start(context: &Context, args: &StartArgs) -> Result<()> {
    let mut hyperparams = Map::new();
    for pair in &args.hyperparams {
        let (name, value) = hyperparam(pair)?;
        hyperparams.insert(name, value);
    }
    let mut spec = json!({"round_id": args.round, "task": args.task, "provider": args.provider,
                          "hyperparams": hyperparams});
    if let Some(seed) = args.seed {
        spec["seed"] = json!(seed);
    }
    if let Some(hours) = args.max_hours {
        spec["budget"] = json!({ "max_hours": hours });
    }
    let run = context.vendor()?.post("/api/training/runs", &spec)?;
    context.out.emit(
        &run,
        &format!(
            "started {} ({}, {}): {}\nfollow it: mp train logs {} --follow",
            text(&run, "run_id"),
            text(&run, "provider"),
            text(&run["spec"], "round_id"),
            text(&run, "status"),
            text(&run, "run_id")
        ),
    );
    Ok(())
}

/// A run in a few lines.
fn describe(run: &Value) -> String {
    let mut lines = vec![format!(
        "{} {} ({}, round {}){}",
        text(run, "run_id"),
        text(run, "status"),
        text(run, "provider"),
        text(&run["spec"], "round_id"),
        run["failure_reason"]
            .as_str()
            .map(|reason| format!(": {reason}"))
            .unwrap_or_default()
    )];
    if let Some(metrics) = run["metrics"].as_object().filter(|m| !m.is_empty()) {
        let shown: Vec<String> = metrics.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lines.push(format!("  metrics: {}", shown.join(" ")));
    }
    if let Some(sha) = run["artifacts"]["sha256"].as_str() {
        lines.push(format!("  artifact sha256 {sha}"));
    }
    lines.join("\n")
}

pub fn status(context: &Context, run_id: &str) -> Result<()> {
    let run = context.vendor()?.get(&run_path(run_id))?;
    context.out.emit(&run, &describe(&run));
    Ok(())
}

pub fn stop(context: &Context, run_id: &str) -> Result<()> {
    let client = context.vendor()?;
    let request = client.request(
        reqwest::Method::POST,
        &format!("{}/cancel", run_path(run_id)),
    );
    let run = client::data(client.send(request)?)?;
    context.out.emit(&run, &describe(&run));
    Ok(())
}

pub fn list(context: &Context, status: Option<String>) -> Result<()> {
    let runs = all_pages(
        &context.vendor()?,
        "/api/training/runs",
        &[("status", status)],
    )?;
    let human = if runs.is_empty() {
        "no runs".to_owned()
    } else {
        runs.iter().map(describe).collect::<Vec<_>>().join("\n")
    };
    context.out.emit(&json!({ "items": runs }), &human);
    Ok(())
}

pub fn report(
    context: &Context,
    run_id: &str,
    metrics: &Path,
    hf_repo_id: Option<String>,
) -> Result<()> {
    let text = std::fs::read_to_string(metrics)
        .map_err(|e| Error::local(format!("reading {}: {e}", metrics.display())))?;
    let metrics: Value = serde_json::from_str(&text).map_err(|e| {
        Error::local(format!("{} is not JSON: {e}", metrics.display()))
            .with_hint("write an object of metric name to number, like {\"val_sharpe\": 1.2}")
    })?;
    let mut body = json!({ "metrics": metrics });
    if let Some(repo) = hf_repo_id {
        body["hf_repo_id"] = json!(repo);
    }
    let run = context
        .vendor()?
        .post(&format!("{}/results", run_path(run_id)), &body)?;
    context.out.emit(&run, &describe(&run));
    Ok(())
}

pub fn logs(context: &Context, run_id: &str, follow: bool, since: u64) -> Result<()> {
    let client = context.vendor()?;
    if follow {
        return followed(context, &client, run_id, since);
    }
    let path = client::with_query(
        &format!("{}/logs", run_path(run_id)),
        &[("since", Some(since.to_string()))],
    );
    let response = client.send(client.request(reqwest::Method::GET, &path))?;
    if !response.status().is_success() {
        return Err(client::refused(response));
    }
    let log = response
        .text()
        .map_err(|e| Error::local(format!("reading the log: {e}")))?;
    let lines: Vec<&str> = log.lines().collect();
    context.out.emit(
        &json!({"run_id": run_id, "since": since, "lines": lines}),
        &log,
    );
    Ok(())
}

/// How the manifest says a run's log is followed: the query that asks for the stream, and
/// the event that ends it.
fn log_stream() -> Result<&'static EventStream> {
    Manifest::embedded()
        .operation(LOGS_OPERATION)
        .and_then(|operation| operation.event_stream.as_ref())
        .ok_or_else(|| {
            Error::local(format!(
                "this build's manifest has no event stream for {LOGS_OPERATION}"
            ))
        })
}

/// Follows the run's log until its end event.
fn followed(context: &Context, client: &Client, run_id: &str, since: u64) -> Result<()> {
    let stream = log_stream()?;
    let path = client::with_query(
        &format!("{}/logs", run_path(run_id)),
        &[(stream.query.as_str(), Some(stream.value.clone()))],
    );
    let spinner = context.out.spinner(&format!("following {run_id}"));
    let mut last_id = since;
    let mut lines = Vec::new();
    let mut reconnects = 0;
    let status = loop {
        let mut request = client.request(reqwest::Method::GET, &path);
        if last_id > 0 {
            request = request.header(LAST_EVENT_ID, last_id.to_string());
        }
        let response = client.send(request)?;
        if !response.status().is_success() {
            return Err(client::refused(response));
        }
        let mut end = None;
        let read = read_events(BufReader::new(response), |event| {
            if let Ok(id) = event.id.parse() {
                last_id = id;
            }
            if event.event == stream.end_event {
                let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
                end = Some(data["status"].as_str().unwrap_or("unknown").to_owned());
                return false;
            }
            if let Some(epoch) = event.data.strip_prefix("epoch ") {
                let epoch = epoch.split(" loss").next().unwrap_or_default();
                spinner.set_message(format!("epoch {epoch}"));
            }
            spinner.suspend(|| context.out.line(&event.data));
            lines.push(json!({"seq": last_id, "text": event.data}));
            true
        });
        if let Some(status) = end {
            break status;
        }
        reconnects += 1;
        if reconnects > FOLLOW_RECONNECTS {
            let why = read.err().map_or_else(
                || "the stream ended without its end event".to_owned(),
                |e| e.to_string(),
            );
            return Err(Error::local(format!("following {run_id}: {why}")));
        }
    };
    spinner.finish_and_clear();
    context.out.emit(
        &json!({"run_id": run_id, "status": status, "lines": lines}),
        &format!("{run_id} {status}"),
    );
    if status == "succeeded" {
        Ok(())
    } else {
        Err(Error::failed(format!("{run_id} ended {status}")).printed())
    }
}

/// Reads a `text/event-stream` line by line as it comes ([`EventReader`]: the WHATWG rules),
/// calling `each` with every dispatched event until it answers `false` or the stream ends.
fn read_events(reader: impl BufRead, mut each: impl FnMut(Event) -> bool) -> std::io::Result<()> {
    let mut events = EventReader::default();
    for line in reader.lines() {
        let line = line?;
        if let Some(event) = events.line(line.strip_suffix('\r').unwrap_or(&line))
            && !each(event)
        {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperparameters_are_typed_by_their_text() {
        assert_eq!(
            hyperparam("epochs=20").unwrap(),
            ("epochs".to_owned(), json!(20))
        );
        assert_eq!(hyperparam("lr=0.1").unwrap(), ("lr".to_owned(), json!(0.1)));
        assert_eq!(hyperparam("x=true").unwrap(), ("x".to_owned(), json!(true)));
        assert_eq!(
            hyperparam("opt=adam").unwrap(),
            ("opt".to_owned(), json!("adam"))
        );
        assert!(hyperparam("epochs").is_err());
    }

    #[test]
    fn events_are_read_until_the_callback_stops() {
        let stream = ": keep-alive\n\nid: 1\nevent: log\ndata: a\n\nid: 2\r\nevent: log\r\ndata: b\r\ndata: c\r\n\r\nevent: end\ndata: {}\n\nid: 9\ndata: after\n\n";
        let mut seen = Vec::new();
        read_events(stream.as_bytes(), |event| {
            seen.push((event.id.clone(), event.event.clone(), event.data.clone()));
            event.event != "end"
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("1".to_owned(), "log".to_owned(), "a".to_owned()),
                ("2".to_owned(), "log".to_owned(), "b\nc".to_owned()),
                ("2".to_owned(), "end".to_owned(), "{}".to_owned()),
            ],
            "CRLF lines too; an event without an id carries the stream's last; nothing after the end"
        );
    }

    #[test]
    fn the_log_is_followed_as_the_manifest_says() {
        let stream = log_stream().unwrap();
        assert_eq!(
            (stream.query.as_str(), stream.value.as_str()),
            ("follow", "true")
        );
        assert_eq!(stream.end_event, "end");
    }
}
