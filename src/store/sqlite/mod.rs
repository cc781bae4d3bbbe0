//! The embedded SQLite backend: one file, WAL journal, one write connection, pooled readers.
//!
//! Each request runs in one transaction (`BEGIN IMMEDIATE` for writes), so a request that fails
//! changes nothing. A write transaction holds the database's write lock from its first
//! statement, so two writers, in this process or another on the same file, never interleave:
//! the second waits (busy timeout) and then sees what the first committed. That, not the
//! runtime's writer thread, is what makes an idempotency key run once and a unique index hold.
//!
//! One file per domain implements that domain's store trait on [`SqliteTx`] (`swap.rs`,
//! `data_market.rs`; `core.rs` for what belongs to none), and holds its migrations, whose SQL
//! lives under `migrations/<domain>/`.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::de::DeserializeOwned;

use super::{Store, StoreError, StoreErrorKind, StoreInfo, StoreViews, Table, Tx};

mod core;
mod credentials;
mod data_market;
mod instances;
mod migrate;
mod ml_market;
mod ml_training;
mod swap;

/// WAL pages between automatic checkpoints.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Readers kept open between requests.
const MAX_IDLE_READERS: usize = 8;

/// The domain store traits a SQLite transaction implements: one line per domain.
fn views() -> &'static StoreViews {
    static VIEWS: OnceLock<StoreViews> = OnceLock::new();
    VIEWS.get_or_init(|| {
        StoreViews::default()
            .with(swap::view as super::View<dyn crate::domain::swap::store::SwapStore>)
            .with(
                data_market::view
                    as super::View<dyn crate::domain::data_market::store::DataMarketStore>,
            )
            .with(ml_market::view as super::View<dyn crate::domain::ml_market::store::MlStore>)
    })
}

/// Each domain's migrations on this backend, by domain name: one line per domain.
const MIGRATIONS: super::migrations::BackendMigrations = &[
    ("core", core::MIGRATIONS),
    ("swap", swap::MIGRATIONS),
    ("data_market", data_market::MIGRATIONS),
    ("ml_market", ml_market::MIGRATIONS),
];

#[derive(Debug)]
pub struct SqliteStore {
    pool: Arc<Pool>,
    /// The runtime instances this store keeps alive, and the look at others'.
    instances: instances::Instances,
}

/// The connections of one store. A transaction owns its connection while it runs and gives it
/// back when it ends, so that a transaction borrows nothing from the store.
#[derive(Debug)]
struct Pool {
    path: PathBuf,
    /// The one write connection; `None` while a write transaction holds it.
    writer: Mutex<Option<Connection>>,
    writer_returned: Condvar,
    readers: Mutex<Vec<Connection>>,
    tables: Vec<Table>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date. A file
    /// that a newer binary migrated further is refused.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut writer =
            Connection::open(path).map_err(|e| StoreError::new("opening the database", e))?;
        configure(&writer)?;
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| StoreError::new("enabling WAL", e))?;
        // A checkpoint syncs the WAL and the database inside the commit that triggers it,
        // while every other write waits. At SQLite's default of 1,000 pages that was every
        // ~140 single-intent commits; 10,000 pages (~40 MB of WAL) syncs ten times less often
        // and writes back once a page that several commits touched. Durability is unchanged:
        // a commit is in the WAL either way.
        writer
            .pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
            .map_err(|e| StoreError::new("setting the WAL checkpoint interval", e))?;
        migrate::run(&mut writer, &migrate::plan(crate::domain::ALL)?)?;
        Ok(SqliteStore {
            instances: instances::Instances::beside(path),
            pool: Arc::new(Pool {
                path: path.to_owned(),
                writer: Mutex::new(Some(writer)),
                writer_returned: Condvar::new(),
                readers: Mutex::new(Vec::new()),
                tables: super::migrations::data_tables(crate::domain::ALL),
            }),
        })
    }
}

impl Pool {
    fn open_reader(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::new("opening a reader", e))?;
        configure(&conn)?;
        Ok(conn)
    }

    fn take_writer(&self) -> Connection {
        let mut slot = relock(self.writer.lock());
        loop {
            if let Some(conn) = slot.take() {
                return conn;
            }
            slot = relock(self.writer_returned.wait(slot));
        }
    }

    fn give_back(&self, role: Role, conn: Connection) {
        match role {
            Role::Writer => {
                *relock(self.writer.lock()) = Some(conn);
                self.writer_returned.notify_one();
            }
            Role::Reader => {
                let mut idle = relock(self.readers.lock());
                if idle.len() < MAX_IDLE_READERS {
                    idle.push(conn);
                }
            }
        }
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| StoreError::new("setting the busy timeout", e))?;
    // NORMAL in WAL mode: a crash of the process loses nothing committed; a power loss may lose
    // the last commits but never corrupts the file. Temporary storage in memory: a request's
    // savepoint journals the pages its handler changes, and on a file (SQLite's default past
    // 64 KiB) that was a temporary file opened and closed by every larger write (a profile of
    // `bench ml` showed it).
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 1073741824;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(|e| StoreError::new("configuring the connection", e))
}

/// A poisoned lock means a thread panicked while it held it for a moment (never across a
/// transaction), so what it guards is intact.
fn relock<T>(result: Result<T, PoisonError<T>>) -> T {
    result.unwrap_or_else(PoisonError::into_inner)
}

