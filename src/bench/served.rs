//! The runtime under a bench: started in process on `127.0.0.1:0`, as one instance or several
//! on one store (each with its own store handle, connections and writers, as separate
//! processes would have), on a SQLite file in a temporary folder, a given file, or a database
//! made for the bench on a given Postgres server; driven by a client on a runtime of its own
//! (as a separate process would be), and stopped when the bench ends.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::http::{AppState, RuntimeConfig, RuntimeOptions};
use crate::store::postgres::ScratchDatabase;
use crate::store::{Location, PostgresStore, SqliteStore, Store};

/// Running servers and the folder their files live in.
pub struct Served {
    /// The first instance's address.
    pub addr: SocketAddr,
    /// Every instance's, in start order.
    pub addrs: Vec<SocketAddr>,
    /// The SQLite file, when the store is one.
    db: Option<PathBuf>,
    backend: &'static str,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    serving: Vec<tokio::task::JoinHandle<Result<(), Error>>>,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    /// Dropped after the servers: the Postgres database made for this bench.
    database: Option<ScratchDatabase>,
}

impl Served {
    /// One instance with `--dev` routes on the SQLite file `db` (a temporary file when `None`).
    pub fn start(
        db: Option<PathBuf>,
        clock: Arc<dyn Clock>,
        options: RuntimeOptions,
    ) -> Result<Served, Error> {
        Served::start_instances(db.map(Location::Sqlite).as_ref(), 1, clock, options)
    }

    /// `instances` instances with `--dev` routes on one store: the SQLite file or Postgres
    /// server of `db` (a new database on it, dropped at the end), a temporary SQLite file when
    /// `None`.
    pub fn start_instances(
        db: Option<&Location>,
        instances: usize,
        clock: Arc<dyn Clock>,
        options: RuntimeOptions,
    ) -> Result<Served, Error> {
        let dir = tempfile::tempdir().map_err(|e| io("creating a temporary directory", e))?;
        let (database, sqlite) = match db {
            Some(Location::Postgres(url)) => {
                (Some(ScratchDatabase::create(url, "marketref_bench")?), None)
            }
            Some(Location::Sqlite(path)) => (None, Some(path.clone())),
            None => (None, Some(dir.path().join("bench.db"))),
        };
        let options = RuntimeOptions {
            data_dir: options.data_dir.or_else(|| Some(dir.path().join("data"))),
            ..options
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("bench-server")
            .build()
            .map_err(|e| io("starting the server runtime", e))?;
        let mut served = Served {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            addrs: Vec::new(),
            db: sqlite.clone(),
            backend: if database.is_some() {
                "postgres"
            } else {
                "sqlite"
            },
            stop: Vec::new(),
            serving: Vec::new(),
            runtime,
            dir,
            database,
        };
        for _ in 0..instances.max(1) {
            let store: Arc<dyn Store> = match (&served.database, &sqlite) {
                (Some(database), _) => Arc::new(PostgresStore::open(database.url())?),
                (None, Some(path)) => Arc::new(SqliteStore::open(path)?),
                (None, None) => unreachable!("a store is a database or a file"),
            };
            let state = AppState::new(RuntimeConfig {
                store,
                clock: clock.clone(),
                dev: true,
                options: options.clone(),
            })?;
            let listener = served
                .runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .map_err(|e| io("binding 127.0.0.1:0", e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| io("reading the bound address", e))?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            served.serving.push(
                served
                    .runtime
                    .spawn(crate::http::run(listener, state, async {
                        let _ = stopped.await;
                    })),
            );
            served.stop.push(stop);
            served.addrs.push(addr);
        }
        served.addr = served.addrs[0];
        Ok(served)
    }

    /// The SQLite file the servers write, when the store is one.
    pub fn db(&self) -> Option<&Path> {
        self.db.as_deref()
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// A folder that lives as long as the servers.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the client `drive` to its end on a single-threaded runtime of its own, then stops
    /// the server; the client's answer, or the first failure of either.
    pub fn drive_then_stop<T, F: Future<Output = Result<T, Error>>>(
        self,
        drive: impl FnOnce(SocketAddr) -> F,
    ) -> Result<T, Error> {
        let addr = self.addr;
        self.drive_all_then_stop(|_| drive(addr))
    }

    /// As [`Served::drive_then_stop`], given every instance's address.
    pub fn drive_all_then_stop<T, F: Future<Output = Result<T, Error>>>(
        self,
        drive: impl FnOnce(Vec<SocketAddr>) -> F,
    ) -> Result<T, Error> {
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| io("starting the client runtime", e))?;
        let report = client.block_on(drive(self.addrs.clone()));
        // Its idle connections would hold the graceful shutdown open.
        drop(client);
        for stop in self.stop {
            let _ = stop.send(());
        }
        let mut served = Ok(());
        for serving in self.serving {
            let ended = self
                .runtime
                .block_on(serving)
                .map_err(|e| Error::new(ErrorKind::Io, format!("server task failed: {e}")))
                .and_then(|ended| ended);
            served = served.and(ended);
        }
        drop(self.runtime);
        drop(self.dir);
        drop(self.database);
        let report = report?;
        served?;
        Ok(report)
    }
}

fn io(doing: &str, error: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("bench: {doing}: {error}")).with_source(error)
}
