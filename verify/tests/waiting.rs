//! `wait_for` and event streams against a server whose answers change while the verifier waits:
//! the step is sent again until the value is there (and only the last exchange is kept), a wait
//! that times out or meets an error fails its step with a line that says so, and a stream with
//! keep-alive comments between its events is read as its events alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use crate::support::{self, RepoCopy, Served, path_str};

/// How many requests each path got.
#[derive(Clone, Default)]
struct Seen {
    job: Arc<AtomicUsize>,
    never: Arc<AtomicUsize>,
    gone: Arc<AtomicUsize>,
}

/// The answer with the correlation id echoed, as the contract asks of every answer.
fn echoed(
    headers: &HeaderMap,
    status: StatusCode,
    content_type: &str,
    body: String,
) -> axum::response::Response {
    let mut reply = (status, body).into_response();
    let reply_headers = reply.headers_mut();
    reply_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap(),
    );
    if let Some(id) = headers.get("x-correlation-id") {
        reply_headers.insert("x-correlation-id", id.clone());
    }
    reply
}

/// `/job` is `running` for three reads and `done` from the fourth; `/never` is always
/// `running`; `/gone` is a 404; `/stream` writes two events with keep-alives between them.
fn server(seen: &Seen) -> Served {
    let seen = seen.clone();
    let (job, never, gone) = (seen.job.clone(), seen.never.clone(), seen.gone.clone());
    let router = axum::Router::new()
        .route(
            "/job",
            get(move |headers: HeaderMap| async move {
                let reads = job.fetch_add(1, Ordering::SeqCst) + 1;
                let status = if reads > 3 { "done" } else { "running" };
                echoed(
                    &headers,
                    StatusCode::OK,
                    "application/json",
                    json!({"status": status}).to_string(),
                )
            }),
        )
        .route(
            "/never",
            get(move |headers: HeaderMap| async move {
                never.fetch_add(1, Ordering::SeqCst);
                echoed(
                    &headers,
                    StatusCode::OK,
                    "application/json",
                    json!({"status": "running"}).to_string(),
                )
            }),
        )
        .route(
            "/gone",
            get(move |headers: HeaderMap| async move {
                gone.fetch_add(1, Ordering::SeqCst);
                echoed(
                    &headers,
                    StatusCode::NOT_FOUND,
                    "application/json",
                    json!({"status": "gone"}).to_string(),
                )
            }),
        )
        .route(
            "/stream",
            get(|headers: HeaderMap| async move {
                let chunks = [
                    ": keep-alive\n\n",
                    "id: 1\nevent: log\ndata: first\n\n",
                    ": keep-alive\n\n",
                    "id: 2\nevent: log\ndata: second\ndata: line\n\n",
                    "event: end\ndata: {\"status\":\"succeeded\"}\n\n",
                ];
                let stream = futures_stream(chunks);
                let mut reply = axum::body::Body::from_stream(stream).into_response();
                reply.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                );
                if let Some(id) = headers.get("x-correlation-id") {
                    reply.headers_mut().insert("x-correlation-id", id.clone());
                }
                reply
            }),
        );
    Served::router(router)
}

/// The chunks, each written a few milliseconds after the one before.
fn futures_stream(
    chunks: [&'static str; 5],
) -> impl futures_util::Stream<Item = Result<&'static str, std::io::Error>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        for chunk in chunks {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if sender.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}

fn milestone(extra: &str, steps: &str) -> String {
    format!(
        "milestone: WAIT\ntitle: Waiting\nclock: \"2026-02-28T20:00:00Z\"\noperations: []\n{extra}\nscenarios:\n  - name: poll\n    steps:\n{steps}"
    )
}

/// The first check named `name` anywhere in `value`.
fn find_check<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    match value {
        Value::Object(members) if members.get("name").is_some_and(|n| n == name) => Some(value),
        Value::Object(members) => members.values().find_map(|v| find_check(v, name)),
        Value::Array(items) => items.iter().find_map(|v| find_check(v, name)),
        _ => None,
    }
}

