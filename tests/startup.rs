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
