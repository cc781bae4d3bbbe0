//! The runtime: a router built from the manifest, and the pipeline every request goes through.
//!
//! [`AppState::new`] binds each manifest operation to its handler and compiles its request
//! validator (once); [`app`] builds the [`Router`]; [`run`] serves it until shutdown. Tests and
//! the in-process verifier use exactly these three; nothing has a private door.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::{MethodFilter, MethodRouter, on};
use tokio::net::TcpListener;

use crate::api::{Domain, Env, Handler};
use crate::clock::Clock;
use crate::credentials::{Hasher, Pepper, UrlSigner, ValidationCache};
use crate::error::{Error, ErrorKind};
use crate::manifest::{HttpMethod, Manifest, Operation};
use crate::store::Store;

mod answer;
mod auth;
mod bearer;
mod dispatch;
pub mod event_stream;
mod idempotency;
mod logging;
mod rate_limit;
mod request;
mod strict_json;
mod validation;
mod workers;
mod writer;

pub use auth::parse_scopes;
pub use dispatch::dispatch;
pub use idempotency::request_hash;
pub use validation::schema_errors;

/// Largest request body accepted: 1 MiB.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// An operation bound to its handler and its compiled request validator.
pub(crate) struct BoundOperation {
    pub operation: Operation,
    pub handler: Handler,
    pub validator: Option<jsonschema::Validator>,
}

/// What the running server shares between requests.
pub struct Runtime {
    /// What handlers see of the server.
    pub env: Env,
    pub store: Arc<dyn Store>,
    pub(crate) operations: Vec<BoundOperation>,
    /// Validations of vendor keys and deployment tokens, by the SHA-256 of the token.
    pub auth_cache: crate::credentials::ValidationCache,
    /// This runtime's number among those that ran on its database, the first part of the
    /// correlation ids it makes up; alive, to the other instances, while the store lives
    /// (`Store::hold_instance`).
    instance: u64,
    correlation_seq: AtomicU64,
    /// Origins allowed to call from a browser.
    cors_origins: Vec<String>,
    pub(crate) writer: writer::Writer,
    /// The event streams being sent.
    pub streams: event_stream::Streams,
}

impl Runtime {
    pub fn manifest(&self) -> &Manifest {
        &self.env.manifest
    }

    /// The OpenAPI document of the operations this server mounts.
    pub fn openapi(&self) -> &serde_json::Value {
        &self.env.openapi
    }

    /// A fresh correlation id for a request that brought none: the runtime's instance number
    /// and a counter, so that ids are unique across the instances on one database and never
    /// random.
    pub(crate) fn next_correlation_id(&self) -> String {
        let seq = self.correlation_seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("corr_{}_{seq:06}", self.instance)
    }

    /// Operations mounted on this server.
    pub fn mounted(&self) -> impl Iterator<Item = &Operation> {
        self.operations
            .iter()
            .map(|bound| &bound.operation)
            .filter(|operation| self.env.dev || !operation.dev_only)
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
    pub options: RuntimeOptions,
}

/// What a server may be told beyond its store and clock.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// The pepper of credential hashes, and the root of the signed-URL key.
    pub pepper: Pepper,
    /// Where the domains keep files; `None`: a folder beside a SQLite file (`<file>-data`).
    pub data_dir: Option<PathBuf>,
    /// Token validations kept at most.
    pub token_cache_capacity: usize,
    /// Origins a browser may call the API from (CORS); none when empty.
    pub cors_origins: Vec<String>,
    /// Training runs trained at once by this server (`serve --training-workers`); 0 trains none.
    pub training_workers: usize,
}

impl Default for RuntimeOptions {
    /// The development pepper, the data folder beside the store, a cache of 10,000, no CORS,
    /// one training worker.
    fn default() -> RuntimeOptions {
        RuntimeOptions {
            pepper: Pepper::dev(),
            data_dir: None,
            token_cache_capacity: 10_000,
            cors_origins: Vec::new(),
            training_workers: 1,
        }
    }
}

/// The router's state: the shared [`Runtime`].
#[derive(Clone)]
pub struct AppState(Arc<Runtime>);

impl AppState {
    /// Binds the embedded manifest to every domain of [`crate::domain::ALL`].
    pub fn new(config: RuntimeConfig) -> Result<AppState, Error> {
        AppState::with_domains(config, Manifest::embedded().clone(), crate::domain::ALL)
    }

