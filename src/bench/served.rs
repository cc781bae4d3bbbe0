//! The runtime under a bench: started in process on `127.0.0.1:0` with a SQLite store in a
//! temporary folder (or a given file), driven by a client on a runtime of its own (as a separate
//! process would be), and stopped when the bench ends.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::http::{AppState, RuntimeConfig, RuntimeOptions};
use crate::store::SqliteStore;

/// A running server and the folder its files live in.
pub struct Served {
    pub addr: SocketAddr,
    db: PathBuf,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), Error>>,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

impl Served {
    /// The runtime with `--dev` routes on `db` (a temporary file when `None`).
    pub fn start(
        db: Option<PathBuf>,
        clock: Arc<dyn Clock>,
        options: RuntimeOptions,
    ) -> Result<Served, Error> {
        let dir = tempfile::tempdir().map_err(|e| io("creating a temporary directory", e))?;
        let db = db.unwrap_or_else(|| dir.path().join("bench.db"));
        let state = AppState::new(RuntimeConfig {
            store: Arc::new(SqliteStore::open(&db)?),
            clock,
            dev: true,
            options,
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("bench-server")
            .build()
            .map_err(|e| io("starting the server runtime", e))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| io("binding 127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| io("reading the bound address", e))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = runtime.spawn(crate::http::run(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Served {
            addr,
            db,
            stop,
            serving,
            runtime,
            dir,
        })
    }

    /// The SQLite file the server writes.
    pub fn db(&self) -> &Path {
        &self.db
    }

    /// A folder that lives as long as the server.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the client `drive` to its end on a single-threaded runtime of its own, then stops
    /// the server; the client's answer, or the first failure of either.
    pub fn drive_then_stop<T, F: Future<Output = Result<T, Error>>>(
        self,
        drive: impl FnOnce(SocketAddr) -> F,
    ) -> Result<T, Error> {
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| io("starting the client runtime", e))?;
        let report = client.block_on(drive(self.addr));
        // Its idle connections would hold the graceful shutdown open.
        drop(client);
        let _ = self.stop.send(());
        let served = self.runtime.block_on(self.serving);
        drop(self.dir);
        let report = report?;
        served.map_err(|e| Error::new(ErrorKind::Io, format!("server task failed: {e}")))??;
        Ok(report)
    }
}

fn io(doing: &str, error: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("bench: {doing}: {error}")).with_source(error)
}
