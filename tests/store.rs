//! Durability: data survives a restart, shutdown closes the store, failures change nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use marketref::store::{SqliteStore, Store, StoreError, StoreInfo, StoreViews, Tx};
use serde_json::json;

use crate::support::{TestServer, first_run_body, intent};

#[tokio::test]
async fn a_restart_keeps_runs_proposals_and_idempotency_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("marketref.db");
    let server = TestServer::start_at(&path, true).await;
    server.seed_worked_example().await;
    let first = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:write")
        .key("r1")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(first.status, 200);
    let before = server.dump();
    server.stop().await;
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(
        wal, 0,
        "shutdown checkpoints the WAL into the database file"
    );

    let server = TestServer::start_at(&path, true).await;
    assert_eq!(server.dump(), before);
    let read = server
        .op("marketplaceMatchingRun.get", &[("run_id", "mrun_000002")])
        .partner("settlement:read")
        .send()
        .await;
    assert_eq!(read.body["run"], first.body["run"]);
    let proposal = server
        .op("cycleProposals.get", &[("id", "cycle_961f2288e6f7")])
        .partner("cycle_proposals:read")
        .send()
        .await;
    assert_eq!(proposal.status, 200);
    let replay = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:write")
        .key("r1")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let next = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:write")
        .key("r2")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(
        next.body["run"]["run_id"], "mrun_000003",
        "the counter survived too"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_refused_create_changes_no_row() {
    let server = TestServer::start().await;
    let body = json!({"intent": intent("i1", "u1", "x", "y")});
    let ok = server
        .op("swapIntents.create", &[])
        .actor("user", "u1", "swap_intents:write")
        .key("a")
        .json(&body)
        .send()
        .await;
    assert_eq!(ok.status, 201);
    let before = server.dump();
    let again = server
        .op("swapIntents.create", &[])
        .actor("user", "u1", "swap_intents:write")
        .key("b")
        .json(&body)
        .send()
        .await;
    assert_eq!(again.status, 409);
    let mut after = server.dump();
    assert_eq!(
        after["idempotency_records"].as_array().unwrap().len(),
        2,
        "the refusal is recorded"
    );
    after["idempotency_records"] = before["idempotency_records"].clone();
    assert_eq!(after, before);
}

/// A store whose transactions wait at a gate the test holds, counting who arrived, so that the
/// test knows requests are in flight before it asks the server to stop.
struct GatedStore {
    inner: SqliteStore,
    gate: Mutex<()>,
    arrived: AtomicUsize,
}

impl Store for GatedStore {
    fn info(&self) -> StoreInfo {
        self.inner.info()
    }
    fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        drop(self.gate.lock().unwrap());
        self.inner.read()
    }
    fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        drop(self.gate.lock().unwrap());
        self.inner.write()
    }
    fn views(&self) -> &'static StoreViews {
        self.inner.views()
    }
    fn hold_instance(&self, instance: u64) -> Result<(), StoreError> {
        self.inner.hold_instance(instance)
    }
    fn instance_alive(&self, instance: u64) -> Result<bool, StoreError> {
        self.inner.instance_alive(instance)
    }
    fn close(&self) -> Result<(), StoreError> {
        self.inner.close()
    }
}

// The gate is a std mutex held across awaits on purpose: the server's blocking threads wait on
// it, never an async task.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_finish_during_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("marketref.db");
    let store = Arc::new(GatedStore {
        inner: SqliteStore::open(&path).unwrap(),
        gate: Mutex::new(()),
        arrived: AtomicUsize::new(0),
    });
    let server = TestServer::start_with(store.clone(), true).await;
    server.seed_worked_example().await;
    let before = store.arrived.load(Ordering::SeqCst);

    // One write (writes run one at a time, so one reaches the store) and three reads, all held
    // at the store's gate.
    let gate = store.gate.lock().unwrap();
    let write = tokio::spawn(
        server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key("in-flight")
            .json(&first_run_body())
            .send(),
    );
    let reads: Vec<_> = (0..3)
        .map(|_| tokio::spawn(server.op("system.health", &[]).send()))
        .collect();
    while store.arrived.load(Ordering::SeqCst) < before + 4 {
        tokio::task::yield_now().await;
    }
    // Four requests are inside the server, waiting for the store. Stop it, then open the gate.
    let stopped = tokio::spawn(server.stop());
    tokio::task::yield_now().await;
    drop(gate);
    assert_eq!(write.await.unwrap().status, 200);
    for read in reads {
        assert_eq!(read.await.unwrap().status, 200);
    }
    stopped.await.unwrap();
    let runs = store.inner.read().unwrap().dump().unwrap()["marketplace_matching_runs"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(runs, 1, "the write in flight finished and was stored");
}

/// The schema as the numbered migrations of earlier binaries left it (`PRAGMA user_version`
/// 3): the same SQL, applied in their order.
const LEGACY_SCHEMA: [&str; 5] = [
    include_str!("../src/store/sqlite/migrations/core/0001_counters_idempotency.sql"),
    include_str!("../src/store/sqlite/migrations/swap/0001_tables.sql"),
    include_str!("../src/store/sqlite/migrations/core/0002_activity.sql"),
    include_str!("../src/store/sqlite/migrations/data_market/0001_tables.sql"),
    include_str!("../src/store/sqlite/migrations/swap/0002_partial_creator_index.sql"),
];

#[tokio::test]
async fn a_database_of_the_numbered_migrations_opens_with_its_rows_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in LEGACY_SCHEMA {
            conn.execute_batch(sql).unwrap();
        }
        let document = serde_json::to_string(&intent("kept", "u1", "x", "y")).unwrap();
        conn.execute(
            "INSERT INTO swap_intents VALUES ('kept', 'user', 'u1', 'user', 'u1', 'active', ?1)",
            [document],
        )
        .unwrap();
        conn.execute_batch("PRAGMA user_version = 3").unwrap();
    }
    let server = TestServer::start_at(&path, false).await;
    let health = server.op("system.health", &[]).send().await;
    assert_eq!(health.body["summary"]["intents"], 1, "{}", health.body);
    let read = server
        .op("swapIntents.get", &[("id", "kept")])
        .actor("user", "u1", "swap_intents:read")
        .send()
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    server.stop().await;
}

#[test]
fn a_database_a_newer_binary_migrated_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    drop(SqliteStore::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "INSERT INTO schema_migrations (domain, name) VALUES ('swap', '9999_from_the_future')",
        )
        .unwrap();
    let error = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(
        error.contains("swap/9999_from_the_future") && error.contains("newer marketref"),
        "{error}"
    );
}

#[test]
fn a_dropped_write_changes_nothing_and_a_savepoint_keeps_earlier_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    {
        let mut tx = store.write().unwrap();
        assert_eq!(tx.next_counter("c").unwrap(), 1);
    }
    let mut tx = store.write().unwrap();
    assert_eq!(
        tx.next_counter("c").unwrap(),
        1,
        "the dropped one rolled back"
    );
    tx.savepoint().unwrap();
    tx.set_counter("undone", 9).unwrap();
    tx.rollback_to_savepoint().unwrap();
    tx.commit().unwrap();
    let dump = store.read().unwrap().dump().unwrap();
    assert_eq!(dump["counters"], json!([{"name": "c", "value": 1}]));
}
