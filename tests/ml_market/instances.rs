//! Training runs across runtime instances on one store: a run is owned by the instance whose
//! worker claimed it, another instance's start or sweep leaves it alone while that instance
//! lives, and fails it `interrupted` once that instance is gone (two runtimes on one SQLite
//! file; two `marketref serve` processes on one Postgres database, one of them `kill -9`ed).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use marketref::domain::ml_market::training::SWEEP_INTERVAL;
use marketref::http::RuntimeOptions;
use marketref::store::{SqliteStore, Store, StoreError, StoreInfo, StoreViews, Tx};
use serde_json::{Value, json};

use super::support::{Vendor, round, vendor};
use super::training::{log_text, read_run};
use crate::instances::Instance;
use crate::postgres_cluster::Cluster;
use crate::support::TestServer;

/// A run that trains for minutes (one-row batches over 100,000 bars), or a short one.
fn run_spec(long: bool) -> Value {
    let (epochs, batch_size) = if long { (1000, 1) } else { (2, 64) };
    json!({"round_id": "r1", "task": "signal",
           "hyperparams": {"epochs": epochs, "batch_size": batch_size}})
}

/// A SQLite store that can be cut off, as its process's death would: the store is dropped
/// (its instance's lock file goes with it) and nothing the runtime writes afterwards lands.
struct Severable {
    inner: Mutex<Option<Arc<SqliteStore>>>,
    info: StoreInfo,
    views: &'static StoreViews,
}

impl Severable {
    fn open(path: &std::path::Path) -> Severable {
        let store = SqliteStore::open(path).unwrap();
        Severable {
            info: store.info(),
            views: store.views(),
            inner: Mutex::new(Some(Arc::new(store))),
        }
    }

    fn sever(&self) {
        drop(self.inner.lock().unwrap().take());
    }

    fn inner(&self) -> Result<Arc<SqliteStore>, StoreError> {
        self.inner
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| StoreError::new("using a severed store", "the process is gone"))
    }
}

impl Store for Severable {
    fn info(&self) -> StoreInfo {
        self.info.clone()
    }
    fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.inner()?.read()
    }
    fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.inner()?.write()
    }
    fn views(&self) -> &'static StoreViews {
        self.views
    }
    fn hold_instance(&self, instance: u64) -> Result<(), StoreError> {
        self.inner()?.hold_instance(instance)
    }
    fn instance_alive(&self, instance: u64) -> Result<bool, StoreError> {
        self.inner()?.instance_alive(instance)
    }
    fn close(&self) -> Result<(), StoreError> {
        match self.inner() {
            Ok(store) => store.close(),
            Err(_) => Ok(()),
        }
    }
}

fn workers(count: usize) -> RuntimeOptions {
    RuntimeOptions {
        training_workers: count,
        ..RuntimeOptions::default()
    }
}

async fn create(server: &TestServer, vendor: &Vendor, long: bool) -> String {
    let reply = server
        .op("mlTraining.create", &[])
        .bearer(&vendor.key)
        .json(&run_spec(long))
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"]["run_id"].as_str().unwrap().to_owned()
}

