//! The server under test, and the one way the verifier talks to it: HTTP.
//!
//! In process, the verifier builds the reference runtime exactly as `marketref serve --dev`
//! does ([`marketref::http::AppState::new`] on a fresh SQLite file, with a [`FixedClock`]
//! at the milestone's clock), serves it with [`marketref::http::run`] on `127.0.0.1:0`, and
//! drives it over loopback like any other server. The only thing it reads besides HTTP is the
//! final store dump, for `store.json`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use marketref::clock::FixedClock;
use marketref::headers::{ACTOR_ID, ACTOR_TYPE, AUTH_SCOPES, CORRELATION_ID, REQUEST_CLOCK};
use marketref::http::{AppState, RuntimeConfig};
use marketref::store::postgres::ScratchDatabase;
use marketref::store::{PostgresStore, SqliteStore, Store};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind};

/// Where the requests go.
pub struct Target {
    pub base_url: String,
    in_process: Option<InProcess>,
}

struct InProcess {
    store: Arc<dyn Store>,
    store_path: String,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<Result<(), marketref::Error>>,
    // Dropped after the store: its file, or its database, lives here.
    _dir: tempfile::TempDir,
    _database: Option<ScratchDatabase>,
}

impl Target {
    /// Starts the reference runtime on a fresh temporary store, in dev mode, with its clock
    /// fixed at `clock`: a SQLite file, or with `postgres` (a URL) a new database on that
    /// server, dropped when the target is. Must be called inside the Tokio runtime.
    pub async fn start_in_process(
        clock: OffsetDateTime,
        postgres: Option<&str>,
    ) -> Result<Target, Error> {
        let runtime_error = |what: &str, error: &dyn std::fmt::Display| {
            Error::new(
                ErrorKind::Runtime,
                format!("starting the in-process runtime: {what}: {error}"),
            )
        };
        let dir = tempfile::Builder::new()
            .prefix("marketref-verify-")
            .tempdir()
            .map_err(|e| runtime_error("creating a temporary folder", &e))?;
        let (store, store_path, database): (Arc<dyn Store>, String, _) = match postgres {
            None => {
                let db = dir.path().join("verify.db");
                let store =
                    SqliteStore::open(&db).map_err(|e| runtime_error("opening the store", &e))?;
                (Arc::new(store), db.display().to_string(), None)
            }
            Some(url) => {
                let database = ScratchDatabase::create(url, "marketref_verify")
                    .map_err(|e| runtime_error("making a database", &e))?;
                // The blocking client must not run on this async task's thread.
                let store = marketref::store::off_async(|| PostgresStore::open(database.url()))
                    .map_err(|_| runtime_error("opening the store", &"it panicked"))?
                    .map_err(|e| runtime_error("opening the store", &e))?;
                let shown = store.info().path;
                (Arc::new(store), shown, Some(database))
            }
        };
        // A SQLite store keeps its files beside itself; a database needs a folder.
        let options = marketref::http::RuntimeOptions {
            data_dir: postgres.map(|_| dir.path().join("data")),
            ..marketref::http::RuntimeOptions::default()
        };
        let state = AppState::new(RuntimeConfig {
            store: store.clone(),
            clock: Arc::new(FixedClock(clock)),
            dev: true,
            options,
        })
        .map_err(|e| runtime_error("binding the manifest", &e))?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| runtime_error("binding 127.0.0.1:0", &e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| runtime_error("reading the bound address", &e))?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(marketref::http::run(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Target {
            base_url: format!("http://{addr}"),
            in_process: Some(InProcess {
                store,
                store_path,
                shutdown,
                server,
                _dir: dir,
                _database: database,
            }),
        })
    }

    /// Any server, by its base URL (`http://127.0.0.1:3005`).
    pub fn external(base_url: &str) -> Result<Target, Error> {
        let trimmed = base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(trimmed)
            .map_err(|e| Error::usage(format!("--base-url `{base_url}`: {e}")))?;
        if parsed.scheme() != "http" {
            return Err(Error::usage(format!("--base-url `{base_url}`: only http:// is supported"))
                .with_hint("the verifier is built without TLS; put it next to the server, or behind a plain-HTTP port"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::usage(format!(
                "--base-url `{base_url}` must not carry a query or a fragment"
            )));
        }
        Ok(Target {
            base_url: trimmed.to_owned(),
            in_process: None,
        })
    }

    pub fn is_in_process(&self) -> bool {
        self.in_process.is_some()
    }

    /// The in-process store's file, which `/healthz` reports.
    pub fn store_path(&self) -> Option<&str> {
        self.in_process.as_ref().map(|p| p.store_path.as_str())
    }

    /// Every table of the in-process store, canonically ordered.
    pub fn store_dump(&self) -> Option<Result<Value, Error>> {
        let in_process = self.in_process.as_ref()?;
        Some(
            // The blocking store must not run on an async task's thread.
            marketref::store::off_async(|| in_process.store.read().and_then(|tx| tx.dump()))
                .unwrap_or_else(|_| {
                    Err(marketref::store::StoreError::new("dumping", "it panicked"))
                })
                .map_err(|e| Error::new(ErrorKind::Runtime, format!("dumping the store: {e}"))),
        )
    }

    /// Stops the in-process server: no new connections, requests in flight finish, the store
    /// closes.
    pub async fn stop(self) -> Result<(), Error> {
        let Some(in_process) = self.in_process else {
            return Ok(());
        };
        let _ = in_process.shutdown.send(());
        match in_process.server.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Error::new(
                ErrorKind::Runtime,
                format!("the in-process runtime failed: {error}"),
            )),
            Err(error) => Err(Error::new(
                ErrorKind::Runtime,
                format!("the in-process runtime panicked: {error}"),
            )),
        }
    }
}

