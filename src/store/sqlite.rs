//! The embedded SQLite store: one file, WAL journal, one writer at a time, pooled readers.
//!
//! Each request runs in one transaction (`BEGIN IMMEDIATE` for writes), so a request that fails
//! changes nothing. Writers are serialised by a mutex around the single write connection, which
//! is also what makes concurrent requests with one idempotency key run exactly once: the second
//! waits, then finds the first one's record.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::json::canonical_of;

use super::{
    AdminStore, CounterStore, IdempotencyRecord, IdempotencyScope, IdempotencyStore, Store,
    StoreError, StoreInfo, Tx,
};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_core_and_swap.sql"),
    include_str!("migrations/0002_activity_and_data_market.sql"),
    include_str!("migrations/0003_partial_creator_index.sql"),
];

/// Tables in dump and reset order (children before parents for reset).
const TABLES: &[(&str, &str)] = &[
    ("counters", "name"),
    ("operation_events", "seq"),
    ("data_contract_timeline", "contract_id, seq"),
    ("data_contract_offers", "contract_id, offer_id"),
    ("data_contracts", "seq"),
    ("data_offers", "seq"),
    ("data_round_intents", "seq"),
    ("training_rounds", "seq"),
    ("training_model", "id"),
    (
        "idempotency_records",
        "actor_type, actor_id, operation_id, idempotency_key",
    ),
    ("cycle_proposal_participants", "proposal_id, position"),
    ("cycle_proposals", "id"),
    ("marketplace_asset_values", "asset_id"),
    ("marketplace_matching_runs", "seq"),
    ("swap_intents", "id"),
];

/// WAL pages between automatic checkpoints.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Readers kept open between requests.
const MAX_IDLE_READERS: usize = 8;

#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let writer =
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
        migrate(&writer)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::new("opening a reader", e))?;
        configure(&conn)?;
        Ok(conn)
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| StoreError::new("setting the busy timeout", e))?;
    // NORMAL in WAL mode: a crash of the process loses nothing committed; a power loss may lose
    // the last commits but never corrupts the file.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 1073741824;",
    )
    .map_err(|e| StoreError::new("configuring the connection", e))
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let applied: usize = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| StoreError::new("reading the schema version", e))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let batch = format!("BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;", index + 1);
        conn.execute_batch(&batch)
            .map_err(|e| StoreError::new("migrating the schema", e))?;
    }
    Ok(())
}

/// A poisoned lock means a handler panicked mid-request; its transaction was rolled back when
/// the guard dropped, so the connection is safe to reuse.
fn relock<T>(result: Result<T, PoisonError<T>>) -> T {
    result.unwrap_or_else(PoisonError::into_inner)
}

impl Store for SqliteStore {
    fn info(&self) -> StoreInfo {
        StoreInfo {
            backend: "sqlite",
            path: self.path.display().to_string(),
        }
    }

    fn read(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        let idle = relock(self.readers.lock()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        conn.execute_batch("BEGIN")
            .map_err(|e| StoreError::new("beginning a read", e))?;
        Ok(Box::new(SqliteTx {
            conn: TxConn::Reader {
                store: self,
                conn: Some(conn),
            },
            open: true,
        }))
    }

    fn write(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        let guard = relock(self.writer.lock());
        guard
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| StoreError::new("beginning a write", e))?;
        Ok(Box::new(SqliteTx {
            conn: TxConn::Writer(guard),
            open: true,
        }))
    }

    fn close(&self) -> Result<(), StoreError> {
        relock(self.readers.lock()).clear();
        let writer = relock(self.writer.lock());
        writer
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(|e| StoreError::new("checkpointing the WAL", e))
    }
}

enum TxConn<'a> {
    Writer(MutexGuard<'a, Connection>),
    Reader {
        store: &'a SqliteStore,
        conn: Option<Connection>,
    },
}

impl Deref for TxConn<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            TxConn::Writer(guard) => guard,
            TxConn::Reader { conn, .. } => conn.as_ref().expect("reader present until drop"),
        }
    }
}

impl Drop for TxConn<'_> {
    fn drop(&mut self) {
        if let TxConn::Reader { store, conn } = self {
            let mut idle = relock(store.readers.lock());
            if idle.len() < MAX_IDLE_READERS {
                idle.extend(conn.take());
            }
        }
    }
}

/// One SQLite transaction; the domain store traits are implemented on it.
pub struct SqliteTx<'a> {
    conn: TxConn<'a>,
    open: bool,
}

impl SqliteTx<'_> {
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open
            && let Err(error) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::error!(%error, "rolling back a transaction failed");
        }
    }
}

pub(crate) fn sql_error(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |error| StoreError::new(context, error)
}

/// Reads a stored JSON document.
pub(crate) fn decode<T: DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(error))
    })
}

/// Writes a JSON document in canonical form.
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    canonical_of(value).map_err(|error| StoreError::new("encoding a document", error))
}

/// A page size as SQLite takes it; every limit the API accepts fits.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Query helpers the domain stores share: most tables hold one JSON document per row.
impl SqliteTx<'_> {
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

