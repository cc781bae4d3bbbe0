//! Training runs over HTTP: a `local` run trains for real on the worker pool (its log, metrics
//! and artifact, the same bytes on any number of workers), cancel, the budget by a clock the
//! test moves, `byoc` results, registration from a run, the refusals, and the followed log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use marketref::clock::{ManualClock, parse_rfc3339};
use marketref::http::RuntimeOptions;
use marketref::store::SqliteStore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::support::{Registered, Vendor, round, stage, vendor};
use crate::support::{SERVER_NOW, TestServer};

/// A server on a fresh store with `workers` training workers.
async fn server_with(workers: usize) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("marketref.db")).unwrap());
    let options = RuntimeOptions {
        training_workers: workers,
        ..RuntimeOptions::default()
    };
    (
        TestServer::start_with_options(store, true, options).await,
        dir,
    )
}

async fn start_run(server: &TestServer, vendor: &Vendor, spec: &Value) -> Value {
    let reply = server
        .op("mlTraining.create", &[])
        .bearer(&vendor.key)
        .json(spec)
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"].clone()
}

pub(super) async fn read_run(server: &TestServer, vendor: &Vendor, run_id: &str) -> Value {
    let reply = server
        .op("mlTraining.get", &[("run_id", run_id)])
        .bearer(&vendor.key)
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].clone()
}

/// Reads the run until `done` holds of it (at most 60 s), with every status seen on the way.
async fn wait_for(
    server: &TestServer,
    vendor: &Vendor,
    run_id: &str,
    done: impl Fn(&Value) -> bool,
) -> (Value, Vec<String>) {
    let started = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let run = read_run(server, vendor, run_id).await;
        let status = run["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        if done(&run) {
            return (run, seen);
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{run}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn wait_until_finished(server: &TestServer, vendor: &Vendor, run_id: &str) -> Value {
    let finished = ["succeeded", "failed", "cancelled"];
    wait_for(server, vendor, run_id, |run| {
        finished.contains(&run["status"].as_str().unwrap())
    })
    .await
    .0
}

pub(super) async fn log_text(
    server: &TestServer,
    vendor: &Vendor,
    run_id: &str,
    since: &str,
) -> String {
    let reply = server
        .call(
            "GET",
            &format!("/api/training/runs/{run_id}/logs?since={since}"),
        )
        .bearer(&vendor.key)
        .send_raw()
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["content-type"], "text/plain; charset=utf-8",
        "{:?}",
        reply.headers
    );
    String::from_utf8(reply.bytes).unwrap()
}

/// The lines of a run's log that are epochs.
fn epoch_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.starts_with("epoch "))
        .collect()
}