impl Store for SqliteStore {
    fn info(&self) -> StoreInfo {
        StoreInfo {
            backend: "sqlite",
            path: self.pool.path.display().to_string(),
        }
    }

    fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        let idle = relock(self.pool.readers.lock()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.pool.open_reader()?,
        };
        SqliteTx::begin(self.pool.clone(), Role::Reader, conn, "BEGIN")
    }

    fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        let conn = self.pool.take_writer();
        SqliteTx::begin(self.pool.clone(), Role::Writer, conn, "BEGIN IMMEDIATE")
    }

    fn views(&self) -> &'static StoreViews {
        views()
    }

    /// A lock file beside the database (`<file>-instances/<n>.lock`), held until the store is
    /// dropped: the operating system lets go of it when the process ends, however it ends.
    fn hold_instance(&self, instance: u64) -> Result<(), StoreError> {
        self.instances.hold(instance)
    }

    fn instance_alive(&self, instance: u64) -> Result<bool, StoreError> {
        self.instances.alive(instance)
    }

    fn close(&self) -> Result<(), StoreError> {
        relock(self.pool.readers.lock()).clear();
        let writer = self.pool.take_writer();
        let checkpoint = writer
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(|e| StoreError::new("checkpointing the WAL", e));
        self.pool.give_back(Role::Writer, writer);
        checkpoint
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
}

/// One SQLite transaction; the domain store traits are implemented on it, one file each.
pub struct SqliteTx {
    pool: Arc<Pool>,
    role: Role,
    /// Present until the transaction is dropped.
    conn: Option<Connection>,
    open: bool,
}

impl SqliteTx {
    fn begin(
        pool: Arc<Pool>,
        role: Role,
        conn: Connection,
        begin: &str,
    ) -> Result<Box<dyn Tx>, StoreError> {
        let mut tx = SqliteTx {
            pool,
            role,
            conn: Some(conn),
            open: false,
        };
        tx.conn()
            .execute_batch(begin)
            .map_err(sql_error("beginning a transaction"))?;
        tx.open = true;
        Ok(Box::new(tx))
    }

    pub(crate) fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("the connection is held until drop")
    }

    /// The tables reset and dump cover.
    fn tables(&self) -> &[Table] {
        &self.pool.tables
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if self.open
            && let Err(error) = conn.execute_batch("ROLLBACK")
        {
            tracing::error!(%error, "rolling back a transaction failed");
        }
        self.pool.give_back(self.role, conn);
    }
}

impl Tx for SqliteTx {
    fn savepoint(&mut self) -> Result<(), StoreError> {
        self.conn()
            .execute_batch("SAVEPOINT handler")
            .map_err(sql_error("setting a savepoint"))
    }

    fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        self.conn()
            .execute_batch("ROLLBACK TO handler; RELEASE handler")
            .map_err(sql_error("rolling back to the savepoint"))
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.open = false;
        self.conn()
            .execute_batch("COMMIT")
            .map_err(sql_error("committing"))
    }

    fn views(&self) -> &'static StoreViews {
        views()
    }
}

/// The transaction behind a domain's view: a view is only ever given the transaction it came
/// from.
fn sqlite_tx<'a>(tx: &'a mut (dyn Any + 'static)) -> &'a mut SqliteTx {
    tx.downcast_mut::<SqliteTx>()
        .expect("a SQLite view is given a SQLite transaction")
}

/// A SQL failure, as a store error of its kind: a refused unique or primary key is a
/// [`StoreErrorKind::Conflict`].
pub(crate) fn sql_error(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |error| {
        let kind = match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation)
                if matches!(
                    error.sqlite_error().map(|e| e.extended_code),
                    Some(
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    )
                ) =>
            {
                StoreErrorKind::Conflict
            }
            _ => StoreErrorKind::Other,
        };
        StoreError::of_kind(kind, context, error)
    }
}

/// Reads a stored JSON document.
pub(crate) fn decode<T: DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(error))
    })
}

pub(crate) use super::encode;

/// A page size as SQLite takes it; every limit the API accepts fits.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Query helpers the domain stores share: most tables hold one JSON document per row.
impl SqliteTx {
    /// The documents in the first column of every row.
    pub(crate) fn documents<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        context: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self
            .conn()
            .prepare_cached(sql)
            .map_err(sql_error(context))?;
        let rows = statement
            .query_map(params, |row| decode::<T>(row.get_ref(0)?.as_str()?))
            .map_err(sql_error(context))?;
        rows.collect::<Result<Vec<T>, _>>()
            .map_err(sql_error(context))
    }

    /// The document in the first column of the one row, if there is one.
    pub(crate) fn document<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        context: &'static str,
    ) -> Result<Option<T>, StoreError> {
        self.conn()
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params, |row| decode::<T>(row.get_ref(0)?.as_str()?))
                    .optional()
            })
            .map_err(sql_error(context))
    }

    pub(crate) fn execute(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        context: &'static str,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map(drop)
            .map_err(sql_error(context))
    }

    /// A `SELECT COUNT(*) ...`.
    pub(crate) fn count(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<u64, StoreError> {
        self.conn()
            .query_row(sql, params, |row| row.get(0))
            .map_err(sql_error("counting rows"))
    }
}
