//! Start-up binds the manifest to the handlers and refuses any disagreement.

use std::sync::Arc;

use marketref::api::Domain;
use marketref::clock::SystemClock;
use marketref::domain::{self, swap, system};
use marketref::http::{AppState, RuntimeConfig};
use marketref::manifest::Manifest;
use marketref::store::SqliteStore;

fn config() -> (tempfile::TempDir, RuntimeConfig) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("x.db")).unwrap();
    let config = RuntimeConfig {
        store: Arc::new(store),
        clock: Arc::new(SystemClock),
        dev: false,
        options: marketref::http::RuntimeOptions::default(),
    };
    (dir, config)
}

/// The domain list with swap's handler table replaced, for as long as the test runs.
fn with_swap_handlers(
    handlers: Vec<(&'static str, marketref::api::Handler)>,
) -> &'static [&'static Domain] {
    let swap: &'static Domain = Box::leak(Box::new(Domain {
        handlers: Box::leak(handlers.into_boxed_slice()),
        ..swap::DOMAIN
    }));
    Box::leak(Box::new([
        &system::DOMAIN,
        swap,
        &domain::data_market::DOMAIN,
    ]))
}

fn message(result: Result<AppState, marketref::Error>) -> String {
    match result {
        Ok(_) => panic!("start-up should have failed"),
        Err(error) => {
            assert_eq!(error.kind(), marketref::ErrorKind::Manifest);
            error.message().to_owned()
        }
    }
}

#[test]
fn an_operation_without_a_handler_stops_start_up() {
    let (_dir, config) = config();
    let handlers: Vec<_> = swap::DOMAIN
        .handlers
        .iter()
        .copied()
        .filter(|(id, _)| *id != "cycleProposals.get")
        .collect();
    let text = message(AppState::with_domains(
        config,
        Manifest::embedded().clone(),
        with_swap_handlers(handlers),
    ));
    assert!(
        text.contains("operations without a handler: cycleProposals.get"),
        "{text}"
    );
}

#[test]
fn a_handler_without_an_operation_stops_start_up() {
    let (_dir, config) = config();
    let mut manifest = Manifest::embedded().clone();
    manifest
        .operations
        .retain(|op| op.operation_id != "dev.reset");
    let text = message(AppState::with_domains(config, manifest, domain::ALL));
    assert!(
        text.contains("handlers without a manifest operation: dev.reset"),
        "{text}"
    );
}

#[test]
fn an_unknown_request_schema_stops_start_up() {
    let (_dir, config) = config();
    let mut manifest = Manifest::embedded().clone();
    let run = manifest
        .operations
        .iter_mut()
        .find(|op| op.operation_id == "marketplaceMatching.run")
        .unwrap();
    run.request_schema = Some("NoSuchSchema".into());
    let text = message(AppState::with_domains(config, manifest, domain::ALL));
    assert!(text.contains("NoSuchSchema"), "{text}");
}

#[test]
fn the_embedded_manifest_binds() {
    let (_dir, config) = config();
    let state = AppState::new(config).unwrap();
    let mounted: Vec<&str> = state
        .runtime()
        .mounted()
        .map(|op| op.operation_id.as_str())
        .collect();
    assert!(mounted.contains(&"marketplaceMatching.run"));
    assert!(!mounted.contains(&"dev.reset"), "dev operations need --dev");
}

/// A domain whose one worker says when it started and when it returned.
mod with_a_worker {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use marketref::api::{Domain, Env, WorkerSpec};

    pub static STARTED: AtomicBool = AtomicBool::new(false);
    pub static RETURNED: AtomicBool = AtomicBool::new(false);

    fn workers(_: &Env) -> Vec<WorkerSpec> {
        vec![WorkerSpec {
            before_serving: None,
            name: "probe".to_owned(),
            run: Box::new(|context| {
                STARTED.store(true, Ordering::SeqCst);
                while !context.wait(Duration::from_secs(60)) {}
                RETURNED.store(true, Ordering::SeqCst);
            }),
        }]
    }

    pub static DOMAIN: Domain = Domain {
        name: "with_a_worker",
        handlers: &[],
        schemas: Vec::new,
        store: None,
        migrations: &[],
        tables: &[],
        health_counters: &[],
        console: None,
        workers,
    };
}

#[tokio::test]
async fn a_domains_workers_run_beside_the_server_and_are_joined_before_it_returns() {
    use std::sync::atomic::Ordering;
    let (_dir, config) = config();
    let domains: Vec<&'static Domain> = domain::ALL
        .iter()
        .copied()
        .chain([&with_a_worker::DOMAIN])
        .collect();
    let domains: &'static [&'static Domain] = Box::leak(domains.into_boxed_slice());
    let state = AppState::with_domains(config, Manifest::embedded().clone(), domains).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(marketref::http::run(listener, state, async {
        let _ = stopped.await;
    }));
    while !with_a_worker::STARTED.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(!with_a_worker::RETURNED.load(Ordering::SeqCst));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(
        with_a_worker::RETURNED.load(Ordering::SeqCst),
        "the worker was told to stop, and joined, before run returned"
    );
}

/// A store without the views of a domain's store trait cannot serve that domain.
struct NoDomainStores(SqliteStore);

impl marketref::store::Store for NoDomainStores {
    fn info(&self) -> marketref::store::StoreInfo {
        self.0.info()
    }
    fn read(&self) -> Result<Box<dyn marketref::store::Tx>, marketref::store::StoreError> {
        self.0.read()
    }
    fn write(&self) -> Result<Box<dyn marketref::store::Tx>, marketref::store::StoreError> {
        self.0.write()
    }
    fn views(&self) -> &'static marketref::store::StoreViews {
        static NONE: std::sync::OnceLock<marketref::store::StoreViews> = std::sync::OnceLock::new();
        NONE.get_or_init(marketref::store::StoreViews::default)
    }
    fn hold_instance(&self, instance: u64) -> Result<(), marketref::store::StoreError> {
        self.0.hold_instance(instance)
    }
    fn instance_alive(&self, instance: u64) -> Result<bool, marketref::store::StoreError> {
        self.0.instance_alive(instance)
    }
    fn close(&self) -> Result<(), marketref::store::StoreError> {
        self.0.close()
    }
}

#[test]
fn a_store_without_a_domains_store_trait_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        store: Arc::new(NoDomainStores(
            SqliteStore::open(&dir.path().join("x.db")).unwrap(),
        )),
        clock: Arc::new(SystemClock),
        dev: false,
        options: marketref::http::RuntimeOptions::default(),
    };
    let Err(error) = AppState::new(config) else {
        panic!("start-up should have failed");
    };
    assert_eq!(error.kind(), marketref::ErrorKind::Store);
    assert!(
        error.message().contains("SwapStore") && error.message().contains("DataMarketStore"),
        "{}",
        error.message()
    );
}
