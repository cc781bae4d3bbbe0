//! The runtime: a router built from the manifest, and the pipeline every request goes through.
//!
//! [`AppState::new`] binds each manifest operation to its handler and compiles its request
//! validator (once); [`app`] builds the [`Router`]; [`run`] serves it until shutdown. Tests and
//! the in-process verifier use exactly these three; nothing has a private door.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::clock::{Clock, format_rfc3339_millis, parse_rfc3339};
use crate::domain::ActorRef;
use crate::error::{ApiError, Error, ErrorKind};
use crate::manifest::{HttpMethod, Manifest, Operation};
use crate::store::{Store, Tx};

mod auth;
mod dispatch;
mod idempotency;
mod logging;
mod validation;
mod writer;

pub use auth::Caller;
pub use dispatch::dispatch;
pub use idempotency::request_hash;
pub use validation::{BodyError, QueryValue, field_error, field_name};

/// Largest request body accepted: 1 MiB.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// An operation's logic. It gets the validated request and the request's one transaction, and
/// answers the success body or a reason. It never writes a status, a header or a message.
pub type Handler = fn(&OpContext<'_>, &mut dyn Tx) -> Result<Value, ApiError>;

/// Serializes a success body.
pub fn respond<T: Serialize>(body: &T) -> Result<Value, ApiError> {
    serde_json::to_value(body).map_err(ApiError::internal)
}

/// Everything a handler may know about its request.
pub struct OpContext<'a> {
    pub operation: &'a Operation,
    /// The authenticated caller; always present when the operation requires auth.
    pub caller: Option<&'a Caller>,
    pub path_params: &'a BTreeMap<String, String>,
    pub query: &'a BTreeMap<String, QueryValue>,
    /// The body, already validated against the request schema (`null` when there is none).
    pub body: &'a Value,
    pub correlation_id: &'a str,
    /// `x-now-iso` as the client sent it, already checked to be RFC 3339.
    pub request_clock: Option<&'a str>,
    pub runtime: &'a Runtime,
}

impl OpContext<'_> {
    /// The caller of an operation that requires auth.
    pub fn caller(&self) -> Result<&ActorRef, ApiError> {
        self.caller
            .map(|caller| &caller.actor)
            .ok_or_else(|| ApiError::internal("handler needs a caller but auth is not required"))
    }

    pub fn path_param(&self, name: &str) -> &str {
        self.path_params.get(name).map_or("", String::as_str)
    }

    pub fn query_str(&self, name: &str) -> Option<&str> {
        match self.query.get(name)? {
            QueryValue::Text(text) => Some(text),
            QueryValue::Integer(_) => None,
        }
    }

    pub fn query_int(&self, name: &str) -> Option<i64> {
        match self.query.get(name)? {
            QueryValue::Integer(value) => Some(*value),
            QueryValue::Text(_) => None,
        }
    }

    /// The body as its Rust type. The schema already accepted it, so a failure here is a rule
    /// the schema cannot say (an integer written `5.0`); it is answered like a schema failure
    /// of the field it names.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_path_to_error::deserialize(self.body).map_err(|error| {
            let mut pointer = String::new();
            for segment in error.path().iter() {
                let token = match segment {
                    serde_path_to_error::Segment::Seq { index } => index.to_string(),
                    serde_path_to_error::Segment::Map { key } => key.clone(),
                    serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                    serde_path_to_error::Segment::Unknown => continue,
                };
                pointer = validation::pointer_join(&pointer, &token);
            }
            validation::invalid_body(
                self.operation,
                vec![validation::BodyError {
                    instance_path: pointer,
                    keyword: "type".to_owned(),
                }],
            )
        })
    }

    /// The request's notion of now: `x-now-iso` as given, else the server clock.
    pub fn now_text(&self) -> String {
        self.request_clock.map_or_else(
            || format_rfc3339_millis(self.runtime.clock.now()),
            str::to_owned,
        )
    }

    /// The request's notion of now as an instant.
    pub fn now(&self) -> OffsetDateTime {
        self.request_clock
            .and_then(parse_rfc3339)
            .unwrap_or_else(|| self.runtime.clock.now())
    }

    /// Whether the caller holds `scope` (beyond those the operation requires).
    pub fn caller_has_scope(&self, scope: &str) -> bool {
        self.caller
            .is_some_and(|caller| caller.scopes.contains(scope))
    }
}

/// An operation bound to its handler and its compiled request validator.
pub(crate) struct BoundOperation {
    pub operation: Operation,
    pub handler: Handler,
    pub validator: Option<jsonschema::Validator>,
}

/// What the running server shares between requests.
pub struct Runtime {
    pub manifest: Arc<Manifest>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Whether dev-only operations are mounted.
    pub dev: bool,
    pub(crate) operations: Vec<BoundOperation>,
    openapi: Value,
    correlation_seq: AtomicU64,
    writer: writer::Writer,
}

impl Runtime {
    /// The OpenAPI document of the operations this server mounts.
    pub fn openapi(&self) -> &Value {
        &self.openapi
    }

    /// A fresh correlation id for a request that brought none: a counter, never a random
    /// number.
    pub(crate) fn next_correlation_id(&self) -> String {
        let seq = self.correlation_seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("corr_{seq:06}")
    }

    /// Operations mounted on this server.
    pub fn mounted(&self) -> impl Iterator<Item = &Operation> {
        self.operations
            .iter()
            .map(|bound| &bound.operation)
            .filter(|operation| self.dev || !operation.dev_only)
    }