async fn artifact_bytes(server: &TestServer, run: &Value) -> Vec<u8> {
    let url = run["artifacts"]["model_url"].as_str().unwrap();
    let response = reqwest::get(format!("{}{url}", server.base)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.bytes().await.unwrap().to_vec()
}

fn spec(round_id: &str, epochs: u32) -> Value {
    json!({"round_id": round_id, "task": "signal", "seed": 7,
           "hyperparams": {"epochs": epochs, "lr": 0.2, "batch_size": 128}})
}

/// A run that takes minutes: a thousand epochs of one-row batches.
fn long_spec(round_id: &str) -> Value {
    json!({"round_id": round_id, "task": "signal",
           "hyperparams": {"epochs": 1000, "lr": 0.01, "batch_size": 1}})
}

#[tokio::test]
async fn a_local_run_trains_to_success_with_its_log_metrics_and_artifact() {
    let (server, _dir) = server_with(1).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 600).await;
    let created = start_run(&server, &quant, &spec("current", 5)).await;
    assert_eq!(created["status"], "queued", "{created}");
    assert_eq!(created["spec"]["round_id"], "r1", "the alias is resolved");
    assert_eq!(created["spec"]["provider"], "local");
    assert_eq!(created["spec"]["dataset_urls"].as_array().unwrap().len(), 4);
    assert_eq!(created["artifacts"]["model_url"], Value::Null);
    let run_id = created["run_id"].as_str().unwrap();
    let (run, seen) = wait_for(&server, &quant, run_id, |run| run["status"] == "succeeded").await;
    // Only the moves of the state machine, in order.
    let order = ["queued", "running", "succeeded"];
    assert!(
        seen.iter().all(|status| order.contains(&status.as_str()))
            && seen.windows(2).all(|pair| {
                let at = |s: &String| order.iter().position(|o| o == s).unwrap();
                at(&pair[0]) < at(&pair[1])
            }),
        "{seen:?}"
    );
    assert_eq!(run["metrics_source"], "platform");
    for name in [
        "train_loss",
        "val_loss",
        "val_accuracy",
        "val_sharpe",
        "win_rate",
        "trades",
    ] {
        assert!(run["metrics"][name].is_number(), "{name}: {run}");
    }
    assert!(run["started_at"].is_string() && run["finished_at"].is_string());

    let log = log_text(&server, &quant, run_id, "0").await;
    assert_eq!(epoch_lines(&log).len(), 5, "{log}");
    assert!(epoch_lines(&log)[4].starts_with("epoch 5/5 loss="), "{log}");
    assert!(
        log.lines().last().unwrap().starts_with("succeeded: "),
        "{log}"
    );
    // `since` is the sequence number after which lines come.
    let tail = log_text(&server, &quant, run_id, "6").await;
    assert_eq!(
        tail,
        log.lines()
            .skip(6)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );

    let bytes = artifact_bytes(&server, &run).await;
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        run["artifacts"]["sha256"]
    );
    assert_eq!(
        bytes.len() as u64,
        run["artifacts"]["size_bytes"].as_u64().unwrap()
    );
    let artifact: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(artifact["format"], "marketref-logistic-regression-v1");
    assert_eq!(artifact["metrics"], run["metrics"]);
    assert_eq!(artifact["spec"], run["spec"]);

    // A version registered from the run carries its metrics; the catalog shows its Sharpe.
    let registered = server
        .op("mlModels.create", &[])
        .bearer(&quant.key)
        .json(
            &json!({"name": "Trained", "task": "signal", "version": "1.0.0",
                      "training_run_id": run_id}),
        )
        .send()
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let version = &registered.body["data"]["model"]["versions"][0];
    assert_eq!(version["metrics"], run["metrics"]);
    assert_eq!(version["metrics_source"], "platform");
    assert_eq!(version["training_run_id"], run_id);
    // Live, it is in the catalog with the run's validation Sharpe as its out-of-sample one.
    let registered = Registered {
        model_id: registered.body["data"]["model_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        version_id: registered.body["data"]["version_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    assert_eq!(stage(&server, &registered, "pilot").await.status, 200);
    let catalog = server.op("mlCatalog.list", &[]).send().await;
    let entry = &catalog.body["data"]["items"][0];
    assert_eq!(
        entry["last_oos_sharpe"], run["metrics"]["val_sharpe"],
        "{entry}"
    );
    assert_eq!(entry["metrics_source"], "platform");
}

/// Same round, spec and seed: the same metrics and artifact bytes, on one worker or four.
#[tokio::test]
async fn the_same_spec_trains_to_the_same_bytes_on_one_or_four_workers() {
    let mut hashes = Vec::new();
    for workers in [1, 4] {
        let (server, _dir) = server_with(workers).await;
        let quant = vendor(&server, "Quant").await;
        round(&server, "r1", 500).await;
        let mut runs = Vec::new();
        for _ in 0..4 {
            runs.push(start_run(&server, &quant, &spec("r1", 8)).await);
        }
        for created in runs {
            let run_id = created["run_id"].as_str().unwrap();
            let run = wait_until_finished(&server, &quant, run_id).await;
            assert_eq!(run["status"], "succeeded", "{run}");
            let bytes = artifact_bytes(&server, &run).await;
            hashes.push((
                workers,
                run["metrics"].clone(),
                hex::encode(Sha256::digest(&bytes)),
            ));
        }
        server.stop().await;
    }
    let (_, metrics, sha) = &hashes[0];
    for (workers, other_metrics, other_sha) in &hashes {
        assert_eq!(other_metrics, metrics, "{workers} workers");
        assert_eq!(other_sha, sha, "{workers} workers");
    }
}

#[tokio::test]
async fn cancel_stops_a_running_run_within_one_epoch() {
    let (server, _dir) = server_with(1).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 100_000).await;
    let run_id = start_run(&server, &quant, &long_spec("r1")).await["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    while epoch_lines(&log_text(&server, &quant, &run_id, "0").await).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancelled = server
        .op("mlTraining.cancel", &[("run_id", &run_id)])
        .bearer(&quant.key)
        .send()
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["data"]["status"], "cancelled");
    let at_cancel = log_text(&server, &quant, &run_id, "0").await;
    // Long enough for several more epochs, had the worker gone on.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = log_text(&server, &quant, &run_id, "0").await;
    assert_eq!(later, at_cancel, "nothing was written after the cancel");
    assert_eq!(
        later.lines().last(),
        Some("cancelled at the vendor's request")
    );
    assert!(epoch_lines(&later).len() < 1000);
    let run = read_run(&server, &quant, &run_id).await;
    assert_eq!(run["status"], "cancelled");
    assert_eq!(run["artifacts"]["sha256"], Value::Null);
    // Finished: cancelling again is a conflict.
    let again = server
        .op("mlTraining.cancel", &[("run_id", &run_id)])
        .bearer(&quant.key)
        .send()
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.reason(), "training_run_not_cancellable");
    // And the worker goes on to the next run.
    let next = start_run(&server, &quant, &spec("r1", 2)).await;
    let next = wait_until_finished(&server, &quant, next["run_id"].as_str().unwrap()).await;
    assert_eq!(next["status"], "succeeded");
}