    /// Binds a manifest to the handlers of `domains`; see `bind_operations`. Refuses a store
    /// that does not implement the store trait of one of them.
    pub fn with_domains(
        config: RuntimeConfig,
        manifest: Manifest,
        domains: &'static [&'static Domain],
    ) -> Result<AppState, Error> {
        check_store(config.store.as_ref(), domains)?;
        let operations = bind_operations(&manifest, domains)?;
        let openapi = crate::contracts::openapi::document(&manifest, config.dev);
        // On a thread of its own: the store is blocking, and a runtime is often built from
        // an async task (a test, the verifier), whose thread must not block on a database.
        // Held alive from here, before any worker of it claims anything, until the store goes.
        let instance = crate::store::off_async(|| -> Result<u64, crate::store::StoreError> {
            let mut tx = config.store.write()?;
            let instance = tx.next_instance()?;
            tx.commit()?;
            config.store.hold_instance(instance)?;
            Ok(instance)
        })
        .map_err(|_| Error::new(ErrorKind::Store, "registering the instance panicked"))??;
        let info = config.store.info();
        let writers = config.store.writers();
        let data_dir = match (&config.options.data_dir, info.backend) {
            (Some(dir), _) => dir.clone(),
            (None, "sqlite") => PathBuf::from(format!("{}-data", info.path)),
            (None, backend) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("the {backend} store needs a data folder (--data-dir)"),
                ));
            }
        };
        Ok(AppState(Arc::new(Runtime {
            env: Env {
                manifest: Arc::new(manifest),
                clock: config.clock,
                store: info,
                dev: config.dev,
                domains,
                openapi,
                hasher: Hasher::new(config.options.pepper.clone()),
                url_signer: UrlSigner::new(&config.options.pepper),
                data_dir,
                training_workers: config.options.training_workers,
            },
            store: config.store,
            operations,
            auth_cache: ValidationCache::new(config.options.token_cache_capacity),
            cors_origins: config.options.cors_origins,
            instance,
            correlation_seq: AtomicU64::new(0),
            writer: writer::Writer::start(writers).map_err(|e| {
                Error::new(ErrorKind::Io, format!("starting the writer thread: {e}")).with_source(e)
            })?,
            streams: event_stream::Streams::default(),
        })))
    }

    pub fn runtime(&self) -> &Runtime {
        &self.0
    }
}

/// Every domain's store trait must have a view in the store's backend.
fn check_store(store: &dyn Store, domains: &[&Domain]) -> Result<(), Error> {
    let views = store.views();
    let missing: Vec<&str> = domains
        .iter()
        .filter_map(|domain| domain.store)
        .filter(|store_trait| !views.implements((store_trait.id)()))
        .map(|store_trait| store_trait.name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Store,
        format!(
            "the {} store does not implement {}",
            store.info().backend,
            missing.join(", ")
        ),
    ))
}

/// Binds each manifest operation to its handler among `domains` and compiles its request
/// validator. Fails, naming them, when an operation has no handler or a handler has no
/// operation, or when a schema the manifest names does not exist or does not compile.
pub(crate) fn bind_operations(
    manifest: &Manifest,
    domains: &[&Domain],
) -> Result<Vec<BoundOperation>, Error> {
    let mut table: BTreeMap<&str, Handler> = BTreeMap::new();
    for (operation_id, handler) in domains.iter().flat_map(|domain| domain.handlers) {
        if table.insert(operation_id, *handler).is_some() {
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
        if operation.dev_only && !state.0.env.dev {
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
    let router = router
        .fallback(dispatch::route_not_found)
        .method_not_allowed_fallback(dispatch::method_not_allowed);
    let router = match cors(&state.0.cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    };
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            logging::correlate_and_log,
        ))
        .with_state(state)
}

/// Cross-origin access for the listed origins only (spec `ml-marketplace.md` section 1): a
/// preflight from another origin gets no `Access-Control-Allow-Origin`, so a browser refuses the
/// call. No origins, no layer: no cross-origin access at all.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method};
    if origins.is_empty() {
        return None;
    }
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    let request_headers = [
        crate::headers::AUTHORIZATION,
        crate::headers::ACTOR_TYPE,
        crate::headers::ACTOR_ID,
        crate::headers::AUTH_SCOPES,
        crate::headers::IDEMPOTENCY_KEY,
        "x-idempotency-key",
        crate::headers::CORRELATION_ID,
        crate::headers::REQUEST_CLOCK,
        crate::headers::CONTRACTS_VERSION,
        "content-type",
    ]
    .map(HeaderName::from_static);
    let exposed = [
        crate::headers::CORRELATION_ID,
        crate::headers::IDEMPOTENT_REPLAYED,
        crate::headers::CONTRACTS_VERSION,
        crate::headers::RATE_LIMIT_LIMIT,
        crate::headers::RATE_LIMIT_REMAINING,
        crate::headers::RATE_LIMIT_RESET,
        crate::headers::RETRY_AFTER,
    ]
    .map(HeaderName::from_static);
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers(request_headers)
            .expose_headers(exposed),
    )
}

/// Starts the domains' background workers, serves [`app`] on `listener` until `shutdown`
/// resolves, lets the requests in flight finish, stops and joins the workers, then closes the
/// store.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let workers = workers::Workers::start(state.runtime())?;
    let router = app(state.clone());
    // Open event streams would keep the graceful shutdown waiting: they end when it begins.
    let closing = state.clone();
    let shutdown = async move {
        shutdown.await;
        closing.runtime().streams.close();
    };
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    workers.stop().await;
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
