//! The Postgres backend: several runtime instances on one database.
//!
//! Each request runs in one transaction, as on SQLite. What SQLite gets from its one write
//! lock, Postgres gets from its own rules, so that it holds whichever instance writes:
//! - a write transaction is `READ COMMITTED`, and every row it reads by key it reads
//!   `FOR UPDATE`, so two writers of one row take turns and the second sees what the first
//!   committed (no lost update);
//! - an idempotency key is claimed by `INSERT ... ON CONFLICT DO NOTHING` under its primary
//!   key, which waits for a concurrent claim to end;
//! - id counters are rows moved by an upsert in the request's transaction: a rolled-back
//!   request gives its number back, and the next writer of the counter waits for the commit;
//! - a matching run takes an advisory lock for its transaction and reads one statement's
//!   snapshot of the intents;
//! - a read-only transaction is `REPEATABLE READ READ ONLY`: one snapshot for the request;
//! - a runtime instance is alive while its session advisory lock is held, on a connection of
//!   the store's own (`instances.rs`): what a dead instance's workers held is settled by others.
//!
//! One file per domain implements that domain's store trait on [`PostgresTx`], as for SQLite,
//! with its SQL under `migrations/<domain>/`. Text columns are `COLLATE "C"`, so that ordering
//! and cursors compare bytes as SQLite does, whatever the database's locale.
//!
//! The client is the blocking `postgres` crate (the store traits are blocking, and are called
//! from the writer thread and the blocking pool, never from an async task), pooled by `r2d2`.

use std::any::Any;
use std::cell::{RefCell, RefMut};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};
use serde::de::DeserializeOwned;

use super::{Store, StoreError, StoreErrorKind, StoreInfo, StoreViews, Table, Tx};

mod core;
mod credentials;
mod data_market;
mod instances;
mod migrate;
mod ml_market;
mod ml_training;
mod scratch;
mod swap;
mod tls;

pub use scratch::ScratchDatabase;

/// Connections one instance keeps at most: its writers, and readers beside them.
const POOL_SIZE: u32 = 24;

/// Write transactions one instance runs at once. Each spends most of its time waiting for the
/// server's answers; rows two of them both write serialise on the server.
const WRITERS: usize = 16;

/// How long a request waits for a connection before it fails.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock a matching run holds for its transaction.
pub(crate) const MATCHING_LOCK: i64 = 0x6d72_0001;

/// The advisory lock a data-market matching run holds for its transaction, so that two runs
/// never read the same offers as free.
pub(crate) const OFFER_MATCHING_LOCK: i64 = 0x6d72_0004;

/// The advisory lock held by a transaction that makes an ML dataset round current.
pub(crate) const CURRENT_ROUND_LOCK: i64 = 0x6d72_0005;

/// The advisory lock migrations hold for their session, so that instances starting at once
/// migrate one after another.
const MIGRATION_LOCK: i64 = 0x6d72_0003;

/// The domain store traits a Postgres transaction implements: one line per domain.
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

/// A client of the database at `url` (libpq style; TLS when it says `sslmode=require`), for
/// what is not a store: a test's look at the database, a scratch database's making.
pub fn connect(url: &str) -> Result<Client, StoreError> {
    tls::Target::parse(url)?.connect_or_say()
}

/// Whether `db` names a Postgres database (`postgres://` or `postgresql://`) rather than a
/// SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// `url` without its password, for messages and `/healthz`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{shown}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

pub struct PostgresStore {
    /// `None` only while the store is dropped.
    pool: Option<r2d2::Pool<Manager>>,
    shown_url: String,
    tables: Arc<[Table]>,
    /// The runtime instances this store keeps alive, and the look at others'.
    instances: instances::Instances,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.shown_url)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (libpq style) and brings its schema up to date. A
    /// database that a newer binary migrated further is refused.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let shown_url = redacted(url);
        let target = tls::Target::parse(url)?;
        migrate::migrate(&target)?;
        let instances = instances::Instances::new(target.clone());
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(CONNECTION_TIMEOUT)
            // A broken connection is told by the client itself; a probe on every checkout
            // would cost each transaction a round trip more.
            .test_on_check_out(false)
            .build(Manager { target })
            .map_err(|error| StoreError::new("connecting to Postgres", error))?;
        Ok(PostgresStore {
            pool: Some(pool),
            shown_url,
            tables: super::migrations::data_tables(crate::domain::ALL).into(),
            instances,
        })
    }

    fn begin(&self, role: Role) -> Result<Box<dyn Tx>, StoreError> {
        let conn = self
            .pool
            .as_ref()
            .expect("the pool lives until drop")
            .get()
            .map_err(|error| StoreError::new("taking a database connection", error))?;
        let mut tx = PostgresTx {
            conn: RefCell::new(conn),
            role,
            open: false,
            tables: Arc::clone(&self.tables),
        };
        let begin = match role {
            Role::Writer => "BEGIN ISOLATION LEVEL READ COMMITTED",
            Role::Reader => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        tx.batch(begin, "beginning a transaction")?;
        tx.open = true;
        Ok(Box::new(tx))
    }
}