/// `budget.max_hours` by the worker's clock, which the test moves: no sleeping out an hour.
#[tokio::test]
async fn a_run_past_its_budget_fails_budget_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("marketref.db")).unwrap());
    let clock = Arc::new(ManualClock::new(parse_rfc3339(SERVER_NOW).unwrap()));
    let server =
        TestServer::start_with_clock(store, clock.clone(), true, RuntimeOptions::default()).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 100_000).await;
    let mut body = long_spec("r1");
    body["budget"] = json!({"max_hours": 1});
    let run_id = start_run(&server, &quant, &body).await["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(&server, &quant, &run_id, |run| run["status"] == "running").await;
    clock.advance(time::Duration::minutes(59));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        read_run(&server, &quant, &run_id).await["status"],
        "running"
    );
    clock.advance(time::Duration::minutes(2));
    let run = wait_until_finished(&server, &quant, &run_id).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["failure_reason"], "budget_exceeded");
    let log = log_text(&server, &quant, &run_id, "0").await;
    let last = log.lines().last().unwrap();
    assert!(last.starts_with("failed: budget_exceeded after "), "{log}");
    assert!(epoch_lines(&log).len() < 1000);
}

#[tokio::test]
async fn with_no_workers_a_local_run_stays_queued_and_a_queued_run_cancels() {
    let (server, _dir) = server_with(0).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 300).await;
    let run_id = start_run(&server, &quant, &spec("r1", 2)).await["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(read_run(&server, &quant, &run_id).await["status"], "queued");
    let listed = server
        .op("mlTraining.list", &[])
        .bearer(&quant.key)
        .send()
        .await;
    assert_eq!(listed.body["data"]["items"][0]["run_id"], run_id.as_str());
    let cancelled = server
        .op("mlTraining.cancel", &[("run_id", &run_id)])
        .bearer(&quant.key)
        .send()
        .await;
    assert_eq!(cancelled.body["data"]["status"], "cancelled");
    assert_eq!(cancelled.body["data"]["started_at"], Value::Null);
}

