//! Persistence, backend-neutral. [`Store`] opens transactions; [`Tx`] is one transaction, and
//! every request runs in exactly one.
//!
//! This module names no domain. What every request needs (idempotency records, id counters,
//! the activity log, health counters, reset and dump) is [`CoreStore`]; each domain declares
//! its own store trait beside its handlers (`domain/swap/store.rs`), as a subtrait of
//! [`CoreStore`], and reaches it through `Tx::domain`. The backends live beside each other:
//! [`sqlite`] (one file per domain), and later others, each implementing every trait.
//!
//! What must hold across processes is held by the database, never by the one writer thread:
//! an idempotency record is claimed first under its primary key, uniqueness rules are unique
//! indexes, counters move inside the request's transaction.

use std::any::Any;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

pub mod activity;
mod credentials;
mod location;
pub mod migrations;
pub mod postgres;
pub mod sqlite;
mod views;

pub use activity::{ActivityEvent, RecordedActivity};
pub use credentials::{Credential, CredentialStore, RateLimitStore};
pub use location::Location;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use views::{StoreViews, View};

/// A store failure. A [`StoreErrorKind::Conflict`] is a rule the database refused (a unique
/// index); a handler may answer it with its reason. Anything else is a 500 to clients: a
/// request that a client can get wrong never reaches the store in a way that fails.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct StoreError {
    kind: StoreErrorKind,
    context: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// A unique or primary-key constraint refused the write.
    Conflict,
    /// The database gave up the transaction to keep concurrent ones serialisable (a
    /// serialisation failure, a deadlock): the same request run again succeeds.
    Contention,
    /// Anything else: I/O, a broken file, a bug.
    Other,
}

impl StoreError {
    pub fn new(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError::of_kind(StoreErrorKind::Other, context, source)
    }

    pub fn of_kind(
        kind: StoreErrorKind,
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError {
            kind,
            context,
            source: source.into(),
        }
    }

    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// Whether the database refused the write under a unique rule.
    pub fn is_conflict(&self) -> bool {
        self.kind == StoreErrorKind::Conflict
    }

    /// Whether running the whole transaction again would succeed.
    pub fn is_contention(&self) -> bool {
        self.kind == StoreErrorKind::Contention
    }
}

/// A stored JSON document, in canonical form (sorted keys, no white space), the same bytes on
/// every backend.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    crate::json::canonical_of(value).map_err(|error| StoreError::new("encoding a document", error))
}

/// Runs `work` on a thread of its own and waits for it; `Err` is that thread's panic. The
/// store is blocking, and the Postgres client panics when it blocks an async task's thread,
/// which is where start-up, the verifier and the tests often are.
pub fn off_async<T: Send>(work: impl FnOnce() -> T + Send) -> std::thread::Result<T> {
    std::thread::scope(|scope| scope.spawn(work).join())
}

/// What `/healthz` says about the store.
#[derive(Clone, Debug, Serialize)]
pub struct StoreInfo {
    pub backend: &'static str,
    pub path: String,
}

pub trait Store: Send + Sync + 'static {
    fn info(&self) -> StoreInfo;
    /// A read-only transaction over a consistent snapshot.
    fn read(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// A write transaction.
    fn write(&self) -> Result<Box<dyn Tx>, StoreError>;
    /// The domain store traits this backend's transactions implement.
    fn views(&self) -> &'static StoreViews;
    /// How many write transactions the runtime runs at once: one for a store with one writer
    /// (SQLite), more for a database server, which serialises what conflicts itself.
    fn writers(&self) -> usize {
        1
    }
    /// Marks the runtime instance `instance` (a number [`CounterStore::next_instance`] gave)
    /// alive for as long as this store lives, so that other instances on the same database
    /// see it alive ([`Store::instance_alive`]) until this process ends, however it ends.
    /// Called once per runtime, before its workers start; blocking, so never on an async
    /// task's thread.
    fn hold_instance(&self, instance: u64) -> Result<(), StoreError>;
    /// Whether the runtime instance `instance` is still alive: one this store holds, or one a
    /// live process holds on the same database. An instance whose process ended (stopped,
    /// crashed, `kill -9`ed) is not, at once. Blocking, as [`Store::hold_instance`].
    fn instance_alive(&self, instance: u64) -> Result<bool, StoreError>;
    /// Flushes and closes; called once, after the server stopped accepting.
    fn close(&self) -> Result<(), StoreError>;
}

/// One transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub trait Tx: CoreStore + Any + Send {
    /// Marks a point that [`Tx::rollback_to_savepoint`] returns to: the dispatcher sets it
    /// before a handler runs so that a failing handler's writes vanish while the idempotency
    /// record of its failure is still written.
    fn savepoint(&mut self) -> Result<(), StoreError>;
    fn rollback_to_savepoint(&mut self) -> Result<(), StoreError>;
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
    /// The domain stores this transaction can be seen as; see `Tx::domain`.
    fn views(&self) -> &'static StoreViews;
}