/// A connection closes by blocking on its own small runtime, which must not happen on an
/// async task's thread: a store dropped there (the end of a test, the verifier) closes its
/// connections, the pool's and the one holding the instance locks, on a thread of its own.
impl Drop for PostgresStore {
    fn drop(&mut self) {
        let instances = self.instances.take();
        if let Some(pool) = self.pool.take() {
            let closed = super::off_async(move || drop((pool, instances)));
            if closed.is_err() {
                tracing::error!("closing the Postgres connections panicked");
            }
        }
    }
}

impl Store for PostgresStore {
    fn info(&self) -> StoreInfo {
        StoreInfo {
            backend: "postgres",
            path: self.shown_url.clone(),
        }
    }

    fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.begin(Role::Reader)
    }

    fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.begin(Role::Writer)
    }

    fn views(&self) -> &'static StoreViews {
        views()
    }

    fn writers(&self) -> usize {
        WRITERS
    }

    /// A session advisory lock `(0x6d72, instance)` on a connection of the store's own, held
    /// until the store is dropped: the database lets go of it when the process's connection
    /// closes, however the process ends.
    fn hold_instance(&self, instance: u64) -> Result<(), StoreError> {
        self.instances.hold(instance)
    }

    /// Ours, or one whose lock another session holds (a try of the lock that succeeds is let
    /// go at once).
    fn instance_alive(&self, instance: u64) -> Result<bool, StoreError> {
        self.instances.alive(instance)
    }

    fn close(&self) -> Result<(), StoreError> {
        // Committed is durable; the pool's connections close as the store is dropped.
        Ok(())
    }
}

/// One connection with the statements it prepared: a statement is parsed once per
/// connection, then each use is one round trip.
pub(crate) struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// How the pool opens and checks connections.
#[derive(Debug)]
struct Manager {
    target: tls::Target,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.target.connect()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.client.is_closed()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
}

/// One Postgres transaction; the domain store traits are implemented on it, one file each.
/// Dropping it without commit rolls back and gives the connection back to the pool.
pub struct PostgresTx {
    conn: RefCell<r2d2::PooledConnection<Manager>>,
    role: Role,
    open: bool,
    tables: Arc<[Table]>,
}

impl Drop for PostgresTx {
    fn drop(&mut self) {
        if self.open
            && let Err(error) = self.conn.get_mut().client.batch_execute("ROLLBACK")
        {
            tracing::error!(%error, "rolling back a transaction failed");
        }
    }
}

impl Tx for PostgresTx {
    fn savepoint(&mut self) -> Result<(), StoreError> {
        self.batch("SAVEPOINT handler", "setting a savepoint")
    }

    fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        self.batch(
            "ROLLBACK TO SAVEPOINT handler; RELEASE SAVEPOINT handler",
            "rolling back to the savepoint",
        )
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        self.open = false;
        self.batch("COMMIT", "committing")
    }

    fn views(&self) -> &'static StoreViews {
        views()
    }
}

/// The transaction behind a domain's view: a view is only ever given the transaction it came
/// from.
fn postgres_tx<'a>(tx: &'a mut (dyn Any + 'static)) -> &'a mut PostgresTx {
    tx.downcast_mut::<PostgresTx>()
        .expect("a Postgres view is given a Postgres transaction")
}

/// A SQL failure, as a store error of its kind: a refused unique key is a
/// [`StoreErrorKind::Conflict`]; a serialisation failure or a deadlock, which a new attempt
/// of the whole transaction resolves, is [`StoreErrorKind::Contention`].
pub(crate) fn sql_error(context: &'static str) -> impl Fn(postgres::Error) -> StoreError {
    move |error| {
        let kind = match error.code() {
            Some(code) if *code == SqlState::UNIQUE_VIOLATION => StoreErrorKind::Conflict,
            Some(code)
                if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                StoreErrorKind::Contention
            }
            _ => StoreErrorKind::Other,
        };
        StoreError::of_kind(kind, context, error)
    }
}

