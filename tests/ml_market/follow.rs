//! A run's log followed as server-sent events: every line as it is written with its sequence
//! number as the id, `Last-Event-ID` to resume, an `end` event with the final status; a client
//! that goes away leaves nothing behind; and a run cut short by its server's end is failed
//! `interrupted`, whether the server stopped or was killed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use marketref::http::RuntimeOptions;
use marketref::store::SqliteStore;
use serde_json::{Value, json};

use super::support::{Vendor, round, vendor};
use crate::docs::ServedBinary;
use crate::support::TestServer;

async fn server_with(workers: usize, dir: &std::path::Path) -> TestServer {
    let store = Arc::new(SqliteStore::open(&dir.join("marketref.db")).unwrap());
    let options = RuntimeOptions {
        training_workers: workers,
        ..RuntimeOptions::default()
    };
    TestServer::start_with_options(store, true, options).await
}

/// A run of `epochs`; of one-row batches (minutes long) for 1000.
async fn start_run(server: &TestServer, vendor: &Vendor, epochs: u32) -> String {
    let batch_size = if epochs == 1000 { 1 } else { 64 };
    let reply = server
        .op("mlTraining.create", &[])
        .bearer(&vendor.key)
        .json(&json!({"round_id": "r1", "task": "signal",
                      "hyperparams": {"epochs": epochs, "batch_size": batch_size}}))
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"]["run_id"].as_str().unwrap().to_owned()
}

fn follow(server: &TestServer, vendor: &Vendor, run_id: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(format!(
            "{}/api/training/runs/{run_id}/logs?follow=true",
            server.base
        ))
        .bearer_auth(&vendor.key)
}

#[tokio::test]
async fn a_followed_log_sends_each_line_then_the_end_and_resumes_after_last_event_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(1, dir.path()).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 2000).await;
    let run_id = start_run(&server, &quant, 30).await;
    // Followed from the start, while it trains: the stream ends by itself.
    let response = follow(&server, &quant, &run_id).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(Duration::from_secs(60), response.text())
        .await
        .expect("the stream ends when the run does")
        .unwrap();
    let all = marketref::sse::parse(&body);
    let (end, lines) = all.split_last().unwrap();
    assert_eq!(end.event, "end", "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&end.data).unwrap(),
        json!({"status": "succeeded"})
    );
    let ids: Vec<u64> = lines.iter().map(|e| e.id.parse().unwrap()).collect();
    assert_eq!(ids, (1..=lines.len() as u64).collect::<Vec<_>>(), "{body}");
    assert!(lines.iter().all(|e| e.event == "log"));
    assert_eq!(
        lines
            .iter()
            .filter(|e| e.data.starts_with("epoch "))
            .count(),
        30
    );
    // The same lines as the text log.
    let text = server
        .call("GET", &format!("/api/training/runs/{run_id}/logs"))
        .bearer(&quant.key)
        .send_raw()
        .await;
    let text = String::from_utf8(text.bytes).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        lines.iter().map(|e| e.data.as_str()).collect::<Vec<_>>()
    );

    // Resumed after event 3 (and `since` is overridden by the header).
    let resumed = follow(&server, &quant, &run_id)
        .header("last-event-id", "3")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resumed = marketref::sse::parse(&resumed);
    assert_eq!(resumed[0].id, "4");
    assert_eq!(resumed.len(), all.len() - 3);
    // A header that is no event id is refused before anything streams.
    let refused = server
        .call(
            "GET",
            &format!("/api/training/runs/{run_id}/logs?follow=true"),
        )
        .bearer(&quant.key)
        .header("last-event-id", "three")
        .send()
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.reason(), "last_event_id_invalid");
}

/// A client that goes away mid-stream costs the server nothing: its stream is dropped (the
/// keep-alive write finds the connection closed) and no poll goes on.
#[tokio::test]
async fn a_client_that_disconnects_leaves_no_stream_behind() {
    let dir = tempfile::tempdir().unwrap();
    // No workers: the run stays queued, so its stream would never end by itself.
    let server = server_with(0, dir.path()).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 300).await;
    let run_id = start_run(&server, &quant, 5).await;
    let streams = || server.state.runtime().streams.open();
    let mut response = follow(&server, &quant, &run_id).send().await.unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("queued for a local training worker"));
    assert_eq!(streams(), 1);
    drop(response);
    let started = Instant::now();
    while streams() != 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the stream is still open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A stream still open when the server stops ends, and the server stops.
    let _kept = follow(&server, &quant, &run_id).send().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("an open stream does not hold the shutdown");
}

