//! The declaration of a domain: everything the runtime, the store backends, the contract
//! generator and the console take from it, in one value per domain folder. The runtime keeps
//! one list of them (`crate::domain::ALL`); nothing else enumerates domains.

use std::any::TypeId;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;

use crate::clock::Clock;
use crate::contracts::schemas::NamedSchema;
use crate::error::ApiError;
use crate::store::{Store, Table};

use super::{Env, Handler};

/// One marketplace domain (or `system`, which belongs to none).
#[derive(Clone, Copy)]
pub struct Domain {
    /// Its name: the folder under `src/domain/`, and the key of its migrations in each store
    /// backend.
    pub name: &'static str,
    /// Its operations' handlers, by manifest operation id.
    pub handlers: &'static [(&'static str, Handler)],
    /// The JSON Schemas of its request and response types.
    pub schemas: fn() -> Vec<NamedSchema>,
    /// Its store trait, which every backend must implement; `None` when it keeps no tables.
    pub store: Option<StoreTrait>,
    /// Its migrations, in order, by name; each backend holds the SQL of each under
    /// `src/store/<backend>/migrations/<domain>/<name>.sql`.
    pub migrations: &'static [&'static str],
    /// Its tables, in reset order (children before parents): what dev reset empties and the
    /// verifier's dump shows.
    pub tables: &'static [Table],
    /// The counters it reports under `/healthz`'s `summary`, maintained by its store.
    pub health_counters: &'static [&'static str],
    /// What the web console needs of its rules, if it has a console section.
    pub console: Option<ConsoleSection>,
    /// The background workers it runs beside the server.
    pub workers: fn(&Env) -> Vec<WorkerSpec>,
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Domain {
    /// No workers: what most domains run.
    pub fn no_workers(_: &Env) -> Vec<WorkerSpec> {
        Vec::new()
    }
}

/// A domain's store trait, as a type the backends' views are checked against.
#[derive(Clone, Copy, Debug)]
pub struct StoreTrait {
    pub name: &'static str,
    pub id: fn() -> TypeId,
}

impl StoreTrait {
    /// The store trait object type `S` (`dyn SwapStore`).
    pub const fn of<S: ?Sized + 'static>(name: &'static str) -> StoreTrait {
        StoreTrait {
            name,
            id: TypeId::of::<S>,
        }
    }
}

/// A domain's part of the console's contract document: the operations of its manifest tag,
/// and the facts of its rules the page needs (status tables, what blocks an action), computed
/// from the rules themselves so that the page holds no copy of them.
#[derive(Clone, Copy, Debug)]
pub struct ConsoleSection {
    /// The manifest tag of the operations the console drives.
    pub tag: &'static str,
    /// The rule facts, as a JSON object merged into the document.
    pub facts: fn() -> Result<Value, ApiError>,
}

/// What a worker settles before the server accepts; its error stops the start.
pub type BeforeServing = fn(&WorkerContext) -> Result<(), String>;

/// A background worker: a function run on a thread of its own from before the server
/// accepts until shutdown, which it must notice ([`WorkerContext::stopping`]) and return on.
/// It reaches the store only through transactions of its own, never a request's.
pub struct WorkerSpec {
    pub name: String,
    /// Run to its end before the server accepts (and before `run` starts): what a worker
    /// must settle of what the last process left (runs it was training when it died). A
    /// failure stops the server from starting.
    pub before_serving: Option<BeforeServing>,
    pub run: Box<dyn FnOnce(WorkerContext) + Send>,
}

impl std::fmt::Debug for WorkerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a worker gets.
#[derive(Clone)]
pub struct WorkerContext {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// The number of the runtime instance it works for: what it records on the work it
    /// claims, so that other instances can tell work whose instance died
    /// (`Store::instance_alive`) from work still in hand.
    pub instance: u64,
    stop: Arc<StopSignal>,
}

impl WorkerContext {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        stop: Arc<StopSignal>,
        instance: u64,
    ) -> WorkerContext {
        WorkerContext {
            store,
            clock,
            instance,
            stop,
        }
    }

    /// Whether the server is shutting down: a worker finishes or puts back what it holds and
    /// returns.
    pub fn stopping(&self) -> bool {
        *self
            .stop
            .stopping
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps up to `timeout`, waking at once when shutdown begins; answers whether it has.
    pub fn wait(&self, timeout: Duration) -> bool {
        let stopping = self
            .stop
            .stopping
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (stopping, _) = self
            .stop
            .changed
            .wait_timeout_while(stopping, timeout, |stopping| !*stopping)
            .unwrap_or_else(PoisonError::into_inner);
        *stopping
    }
}

/// Shutdown, as the workers see it.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    stopping: Mutex<bool>,
    changed: Condvar,
}

impl StopSignal {
    pub(crate) fn stop(&self) {
        *self.stopping.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }
}