/// A request as the verifier sends it.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Lower-case names, in sending order.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// The headers every request of the verifier starts with: its correlation id, which the server
/// echoes, and the request clock, so that no answer depends on the server's own clock.
pub fn base_headers(correlation_id: &str, clock: &str) -> Vec<(String, String)> {
    vec![
        (CORRELATION_ID.to_owned(), correlation_id.to_owned()),
        (REQUEST_CLOCK.to_owned(), clock.to_owned()),
    ]
}

/// Appends the identity the trusted gateway would set: actor type and id, and the scopes when
/// there are any.
pub fn identify(
    headers: &mut Vec<(String, String)>,
    actor_type: &str,
    actor_id: &str,
    scopes: &[String],
) {
    headers.push((ACTOR_TYPE.to_owned(), actor_type.to_owned()));
    headers.push((ACTOR_ID.to_owned(), actor_id.to_owned()));
    if !scopes.is_empty() {
        headers.push((AUTH_SCOPES.to_owned(), scopes.join(" ")));
    }
}

/// A response as received.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub status: u16,
    /// Lower-case names; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// One HTTP client for the whole run: connections are reused.
pub fn client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::new(ErrorKind::Runtime, format!("building the HTTP client: {e}")))
}

/// Sends one request. A transport failure is text without the URL (which would carry a port).
///
/// A `GET` or `HEAD` that got no answer at all is sent once more: a server may close a
/// keep-alive connection just as the client reuses it, and a read can be sent again without
/// changing anything. Nothing else is retried: a write that got no answer may have been done.
pub async fn send(
    client: &reqwest::Client,
    base_url: &str,
    request: &Outgoing,
) -> (Result<Incoming, String>, Duration) {
    let started = Instant::now();
    let safe = matches!(request.method.as_str(), "GET" | "HEAD");
    let result = match send_inner(client, base_url, request).await {
        Err(Failure::NoAnswer(_)) if safe => send_inner(client, base_url, request).await,
        other => other,
    };
    let result = result.map_err(|failure| match failure {
        Failure::NoAnswer(why) | Failure::BrokenAnswer(why) => why,
    });
    (result, started.elapsed())
}

/// How a request failed: with no answer at all (the connection refused or closed before a
/// byte came back), or otherwise (a timeout, an answer cut short).
enum Failure {
    NoAnswer(String),
    BrokenAnswer(String),
}

async fn send_inner(
    client: &reqwest::Client,
    base_url: &str,
    request: &Outgoing,
) -> Result<Incoming, Failure> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|e| Failure::BrokenAnswer(e.to_string()))?;
    let mut builder = client.request(method, format!("{base_url}{}", request.path));
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder.send().await.map_err(|e| {
        // A server that took the whole timeout to say nothing is not asked twice.
        let timed_out = e.is_timeout();
        let why = describe(e.without_url());
        if timed_out {
            Failure::BrokenAnswer(why)
        } else {
            Failure::NoAnswer(why)
        }
    })?;
    let status = response.status().as_u16();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in response.headers() {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&text);
            })
            .or_insert(text);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| Failure::BrokenAnswer(describe(e.without_url())))?
        .to_vec();
    Ok(Incoming {
        status,
        headers,
        body,
    })
}

fn describe(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
