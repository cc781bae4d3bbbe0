//! Persistence. [`Store`] opens transactions; [`Tx`] is one transaction, and every request runs
//! in exactly one. The domain traits ([`SwapStore`](crate::domain::swap::store::SwapStore), ...)
//! are what handlers call; the SQLite implementation lives in [`sqlite`].
//!
//! A server database later means another implementation of these traits, not a change to a
//! handler.

use serde::Serialize;
use serde_json::Value;

use crate::domain::data_market::store::DataMarketStore;
use crate::domain::swap::store::SwapStore;
use crate::domain::system::store::ActivityStore;

pub mod sqlite;

pub use sqlite::SqliteStore;

/// A store failure. Always a 500 to clients: a request that a client can get wrong never
/// reaches the store in a way that fails.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct StoreError {
    context: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    pub fn new(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError {
            context,
            source: source.into(),
        }
    }
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
    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// The write transaction. Writers are serialised: while one is open, another waits.
    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// Flushes and closes; called once, after the server stopped accepting.
    fn close(&self) -> Result<(), StoreError>;
}

/// One transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub trait Tx:
    SwapStore + DataMarketStore + ActivityStore + IdempotencyStore + CounterStore + AdminStore
{
    /// Marks a point that [`Tx::rollback_to_savepoint`] returns to: the dispatcher sets it
    /// before a handler runs so that a failing handler's writes vanish while the idempotency
    /// record of its failure is still written.
    fn savepoint(&mut self) -> Result<(), StoreError>;
    fn rollback_to_savepoint(&mut self) -> Result<(), StoreError>;
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
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
    fn idempotency_record(
        &self,
        scope: &IdempotencyScope<'_>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    fn put_idempotency_record(
        &mut self,
        scope: &IdempotencyScope<'_>,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError>;
}

/// Named counters for ids (`mrun_000001`): allocated inside the transaction, so a rolled-back
/// request consumes nothing.
pub trait CounterStore {
    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError>;
    fn set_counter(&mut self, name: &str, value: u64) -> Result<(), StoreError>;
}

pub trait AdminStore {
    /// Deletes every row of every table.
    fn reset_all(&mut self) -> Result<(), StoreError>;
    /// Every table, rows in primary-key order, as JSON: the verifier's `store.json`.
    fn dump(&self) -> Result<Value, StoreError>;
}