/// A run's log lines, every one.
async fn log(server: &TestServer, vendor: &Vendor, run_id: &str) -> Vec<String> {
    log_text(server, vendor, run_id, "0")
        .await
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Reads the run on `server` until its status is `status`, for at most `limit`.
async fn wait_for(
    server: &TestServer,
    vendor: &Vendor,
    run_id: &str,
    status: &str,
    limit: Duration,
) -> Value {
    let started = Instant::now();
    loop {
        let run = read_run(server, vendor, run_id).await;
        if run["status"] == status {
            return run;
        }
        assert!(started.elapsed() < limit, "not {status}: {run}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_of_a_live_runtime_is_left_alone_by_another_and_interrupted_once_it_died() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first_store = Arc::new(Severable::open(&path));
    let first = TestServer::start_with_options(first_store.clone(), true, workers(1)).await;
    let quant = vendor(&first, "Quant").await;
    round(&first, "r1", 100_000).await;
    let running = create(&first, &quant, true).await;
    wait_for(&first, &quant, &running, "running", Duration::from_secs(60)).await;

    // A second runtime on the file: its start, then its sweeps, leave the run to the first,
    // which goes on training it.
    let second = TestServer::start_with_options(
        Arc::new(SqliteStore::open(&path).unwrap()),
        true,
        workers(1),
    )
    .await;
    assert_eq!(
        read_run(&second, &quant, &running).await["status"],
        "running"
    );
    let lines = log(&second, &quant, &running).await.len();
    tokio::time::sleep(SWEEP_INTERVAL * 2 + Duration::from_millis(500)).await;
    let run = read_run(&second, &quant, &running).await;
    assert_eq!(run["status"], "running", "{run}");
    // An epoch of this round takes seconds in a debug build on a busy machine: wait for the
    // next line rather than for a fixed time.
    let started = Instant::now();
    while log(&second, &quant, &running).await.len() <= lines {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the first still trains it"
        );
        let run = read_run(&second, &quant, &running).await;
        assert_eq!(run["status"], "running", "{run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The first dies mid-run: the second's next sweep fails the run, with its last line.
    first_store.sever();
    let died = Instant::now();
    let run = wait_for(&second, &quant, &running, "failed", SWEEP_INTERVAL * 5).await;
    assert!(died.elapsed() < SWEEP_INTERVAL * 5);
    assert_eq!(run["failure_reason"], "interrupted", "{run}");
    assert_eq!(
        log(&second, &quant, &running).await.last().unwrap(),
        "failed: interrupted (the server stopped while it trained)"
    );
    // The second trains what is queued, its own runs untouched by its sweeps.
    let queued = create(&second, &quant, false).await;
    wait_for(
        &second,
        &quant,
        &queued,
        "succeeded",
        Duration::from_secs(60),
    )
    .await;
    first.stop().await;
    second.stop().await;
}

/// The few calls the test makes, to one instance.
struct Client<'a> {
    http: reqwest::Client,
    served: &'a Instance,
}

impl Client<'_> {
    async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{status}: {body}");
        body["data"].clone()
    }

    async fn operator(&self, path: &str, body: Value) -> Value {
        self.send(
            self.http
                .post(format!("{}{path}", self.served.base))
                .header("x-actor-type", "partner")
                .header("x-actor-id", "operator_main")
                .header("x-auth-scopes", "ml:operate ml:read")
                .json(&body),
        )
        .await
    }

    async fn create(&self, key: &str, long: bool) -> String {
        let request = self
            .http
            .post(format!("{}/api/training/runs", self.served.base))
            .bearer_auth(key)
            .json(&run_spec(long));
        self.send(request).await["run_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn read(&self, key: &str, run_id: &str) -> Value {
        let request = self
            .http
            .get(format!("{}/api/training/runs/{run_id}", self.served.base))
            .bearer_auth(key);
        self.send(request).await
    }

    async fn wait_for(&self, key: &str, run_id: &str, status: &str, limit: Duration) -> Value {
        let started = Instant::now();
        loop {
            let run = self.read(key, run_id).await;
            if run["status"] == status {
                return run;
            }
            assert!(started.elapsed() < limit, "not {status}: {run}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Two processes on one database; the one training a run is `kill -9`ed: the other fails the
/// run `interrupted` within a few sweeps (the dead process's lock went with its connection),
/// and trains a run queued on it to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_whose_instance_was_killed_is_failed_interrupted_by_another_instance() {
    let dir = tempfile::tempdir().unwrap();
    let url = tokio::task::spawn_blocking(|| Cluster::get().database())
        .await
        .unwrap();
    // The first alone, with its one worker: the long run is its.
    let mut first = Instance::start_with(&url, dir.path(), &["--training-workers", "1"]);
    let on_first = Client {
        http: reqwest::Client::new(),
        served: &first,
    };
    let key = on_first
        .operator("/api/vendors", json!({"name": "Quant"}))
        .await["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    on_first
        .operator(
            "/api/rounds",
            json!({"round_id": "r1", "name": "r1",
                   "generate": {"seed": 1, "symbols": ["EURUSD"], "bars": 100_000, "timeframe": "1h"}}),
        )
        .await;
    let running = on_first.create(&key, true).await;
    on_first
        .wait_for(&key, &running, "running", Duration::from_secs(60))
        .await;
    drop(on_first);

    // The second: its start and its sweeps leave the run to the first.
    let second = Instance::start_with(&url, dir.path(), &["--training-workers", "1"]);
    let on_second = Client {
        http: reqwest::Client::new(),
        served: &second,
    };
    assert_eq!(on_second.read(&key, &running).await["status"], "running");
    // The first's one worker is busy: this run is the second's to train.
    let queued = on_second.create(&key, false).await;
    tokio::time::sleep(SWEEP_INTERVAL * 2 + Duration::from_millis(500)).await;
    assert_eq!(on_second.read(&key, &running).await["status"], "running");

    first.kill();
    let killed = Instant::now();
    let run = on_second
        .wait_for(&key, &running, "failed", SWEEP_INTERVAL * 5)
        .await;
    assert!(killed.elapsed() < SWEEP_INTERVAL * 5);
    assert_eq!(run["failure_reason"], "interrupted", "{run}");
    on_second
        .wait_for(&key, &queued, "succeeded", Duration::from_secs(60))
        .await;
}