#[tokio::test]
async fn a_run_its_server_stops_mid_training_is_failed_interrupted_and_queued_runs_wait() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(1, dir.path()).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 100_000).await;
    let running = start_run(&server, &quant, 1000).await;
    let queued = start_run(&server, &quant, 2).await;
    let started = Instant::now();
    loop {
        let run = server
            .op("mlTraining.get", &[("run_id", &running)])
            .bearer(&quant.key)
            .send()
            .await;
        if run.body["data"]["status"] == "running" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.stop().await;
    let server = server_with(0, dir.path()).await;
    let read = |run_id: String| {
        let server = &server;
        let key = quant.key.clone();
        async move {
            server
                .op("mlTraining.get", &[("run_id", &run_id)])
                .bearer(&key)
                .send()
                .await
                .body["data"]
                .clone()
        }
    };
    let stopped = read(running.clone()).await;
    assert_eq!(stopped["status"], "failed", "{stopped}");
    assert_eq!(stopped["failure_reason"], "interrupted");
    assert_eq!(read(queued).await["status"], "queued");
}

/// `kill -9` of a real server mid-run: the run is `failed: interrupted` after the restart,
/// before the restarted server answers anything, and a queued run trains.
#[test]
fn a_run_whose_server_was_killed_is_failed_interrupted_after_the_restart() {
    let server = ServedBinary::start(&["--dev"]);
    let shell = |server: &ServedBinary, script: &str| -> String {
        let output = server.run(script);
        assert!(
            output.status.success(),
            "{script}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let api = "http://localhost:3005";
    let operator = "-H 'x-actor-type: partner' -H 'x-actor-id: op' -H 'x-auth-scopes: ml:operate'";
    let key = shell(
        &server,
        &format!(
            "curl -sS --fail-with-body {api}/api/vendors {operator} -H 'content-type: application/json' \
               -d '{{\"name\": \"Quant\"}}' | sed -E 's/.*\"api_key\":\"([^\"]+)\".*/\\1/'"
        ),
    );
    let key = key.trim().to_owned();
    shell(
        &server,
        &format!(
            "curl -sS --fail-with-body {api}/api/rounds {operator} -H 'content-type: application/json' \
               -d '{{\"round_id\": \"r1\", \"name\": \"r1\", \"generate\": {{\"symbols\": [\"EURUSD\"], \"bars\": 100000, \"timeframe\": \"1h\"}}}}'"
        ),
    );
    let create = |server: &ServedBinary, epochs: u32| -> String {
        let batch = if epochs == 1000 { 1 } else { 64 };
        shell(
            server,
            &format!(
                "curl -sS --fail-with-body {api}/api/training/runs -H 'authorization: Bearer {key}' \
                   -H 'content-type: application/json' \
                   -d '{{\"round_id\": \"r1\", \"task\": \"signal\", \"hyperparams\": {{\"epochs\": {epochs}, \"batch_size\": {batch}}}}}' \
                 | sed -E 's/.*\"run_id\":\"([^\"]+)\".*/\\1/'"
            ),
        )
        .trim()
        .to_owned()
    };
    let status = |server: &ServedBinary, run_id: &str| -> Value {
        let body = shell(
            server,
            &format!(
                "curl -sS --fail-with-body {api}/api/training/runs/{run_id} -H 'authorization: Bearer {key}'"
            ),
        );
        serde_json::from_str::<Value>(&body).unwrap()["data"].clone()
    };
    let running = create(&server, 1000);
    let started = Instant::now();
    while status(&server, &running)["status"] != "running" {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(20));
    }
    let queued = create(&server, 2);
    let server = server.kill_and_restart(&["--dev"]);
    let killed = status(&server, &running);
    assert_eq!(killed["status"], "failed", "{killed}");
    assert_eq!(killed["failure_reason"], "interrupted");
    let started = Instant::now();
    loop {
        let run = status(&server, &queued);
        if run["status"] == "succeeded" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{run}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The trainers give way to requests: every training thread runs at nice 19 (Linux, where the
/// scheduler reads it per thread), so that workers busy on every core delay no answer.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_training_threads_run_below_the_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(2, dir.path()).await;
    // The threads start with the server; give them a moment to name themselves.
    let deadline = Instant::now() + Duration::from_secs(10);
    let trainers = loop {
        let trainers: Vec<(String, i64)> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| {
                let path = task.ok()?.path();
                let comm = std::fs::read_to_string(path.join("comm")).ok()?;
                let stat = std::fs::read_to_string(path.join("stat")).ok()?;
                // Field 19 of `stat` is the nice value; the fields after the name start at 3.
                let after_name = stat.rsplit_once(')')?.1;
                let nice = after_name.split_whitespace().nth(16)?.parse().ok()?;
                comm.starts_with("ml_market-trai")
                    .then(|| (comm.trim().to_owned(), nice))
            })
            .collect();
        if trainers.len() >= 3 || Instant::now() > deadline {
            break trainers;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        trainers.len() >= 3,
        "the pool's thread and its two trainers: {trainers:?}"
    );
    assert!(trainers.iter().all(|(_, nice)| *nice == 19), "{trainers:?}");
    server.stop().await;
}