#[tokio::test]
async fn a_byoc_run_reports_results_that_versions_show_as_self_reported() {
    let (server, _dir) = server_with(0).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 300).await;
    let mut body = spec("r1", 2);
    body["provider"] = json!("byoc");
    body["task"] = json!("consensus");
    let byoc = start_run(&server, &quant, &body).await;
    assert_eq!(byoc["status"], "running", "{byoc}");
    let run_id = byoc["run_id"].as_str().unwrap();
    let results = json!({"metrics": {"val_sharpe": 1.25, "win_rate": 0.55},
                         "model_url": "https://models.example/quant/v1.tar.gz"});
    let reported = server
        .op("mlTraining.results", &[("run_id", run_id)])
        .bearer(&quant.key)
        .json(&results)
        .send()
        .await;
    assert_eq!(reported.status, 200, "{}", reported.body);
    let run = &reported.body["data"];
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["metrics_source"], "self_reported");
    assert_eq!(
        run["artifacts"]["model_url"],
        "https://models.example/quant/v1.tar.gz"
    );
    let again = server
        .op("mlTraining.results", &[("run_id", run_id)])
        .bearer(&quant.key)
        .json(&results)
        .send()
        .await;
    assert_eq!(again.reason(), "training_run_not_running");
    // A version of a consensus model from it: self-reported; of a signal model: refused.
    let registered = server
        .op("mlModels.create", &[])
        .bearer(&quant.key)
        .json(&json!({"name": "Mine", "task": "consensus", "version": "1",
                      "training_run_id": run_id}))
        .send()
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let version = &registered.body["data"]["model"]["versions"][0];
    assert_eq!(version["metrics_source"], "self_reported");
    assert_eq!(version["metrics"]["val_sharpe"], 1.25);
    let mismatch = server
        .op("mlModels.create", &[])
        .bearer(&quant.key)
        .json(&json!({"name": "Mine", "task": "signal", "version": "1",
                      "training_run_id": run_id}))
        .send()
        .await;
    assert_eq!(mismatch.reason(), "training_run_task_mismatch");
    // A local run takes no reported results, and registers only once it succeeded.
    let local = start_run(&server, &quant, &spec("r1", 2)).await;
    let local_id = local["run_id"].as_str().unwrap();
    let refused = server
        .op("mlTraining.results", &[("run_id", local_id)])
        .bearer(&quant.key)
        .json(&results)
        .send()
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.reason(), "training_run_not_byoc");
    let early = server
        .op("mlModels.create", &[])
        .bearer(&quant.key)
        .json(&json!({"name": "Early", "task": "signal", "version": "1",
                      "training_run_id": local_id}))
        .send()
        .await;
    assert_eq!(early.reason(), "training_run_not_succeeded");
}