fn run(seen: &Seen, text: &str) -> (support::Output, Vec<Value>, RepoCopy) {
    let served = server(seen);
    let repo = RepoCopy::new();
    repo.write("milestones/WAIT.yaml", text);
    let run = support::verify(&[
        path_str(&repo.path("milestones/WAIT.yaml")),
        "--base-url",
        &served.url,
        "--out",
        path_str(&repo.path("out")),
    ]);
    let transcript =
        std::fs::read_to_string(repo.path("out/milestones/WAIT/latest/transcript.jsonl")).unwrap();
    let exchanges = transcript
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (run, exchanges, repo)
}

#[test]
fn a_waiting_step_is_sent_until_the_value_is_there_and_only_its_last_answer_is_kept() {
    let seen = Seen::default();
    let (run, exchanges, dir) = run(
        &seen,
        &milestone(
            "",
            "      - name: until-done\n        method: GET\n        path: /job\n        wait_for: {at: /status, equals: done, timeout_ms: 5000}\n        expect:\n          status: 200\n          json:\n            - {at: /status, equals: done}\n",
        ),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        seen.job.load(Ordering::SeqCst),
        4,
        "three answers were `running`"
    );
    let kept: Vec<&Value> = exchanges
        .iter()
        .filter(|e| e["step"] == "until-done")
        .collect();
    assert_eq!(kept.len(), 1, "{exchanges:?}");
    assert_eq!(kept[0]["response"]["body"], json!({"status": "done"}));
    let report =
        std::fs::read_to_string(dir.path("out/milestones/WAIT/latest/report.json")).unwrap();
    let report: Value = serde_json::from_str(&report).unwrap();
    let wait_check = find_check(&report, "wait_for /status equals")
        .unwrap_or_else(|| panic!("no wait check in the report: {report}"));
    assert_eq!(wait_check["actual"], "done");
    assert_eq!(wait_check["passed"], true);
}

#[test]
fn a_wait_that_times_out_fails_its_step_and_says_after_how_long() {
    let seen = Seen::default();
    let (run, exchanges, _) = run(
        &seen,
        &milestone(
            "",
            "      - name: forever\n        method: GET\n        path: /never\n        wait_for: {at: /status, equals: done, timeout_ms: 100}\n        expect: {status: 200}\n",
        ),
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.assert_printed("FAIL  step  poll/forever");
    let line = run
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with("wait_for /status equals"))
        .unwrap_or_else(|| panic!("no row for the wait:\n{}", run.stdout));
    assert!(line.contains("100 ms"), "{line}");
    assert!(
        seen.never.load(Ordering::SeqCst) >= 2,
        "it was read more than once"
    );
    assert_eq!(
        exchanges.iter().filter(|e| e["step"] == "forever").count(),
        1
    );
}

#[test]
fn a_wait_stops_at_the_first_answer_that_is_not_a_success() {
    let seen = Seen::default();
    let (run, _, _) = run(
        &seen,
        &milestone(
            "advisory: [error-envelope, declared-reason, registry-error]",
            "      - name: missing\n        method: GET\n        path: /gone\n        wait_for: {at: /status, equals: done}\n        expect: {status: 404}\n",
        ),
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.assert_printed("FAIL  step  poll/missing");
    assert_eq!(
        seen.gone.load(Ordering::SeqCst),
        1,
        "no second read after a 404"
    );
}

#[test]
fn an_event_stream_is_read_as_its_events_and_keep_alives_leave_no_trace() {
    let seen = Seen::default();
    let (run, exchanges, _) = run(
        &seen,
        &milestone(
            "advisory: [media-type]",
            "      - name: follow\n        method: GET\n        path: /stream\n        expect:\n          status: 200\n          headers: {content-type: text/event-stream}\n          json:\n            - {at: /events, count: 3}\n            - {at: /events/1/data, equals: \"second\\nline\"}\n            - {at: /events/2/id, equals: \"2\"}\n            - {at: /events/2/event, equals: end}\n",
        ),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let followed = exchanges.iter().find(|e| e["step"] == "follow").unwrap();
    assert_eq!(
        followed["response"]["body"],
        json!({"events": [
            {"id": "1", "event": "log", "data": "first"},
            {"id": "2", "event": "log", "data": "second\nline"},
            {"id": "2", "event": "end", "data": "{\"status\":\"succeeded\"}"},
        ]})
    );
}