/// Reads a stored JSON document.
pub(crate) fn decode<T: DeserializeOwned>(
    text: &str,
    context: &'static str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::new(context, error))
}

pub(crate) use super::encode;

/// A count or sequence number as Postgres stores it (`BIGINT`); every one the store keeps
/// fits.
pub(crate) fn big(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A `BIGINT` the store wrote from a `u64`.
pub(crate) fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// A page size as Postgres takes it.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Query helpers the domain stores share: most tables hold one JSON document per row.
impl PostgresTx {
    fn conn(&self) -> RefMut<'_, r2d2::PooledConnection<Manager>> {
        self.conn.borrow_mut()
    }

    fn batch(&self, sql: &str, context: &'static str) -> Result<(), StoreError> {
        self.conn()
            .client
            .batch_execute(sql)
            .map_err(sql_error(context))
    }

    /// The tables reset and dump cover.
    fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// ` FOR UPDATE` in a write transaction: a row read by key there is about to be
    /// rewritten, and a concurrent writer of it waits for this transaction to end.
    pub(crate) fn for_update(&self) -> &'static str {
        match self.role {
            Role::Writer => " FOR UPDATE",
            Role::Reader => "",
        }
    }

    /// Runs `run` with the connection's client and `sql` prepared on it (once per connection).
    fn with_statement<T>(
        &self,
        sql: &str,
        context: &'static str,
        run: impl FnOnce(&mut Client, &Statement) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut guard = self.conn();
        let conn: &mut Connection = &mut guard;
        let statement = match conn.statements.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = conn.client.prepare(sql).map_err(sql_error(context))?;
                conn.statements.insert(sql.to_owned(), statement.clone());
                statement
            }
        };
        run(&mut conn.client, &statement).map_err(sql_error(context))
    }

    /// Every row of a query.
    pub(crate) fn rows(
        &self,
        sql: &str,
        params: Params<'_>,
        context: &'static str,
    ) -> Result<Vec<Row>, StoreError> {
        self.with_statement(sql, context, |client, statement| {
            client.query(statement, params)
        })
    }

    /// The one row of a query, if there is one.
    pub(crate) fn row(
        &self,
        sql: &str,
        params: Params<'_>,
        context: &'static str,
    ) -> Result<Option<Row>, StoreError> {
        self.with_statement(sql, context, |client, statement| {
            client.query_opt(statement, params)
        })
    }

    /// Runs a statement and answers how many rows it changed.
    pub(crate) fn execute(
        &self,
        sql: &str,
        params: Params<'_>,
        context: &'static str,
    ) -> Result<u64, StoreError> {
        self.with_statement(sql, context, |client, statement| {
            client.execute(statement, params)
        })
    }

    /// The documents in the first column of every row.
    pub(crate) fn documents<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: Params<'_>,
        context: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        self.rows(sql, params, context)?
            .iter()
            .map(|row| decode(row.get::<_, &str>(0), context))
            .collect()
    }

    /// The document in the first column of the one row, if there is one.
    pub(crate) fn document<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: Params<'_>,
        context: &'static str,
    ) -> Result<Option<T>, StoreError> {
        self.row(sql, params, context)?
            .map(|row| decode(row.get::<_, &str>(0), context))
            .transpose()
    }

    /// A `SELECT COUNT(*) ...`.
    pub(crate) fn count(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        let row = self.row(sql, params, "counting rows")?;
        Ok(row.map_or(0, |row| unsigned(row.get::<_, i64>(0))))
    }

    /// A `seq` column of the one row, if there is one.
    pub(crate) fn seq(
        &self,
        sql: &str,
        params: Params<'_>,
        context: &'static str,
    ) -> Result<Option<u64>, StoreError> {
        Ok(self
            .row(sql, params, context)?
            .map(|row| unsigned(row.get::<_, i64>(0))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redacted("postgres://app:s3cret@db.example:5432/market?sslmode=require"),
            "postgres://app:***@db.example:5432/market?sslmode=require"
        );
        assert_eq!(
            redacted("postgres://app@localhost/market"),
            "postgres://app@localhost/market"
        );
        assert_eq!(
            redacted("postgresql://localhost/m?host=/tmp"),
            "postgresql://localhost/m?host=/tmp"
        );
        assert!(is_url("postgresql://x/y") && is_url("postgres://x") && !is_url("x.db"));
    }
}