#[tokio::test]
async fn a_spec_the_server_cannot_run_is_refused_at_creation_with_its_field() {
    let (server, _dir) = server_with(0).await;
    let quant = vendor(&server, "Quant").await;
    round(&server, "r1", 300).await;
    let with = |change: Value| {
        let mut body = spec("r1", 2);
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (
            json!({"round_id": "nope"}),
            422,
            "training_spec_invalid",
            "/round_id",
        ),
        (
            json!({"hyperparams": {"lr": 0}}),
            422,
            "training_spec_invalid",
            "/hyperparams/lr",
        ),
        (
            json!({"hyperparams": {"epochs": 1001}}),
            422,
            "training_spec_invalid",
            "/hyperparams/epochs",
        ),
        (
            json!({"hyperparams": {"batch_size": 70000}}),
            422,
            "training_spec_invalid",
            "/hyperparams/batch_size",
        ),
        (
            json!({"hyperparams": {"momentum": 0.9}}),
            422,
            "training_spec_invalid",
            "/hyperparams/momentum",
        ),
        (
            json!({"task": "optimizer"}),
            422,
            "training_spec_invalid",
            "/task",
        ),
        (
            json!({"dataset_urls": ["/api/datasets/files/other/train.csv"]}),
            422,
            "training_spec_invalid",
            "/dataset_urls/0",
        ),
        (
            json!({"provider": "runpod"}),
            422,
            "provider_not_configured",
            "/provider",
        ),
    ];
    for (change, status, reason, field) in cases {
        let reply = server
            .op("mlTraining.create", &[])
            .bearer(&quant.key)
            .json(&with(change.clone()))
            .send()
            .await;
        assert_eq!(
            (reply.status, reply.reason()),
            (status, reason),
            "{change}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["details"]["field"], field, "{change}");
    }
    // A round's own file, signed or not, is accepted as its dataset URL.
    let own = with(
        json!({"dataset_urls": ["http://localhost:3005/api/datasets/files/r1/train.csv?exp=1&kid=k&sig=s"]}),
    );
    start_run(&server, &quant, &own).await;
    let listed = server
        .op("mlTraining.list", &[("status", "queued")])
        .bearer(&quant.key)
        .send()
        .await;
    assert_eq!(
        listed.body["data"]["items"].as_array().unwrap().len(),
        1,
        "nothing else was stored"
    );
}

#[tokio::test]
async fn another_vendors_run_is_not_found_wherever_it_is_named() {
    let (server, _dir) = server_with(0).await;
    let quant = vendor(&server, "Quant").await;
    let rival = vendor(&server, "Rival").await;
    round(&server, "r1", 300).await;
    let run_id = start_run(&server, &quant, &spec("r1", 2)).await["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (operation, method) in [
        ("mlTraining.get", "GET"),
        ("mlTraining.logs", "GET"),
        ("mlTraining.cancel", "POST"),
    ] {
        let reply = server
            .op(operation, &[("run_id", &run_id)])
            .bearer(&rival.key)
            .send()
            .await;
        assert_eq!(reply.status, 404, "{operation} ({method}): {}", reply.body);
        assert_eq!(reply.reason(), "training_run_not_found");
    }
    let listed = server
        .op("mlTraining.list", &[])
        .bearer(&rival.key)
        .send()
        .await;
    assert_eq!(listed.body["data"]["items"], json!([]));
    let registered = server
        .op("mlModels.create", &[])
        .bearer(&rival.key)
        .json(&json!({"name": "Stolen", "task": "signal", "version": "1",
                      "training_run_id": run_id}))
        .send()
        .await;
    assert_eq!(registered.reason(), "training_run_not_found");
}

/// The training rows of the reasons table (`tests/reasons.rs`): each reason the training
/// operations answer, reached once.
pub async fn reason_rows(server: &TestServer) -> Vec<(String, u16)> {
    let mut seen = Vec::new();
    let mut note = |reply: crate::support::Reply, reason: &str| {
        assert_eq!(reply.reason(), reason, "{}", reply.body);
        seen.push((reason.to_owned(), reply.status));
    };
    let quant = vendor(server, "Trainer").await;
    round(server, "reasons", 300).await;
    let create = |body: Value| {
        server
            .op("mlTraining.create", &[])
            .bearer(&quant.key)
            .json(&body)
    };
    note(
        create(json!({"round_id": "nope", "task": "signal"}))
            .send()
            .await,
        "training_spec_invalid",
    );
    note(
        create(json!({"round_id": "reasons", "task": "signal", "provider": "runpod"}))
            .send()
            .await,
        "provider_not_configured",
    );
    note(
        server
            .op("mlTraining.get", &[("run_id", "run_999999")])
            .bearer(&quant.key)
            .send()
            .await,
        "training_run_not_found",
    );
    let byoc = create(json!({"round_id": "reasons", "task": "signal", "provider": "byoc"}))
        .send()
        .await;
    let byoc_id = byoc.body["data"]["run_id"].as_str().unwrap().to_owned();
    let register = |run_id: &str, task: &str| {
        server
            .op("mlModels.create", &[])
            .bearer(&quant.key)
            .json(&json!({"name": "m", "task": task, "version": "1", "training_run_id": run_id}))
    };
    note(
        register(&byoc_id, "signal").send().await,
        "training_run_not_succeeded",
    );
    let results = |run_id: &str| {
        server
            .op("mlTraining.results", &[("run_id", run_id)])
            .bearer(&quant.key)
            .json(&json!({"metrics": {"val_sharpe": 1.0}}))
    };
    assert_eq!(results(&byoc_id).send().await.status, 200);
    note(results(&byoc_id).send().await, "training_run_not_running");
    note(
        register(&byoc_id, "optimizer").send().await,
        "training_run_task_mismatch",
    );
    note(
        server
            .op("mlTraining.cancel", &[("run_id", &byoc_id)])
            .bearer(&quant.key)
            .send()
            .await,
        "training_run_not_cancellable",
    );
    let local = create(json!({"round_id": "reasons", "task": "signal"}))
        .send()
        .await;
    let local_id = local.body["data"]["run_id"].as_str().unwrap().to_owned();
    note(results(&local_id).send().await, "training_run_not_byoc");
    note(
        server
            .call(
                "GET",
                &format!("/api/training/runs/{local_id}/logs?follow=true"),
            )
            .bearer(&quant.key)
            .header("last-event-id", "-1")
            .send()
            .await,
        "last_event_id_invalid",
    );
    seen
}
