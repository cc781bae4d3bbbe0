//! A real server on `127.0.0.1:0` over a temporary SQLite file, and a small client for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use marketref::clock::{FixedClock, parse_rfc3339};
use marketref::contracts::schemas;
use marketref::http::{AppState, RuntimeConfig};
use marketref::manifest::Manifest;
use marketref::store::{PostgresStore, SqliteStore, Store};
use serde_json::Value;
use tokio::sync::oneshot;

/// The variable that names the store `TestServer::start` opens: `postgres`, or SQLite.
pub const TEST_STORE: &str = "MARKETREF_TEST_STORE";

/// Runs blocking store work on a thread of its own: the Postgres client must not block an
/// async test's thread.
pub fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    marketref::store::off_async(work).unwrap()
}

/// The server clock of every test server: one hour before the worked example's run.
pub const SERVER_NOW: &str = "2026-02-28T19:00:00Z";

pub struct TestServer {
    pub base: String,
    pub store: Arc<dyn Store>,
    /// The runtime, for tests that look inside it (the token cache).
    pub state: AppState,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), marketref::Error>>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A dev-mode server on a fresh store: a SQLite file, or a new database of the test
    /// cluster when `MARKETREF_TEST_STORE=postgres` (how `backends::` runs the suite again on
    /// Postgres).
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut server = match std::env::var(TEST_STORE).as_deref() {
            Ok("postgres") => {
                let store = off_runtime(|| {
                    let url = crate::postgres_cluster::Cluster::get().database();
                    PostgresStore::open(&url).unwrap()
                });
                let options = marketref::http::RuntimeOptions {
                    data_dir: Some(dir.path().join("data")),
                    ..marketref::http::RuntimeOptions::default()
                };
                TestServer::start_with_options(Arc::new(store), true, options).await
            }
            _ => TestServer::start_at(&dir.path().join("marketref.db"), true).await,
        };
        server._dir = Some(dir);
        server
    }

    /// A server on the store at `path` (kept after stop).
    pub async fn start_at(path: &Path, dev: bool) -> TestServer {
        let store = Arc::new(SqliteStore::open(path).unwrap());
        TestServer::start_with(store, dev).await
    }

    /// A server on any store.
    pub async fn start_with(store: Arc<dyn Store>, dev: bool) -> TestServer {
        TestServer::start_with_options(store, dev, marketref::http::RuntimeOptions::default()).await
    }

    /// A server on any store, with options (CORS origins, a cache size).
    pub async fn start_with_options(
        store: Arc<dyn Store>,
        dev: bool,
        options: marketref::http::RuntimeOptions,
    ) -> TestServer {
        let clock = Arc::new(FixedClock(parse_rfc3339(SERVER_NOW).unwrap()));
        TestServer::start_with_clock(store, clock, dev, options).await
    }

    /// A server whose clock the test holds (a clock it moves, for the workers' time limits).
    pub async fn start_with_clock(
        store: Arc<dyn Store>,
        clock: Arc<dyn marketref::clock::Clock>,
        dev: bool,
        options: marketref::http::RuntimeOptions,
    ) -> TestServer {
        let state = AppState::new(RuntimeConfig {
            store: store.clone(),
            clock,
            dev,
            options,
        })
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(marketref::http::run(listener, state.clone(), async {
            let _ = rx.await;
        }));
        TestServer {
            base,
            store,
            state,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
            _dir: None,
        }
    }

    /// Stops accepting, waits for the requests in flight and for the store to close.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// A raw call; when a mounted operation matches the method and path, its answer is
    /// checked against that operation's contract.
    pub fn call(&self, method: &str, path: &str) -> Call {
        let bare = path.split('?').next().unwrap_or(path);
        let operation_id = Manifest::embedded()
            .operations
            .iter()
            .find(|op| op.method.as_str() == method && template_matches(&op.path, bare))
            .map(|op| op.operation_id.clone());
        Call {
            request: self
                .client
                .request(method.parse().unwrap(), format!("{}{path}", self.base)),
            operation_id,
        }
    }

    /// A call to a manifest operation, with its path parameters filled in.
    pub fn op(&self, operation_id: &str, params: &[(&str, &str)]) -> Call {
        let operation = Manifest::embedded()
            .operation(operation_id)
            .unwrap_or_else(|| panic!("no operation {operation_id}"));
        let mut path = operation.path.clone();
        for (name, value) in params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        let mut call = self.call(operation.method.as_str(), &path);
        call.operation_id = Some(operation_id.to_owned());
        call
    }

    /// Every table, as the store dumps it.
    pub fn dump(&self) -> Value {
        off_runtime(|| self.store.read().unwrap().dump().unwrap())
    }

    pub async fn seed_worked_example(&self) {
        let fixture: Value =
            serde_json::from_str(include_str!("../fixtures/swap/worked-example.json")).unwrap();
        let reply = self
            .op("dev.fixtures.load", &[])
            .json(&fixture)
            .send()
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

pub struct Call {
    request: reqwest::RequestBuilder,
    operation_id: Option<String>,
}

/// Well-known callers.
pub const PARTNER: (&str, &str) = ("partner", "partner_demo");

impl Call {
    pub fn actor(mut self, kind: &str, id: &str, scopes: &str) -> Call {
        self.request = self
            .request
            .header("x-actor-type", kind)
            .header("x-actor-id", id)
            .header("x-auth-scopes", scopes);
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Call {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// The request clock.
    pub fn at(self, now: &str) -> Call {
        self.header("x-now-iso", now)
    }

    pub fn partner(self, scopes: &str) -> Call {
        self.actor(PARTNER.0, PARTNER.1, scopes)
    }

    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.request = self.request.header(name, value);
        self
    }

    pub fn key(self, key: &str) -> Call {
        self.header("Idempotency-Key", key)
    }

    pub fn json(mut self, body: &Value) -> Call {
        self.request = self
            .request
            .header("content-type", "application/json")
            .body(body.to_string());
        self
    }

    pub fn raw(self, body: impl Into<reqwest::Body>) -> Call {
        self.typed("application/json", body)
    }

    /// A body sent as `media_type`.
    pub fn typed(mut self, media_type: &str, body: impl Into<reqwest::Body>) -> Call {
        self.request = self.request.header("content-type", media_type).body(body);
        self
    }

    /// Sends and checks the answer against the contract: a success against the operation's
    /// response schema, an error against the envelope with a reason the operation may answer.
    pub async fn send(self) -> Reply {
        let response = self.request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text}"));
        if let Some(operation_id) = &self.operation_id {
            conforms(operation_id, status, &body);
        } else {
            valid_against("ErrorEnvelope", &body).unwrap_or_else(|e| panic!("{e}"));
        }
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// An answer whose success body is not JSON (a file), with its bytes.
pub struct RawReply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error body of a refusal, checked against the envelope.
    pub fn error(&self) -> Value {
        let body: Value = serde_json::from_slice(&self.bytes).unwrap();
        valid_against("ErrorEnvelope", &body).unwrap_or_else(|e| panic!("{e}"));
        body
    }

    /// The refusal as a JSON reply.
    pub fn refusal(self) -> Reply {
        Reply {
            body: self.error(),
            status: self.status,
            headers: self.headers,
        }
    }
}

impl Call {
    /// Sends a call whose success is not JSON; a refusal is still checked as one.
    pub async fn send_raw(self) -> RawReply {
        let response = self.request.send().await.unwrap();
        let reply = RawReply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            bytes: response.bytes().await.unwrap().to_vec(),
        };
        if reply.status >= 400
            && let Some(operation_id) = &self.operation_id
        {
            conforms(operation_id, reply.status, &reply.error());
        }
        reply
    }
}

fn conforms(operation_id: &str, status: u16, body: &Value) {
    let operation = Manifest::embedded().operation(operation_id).unwrap();
    if status < 400 {
        assert_eq!(status, operation.success_status, "{operation_id}: {body}");
        let schema = schemas::answer_schema(operation).unwrap();
        valid_against_schema(&operation.response_schema, &schema, body)
            .unwrap_or_else(|e| panic!("{operation_id}: {e}"));
    } else {
        valid_against("ErrorEnvelope", body).unwrap_or_else(|e| panic!("{operation_id}: {e}"));
        let code = body["error"]["details"]["reason_code"].as_str().unwrap();
        let reason = marketref::reason::Reason::from_code(code).unwrap();
        // The router's own answers (an operation not mounted) belong to no operation.
        let router = marketref::manifest::ROUTER_REASONS.contains(&reason);
        assert!(
            router || operation.effective_reasons().contains(&reason),
            "{operation_id} answered {code}, which the manifest does not allow it"
        );
        assert_eq!(status, reason.status(), "{operation_id}: status of {code}");
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    let template: Vec<&str> = template.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

pub fn valid_against(schema_name: &str, body: &Value) -> Result<(), String> {
    let schema = schemas::named(schema_name).ok_or(format!("no schema {schema_name}"))?;
    valid_against_schema(schema_name, &schema, body)
}

pub fn valid_against_schema(schema_name: &str, schema: &Value, body: &Value) -> Result<(), String> {
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| e.to_string())?;
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{schema_name}: {errors:?} in {body}"))
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn reason(&self) -> &str {
        self.body["error"]["details"]["reason_code"]
            .as_str()
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// The worked example's first run body.
pub fn first_run_body() -> Value {
    serde_json::json!({"recorded_at": "2026-02-28T20:00:00Z"})
}

/// A valid intent for `actor_id` (a user) offering `offer`, wanting `want`.
pub fn intent(id: &str, actor_id: &str, offer: &str, want: &str) -> Value {
    serde_json::json!({
        "id": id,
        "actor": {"type": "user", "id": actor_id},
        "offer": [{"platform": "steam", "asset_id": offer}],
        "want_spec": {"type": "set", "any_of": [{"type": "specific_asset", "platform": "steam", "asset_key": format!("steam:{want}")}]},
        "value_band": {"min_usd": 0, "max_usd": 1000, "pricing_source": "test"},
        "trust_constraints": {"max_cycle_length": 3, "min_counterparty_reliability": 0},
        "time_constraints": {"expires_at": "2026-03-01T00:00:00Z"},
        "settlement_preferences": {"require_escrow": false}
    })
}

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