    /// Methods declared for a concrete path, for the 405 answer.
    pub(crate) fn allowed_methods(&self, path: &str) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = self
            .mounted()
            .filter(|operation| template_matches(&operation.path, path))
            .map(|operation| operation.method.as_str())
            .collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }
}

fn template_matches(template: &str, path: &str) -> bool {
    let mut template = template.split('/');
    let mut path = path.split('/');
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && !p.is_empty() => {}
            (Some(t), Some(p)) if t == p => {}
            _ => return false,
        }
    }
}

/// What [`AppState::new`] needs.
pub struct RuntimeConfig {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Mount the dev-only operations (`/dev/fixtures`, `/dev/reset`).
    pub dev: bool,
}

/// The router's state: the shared [`Runtime`].
#[derive(Clone)]
pub struct AppState(Arc<Runtime>);

impl AppState {
    /// Binds the embedded manifest to every domain handler.
    pub fn new(config: RuntimeConfig) -> Result<AppState, Error> {
        AppState::with_manifest(
            config,
            Manifest::embedded().clone(),
            crate::domain::handlers(),
        )
    }

    /// Binds a manifest to a handler table; see [`bind_operations`].
    pub fn with_manifest(
        config: RuntimeConfig,
        manifest: Manifest,
        handlers: Vec<(&'static str, Handler)>,
    ) -> Result<AppState, Error> {
        let operations = bind_operations(&manifest, handlers)?;
        let openapi = crate::contracts::openapi::document(&manifest, config.dev);
        Ok(AppState(Arc::new(Runtime {
            manifest: Arc::new(manifest),
            store: config.store,
            clock: config.clock,
            dev: config.dev,
            operations,
            openapi,
            correlation_seq: AtomicU64::new(0),
            writer: writer::Writer::start().map_err(|e| {
                Error::new(ErrorKind::Io, format!("starting the writer thread: {e}")).with_source(e)
            })?,
        })))
    }

    pub fn runtime(&self) -> &Runtime {
        &self.0
    }
}

/// Binds each manifest operation to its handler and compiles its request validator. Fails,
/// naming them, when an operation has no handler or a handler has no operation, or when a
/// schema the manifest names does not exist or does not compile.
pub(crate) fn bind_operations(
    manifest: &Manifest,
    handlers: Vec<(&'static str, Handler)>,
) -> Result<Vec<BoundOperation>, Error> {
    let mut table: BTreeMap<&str, Handler> = BTreeMap::new();
    for (operation_id, handler) in handlers {
        if table.insert(operation_id, handler).is_some() {
            return Err(manifest_error(format!(
                "two handlers are bound to operation `{operation_id}`"
            )));
        }
    }
    let mut operations = Vec::with_capacity(manifest.operations.len());
    let mut missing = Vec::new();
    for operation in &manifest.operations {
        let Some(handler) = table.remove(operation.operation_id.as_str()) else {
            missing.push(operation.operation_id.clone());
            continue;
        };
        let validator = match &operation.request_schema {
            Some(name) => Some(
                validation::compile_request_validator(name)
                    .map_err(|e| manifest_error(format!("{}: {e}", operation.operation_id)))?,
            ),
            None => None,
        };
        operations.push(BoundOperation {
            operation: operation.clone(),
            handler,
            validator,
        });
    }
    if !missing.is_empty() {
        return Err(manifest_error(format!(
            "operations without a handler: {}",
            missing.join(", ")
        )));
    }
    if !table.is_empty() {
        let orphans: Vec<&str> = table.keys().copied().collect();
        return Err(manifest_error(format!(
            "handlers without a manifest operation: {}",
            orphans.join(", ")
        )));
    }
    Ok(operations)
}

fn manifest_error(message: String) -> Error {
    Error::new(ErrorKind::Manifest, message)
}

fn method_filter(method: HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Delete => MethodFilter::DELETE,
    }
}

/// The whole HTTP surface: one route per mounted manifest operation, the envelope for unknown
/// paths (404) and methods (405), and the request log.
pub fn app(state: AppState) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter<AppState>> = BTreeMap::new();
    for (index, bound) in state.0.operations.iter().enumerate() {
        let operation = &bound.operation;
        if operation.dev_only && !state.0.dev {
            continue;
        }
        let route = on(
            method_filter(operation.method),
            move |axum::extract::State(state): axum::extract::State<AppState>,
                  axum::extract::Path(params): axum::extract::Path<BTreeMap<String, String>>,
                  request: axum::extract::Request| {
                dispatch(state, index, params, request)
            },
        );
        let merged = match by_path.remove(operation.path.as_str()) {
            Some(existing) => existing.merge(route),
            None => route,
        };
        by_path.insert(operation.path.as_str(), merged);
    }
    let mut router = Router::new();
    for (path, route) in by_path {
        router = router.route(path, route);
    }
    router
        .fallback(dispatch::route_not_found)
        .method_not_allowed_fallback(dispatch::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            logging::correlate_and_log,
        ))
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` resolves, lets the requests in flight finish,
/// then closes the store.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let router = app(state.clone());
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    let closed = state.runtime().store.close();
    served.map_err(|e| Error::new(ErrorKind::Io, format!("serving: {e}")).with_source(e))?;
    closed?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_concrete_paths() {
        assert!(template_matches("/swap-intents/{id}", "/swap-intents/abc"));
        assert!(!template_matches("/swap-intents/{id}", "/swap-intents/"));
        assert!(!template_matches("/swap-intents/{id}", "/swap-intents/a/b"));
        assert!(template_matches("/healthz", "/healthz"));
    }
}