impl Tx for SqliteTx<'_> {
    fn savepoint(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("SAVEPOINT handler")
            .map_err(sql_error("setting a savepoint"))
    }

    fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("ROLLBACK TO handler; RELEASE handler")
            .map_err(sql_error("rolling back to the savepoint"))
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.open = false;
        self.conn
            .execute_batch("COMMIT")
            .map_err(sql_error("committing"))
    }
}

impl IdempotencyStore for SqliteTx<'_> {
    fn idempotency_record(
        &self,
        scope: &IdempotencyScope<'_>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.conn()
            .prepare_cached(
                "SELECT request_hash, status, body FROM idempotency_records
                 WHERE actor_type = ?1 AND actor_id = ?2 AND operation_id = ?3 AND idempotency_key = ?4",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(
                        params![scope.actor_type, scope.actor_id, scope.operation_id, scope.key],
                        |row| {
                            Ok(IdempotencyRecord {
                                request_hash: row.get(0)?,
                                status: row.get(1)?,
                                body: row.get(2)?,
                            })
                        },
                    )
                    .optional()
            })
            .map_err(sql_error("reading an idempotency record"))
    }

    fn put_idempotency_record(
        &mut self,
        scope: &IdempotencyScope<'_>,
        record: &IdempotencyRecord,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO idempotency_records
                 (actor_type, actor_id, operation_id, idempotency_key, request_hash, status, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    scope.actor_type,
                    scope.actor_id,
                    scope.operation_id,
                    scope.key,
                    record.request_hash,
                    record.status,
                    record.body
                ])
            })
            .map(drop)
            .map_err(sql_error("writing an idempotency record"))
    }
}

impl CounterStore for SqliteTx<'_> {
    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = value + 1
                 RETURNING value",
            )
            .and_then(|mut statement| statement.query_row(params![name], |row| row.get(0)))
            .map_err(sql_error("allocating a counter"))
    }

    fn set_counter(&mut self, name: &str, value: u64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![name, value],
            )
            .map(drop)
            .map_err(sql_error("setting a counter"))
    }
}

impl AdminStore for SqliteTx<'_> {
    fn reset_all(&mut self) -> Result<(), StoreError> {
        for (table, _) in TABLES {
            self.conn()
                .execute(&format!("DELETE FROM {table}"), [])
                .map_err(sql_error("resetting a table"))?;
        }
        Ok(())
    }

    fn dump(&self) -> Result<Value, StoreError> {
        let mut tables = Map::new();
        let mut sorted: Vec<_> = TABLES.to_vec();
        sorted.sort_unstable();
        for (table, order) in sorted {
            let mut statement = self
                .conn()
                .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
                .map_err(sql_error("dumping a table"))?;
            let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
            let rows = statement
                .query_map([], |row| {
                    let mut object = Map::new();
                    for (index, column) in columns.iter().enumerate() {
                        object.insert(column.clone(), sql_value_to_json(row.get_ref(index)?));
                    }
                    Ok(Value::Object(object))
                })
                .and_then(Iterator::collect::<Result<Vec<Value>, _>>)
                .map_err(sql_error("dumping a table"))?;
            tables.insert(table.to_owned(), Value::Array(rows));
        }
        Ok(Value::Object(tables))
    }
}

/// Columns holding JSON documents are dumped as JSON, not as strings, so that the dump reads
/// like the API.
fn sql_value_to_json(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            match text.as_bytes().first() {
                Some(b'{' | b'[') => {
                    serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
                }
                _ => Value::String(text.into_owned()),
            }
        }
        ValueRef::Blob(bytes) => Value::String(hex::encode(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> IdempotencyScope<'static> {
        IdempotencyScope {
            actor_type: "partner",
            actor_id: "p1",
            operation_id: "x.y",
            key: "k1",
        }
    }

    #[test]
    fn dropped_write_changes_nothing_and_commit_persists_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path).unwrap();
        {
            let mut tx = store.write().unwrap();
            assert_eq!(tx.next_counter("c").unwrap(), 1);
            // dropped: rolled back
        }
        let mut tx = store.write().unwrap();
        assert_eq!(tx.next_counter("c").unwrap(), 1);
        let record = IdempotencyRecord {
            request_hash: "h".into(),
            status: 200,
            body: "{}".into(),
        };
        tx.put_idempotency_record(&scope(), &record).unwrap();
        tx.commit().unwrap();
        store.close().unwrap();
        drop(store);

        let store = SqliteStore::open(&path).unwrap();
        let tx = store.read().unwrap();
        assert_eq!(tx.idempotency_record(&scope()).unwrap(), Some(record));
        let dump = tx.dump().unwrap();
        assert_eq!(dump["counters"][0]["value"], 1);
    }

    #[test]
    fn savepoint_rollback_keeps_earlier_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let mut tx = store.write().unwrap();
        tx.set_counter("kept", 5).unwrap();
        tx.savepoint().unwrap();
        tx.set_counter("undone", 9).unwrap();
        tx.rollback_to_savepoint().unwrap();
        tx.commit().unwrap();
        let dump = store.read().unwrap().dump().unwrap();
        assert_eq!(dump["counters"].as_array().unwrap().len(), 1);
        assert_eq!(dump["counters"][0]["name"], "kept");
    }
}