/// What every request's transaction offers, whatever the domain.
pub trait CoreStore:
    IdempotencyStore
    + CounterStore
    + ActivityStore
    + HealthStore
    + AdminStore
    + CredentialStore
    + RateLimitStore
{
}

impl<T> CoreStore for T where
    T: IdempotencyStore
        + CounterStore
        + ActivityStore
        + HealthStore
        + AdminStore
        + CredentialStore
        + RateLimitStore
        + ?Sized
{
}

/// Who used an idempotency key, for which operation.
#[derive(Clone, Debug)]
pub struct IdempotencyScope<'a> {
    pub actor_type: &'a str,
    pub actor_id: &'a str,
    pub operation_id: &'a str,
    pub key: &'a str,
}

/// A recorded response, replayed as it was.
#[derive(Clone, Debug, PartialEq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

pub trait IdempotencyStore {
    /// Claims the key for this request before anything else runs: inserts the record under
    /// the scope's primary key and answers `None` (this request executes), or answers the
    /// record a committed request already holds. A concurrent claim of the same key, from this
    /// process or another, waits on the database for the first transaction to end and then
    /// sees its record, so a key executes once.
    fn claim_idempotency(
        &mut self,
        scope: &IdempotencyScope<'_>,
        request_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Writes the answer into the record this transaction claimed.
    fn complete_idempotency(
        &mut self,
        scope: &IdempotencyScope<'_>,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError>;
    /// The committed record of a key, if any.
    fn idempotency_record(
        &self,
        scope: &IdempotencyScope<'_>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}

/// Named counters for ids (`mrun_000001`): allocated inside the transaction, so a rolled-back
/// request consumes nothing.
pub trait CounterStore {
    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError>;
    /// Moves the counter by `count` at once and answers the first of the values it passed:
    /// `count` consecutive ids for one request.
    fn reserve_counter(&mut self, name: &str, count: u64) -> Result<u64, StoreError>;
    fn set_counter(&mut self, name: &str, value: u64) -> Result<(), StoreError>;
    /// A number no other runtime instance on this database was given (never reset), so that
    /// ids a process makes up on its own (correlation ids) are unique across instances.
    fn next_instance(&mut self) -> Result<u64, StoreError>;
}

/// The activity log; see [`ActivityEvent`].
pub trait ActivityStore {
    fn record_activity(&mut self, event: &ActivityEvent) -> Result<(), StoreError>;
    /// The newest `limit` events, newest first.
    fn recent_activity(&self, limit: usize) -> Result<Vec<RecordedActivity>, StoreError>;
    /// Every event of one operation, oldest first.
    fn activity_of(&self, operation_id: &str) -> Result<Vec<RecordedActivity>, StoreError>;
}

/// Counters a domain keeps for `/healthz`, maintained by the database in the transactions
/// that change what they count, so that reading them costs the same at any size.
pub trait HealthStore {
    /// The named counters' values; a counter the store does not keep reads 0.
    fn health_counters(&self, names: &[&str]) -> Result<BTreeMap<String, u64>, StoreError>;
}

pub trait AdminStore {
    /// Deletes every row of every data table.
    fn reset_all(&mut self) -> Result<(), StoreError>;
    /// Every data table, rows in primary-key order, as JSON: the verifier's `store.json`.
    fn dump(&self) -> Result<Value, StoreError>;
}

/// A data table a domain owns: what reset empties and dump writes, in the order dump sorts it.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub name: &'static str,
    /// The `ORDER BY` of the dump: the primary key, or the creation sequence.
    pub order_by: &'static str,
    /// Columns the dump writes as `<hidden>`: salts, hashes and a token's last characters,
    /// which are random and are nobody's business in an artifact.
    pub hidden_columns: &'static [&'static str],
}

impl Table {
    pub const fn new(name: &'static str, order_by: &'static str) -> Table {
        Table {
            name,
            order_by,
            hidden_columns: &[],
        }
    }

    pub const fn hiding(mut self, columns: &'static [&'static str]) -> Table {
        self.hidden_columns = columns;
        self
    }
}

/// The tables that belong to no domain, in reset order.
pub const CORE_TABLES: &[Table] = &[
    Table::new("counters", "name"),
    Table::new("credentials", "id").hiding(&["salt", "hash", "last4"]),
    Table::new("rate_windows", "bucket, subject, window_start"),
    Table::new("operation_events", "seq"),
    Table::new(
        "idempotency_records",
        "actor_type, actor_id, operation_id, idempotency_key",
    ),
];

/// The migrations of the tables that belong to no domain, in order.
pub const CORE_MIGRATIONS: &[&str] = &[
    "0001_counters_idempotency",
    "0002_activity",
    "0003_health_counters",
    "0004_runtime_instances",
    "0005_credentials_and_rate_windows",
    "0006_health_counter_shards",
];
