//! The ML section's refusals, each where a person looks: a hyperparameter outside the
//! trainer's range caught in the page (nothing sent), a refusal only the server can make shown
//! at its field, a run cancelled from its page, and a key revoked behind the page's back
//! dropped with what to do.

use serde_json::json;

use super::support::{Console, ML_OPERATOR, api, bearer, in_browser_serving};

/// On a server that trains nothing (`--training-workers 0`), so that the run to cancel is
/// still queued when its page offers the cancel, however fast the machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ml_refusals_in_a_browser() {
    in_browser_serving("the ML refusals", &["--training-workers", "0"], refusals).await;
}

async fn refusals(page: &Console, base: &str) {
    let (_, vendor) = api(
        base,
        "POST",
        "/api/vendors",
        ML_OPERATOR,
        Some(json!({"name": "Acme Quant"})),
    )
    .await;
    let key = vendor["data"]["api_key"].as_str().unwrap().to_owned();
    let (status, _) = api(
        base,
        "POST",
        "/api/rounds",
        ML_OPERATOR,
        Some(json!({"round_id": "2026-w49", "name": "Week 49", "current": true,
                    "generate": {"seed": 7, "symbols": ["EURUSD"], "bars": 300, "timeframe": "1h"}})),
    )
    .await;
    assert_eq!(status, 201);
    page.open_ml().await;
    page.fill("#vendor-key", &key).await;
    page.click("#key-use").await;
    page.wait_text("#key-status", "Acme Quant").await;
    page.wait_text("#mlrun-round_id", "current").await;

    // Out of the trainer's range: said at the field, with the range, and nothing is sent.
    page.choose("#mlrun-task", "signal").await;
    let hint = page.text("#mlrun-hyperparams-epochs-hint").await;
    assert!(hint.contains("from 1 to 1000"), "{hint}");
    page.fill("#mlrun-hyperparams-epochs", "5000").await;
    let at_field = page
        .wait_text("#mlrun-hyperparams-epochs-error", "Must be at most 1000.")
        .await;
    assert!(at_field.contains("training_spec_invalid"), "{at_field}");
    page.click("#mlrun-submit").await;
    page.wait_text("#mlrun-summary", "nothing was sent").await;
    let (_, runs) = bearer(base, "GET", "/api/training/runs", &key, None).await;
    assert_eq!(runs["data"]["items"], json!([]), "the page sent nothing");
    page.doc_shot("ml-10-hyperparameter-checked-in-the-page", "#ml-new-run")
        .await;

    // A provider the server has not configured: only it knows, and says so at the field.
    page.fill("#mlrun-hyperparams-epochs", "10").await;
    page.choose("#mlrun-provider", "runpod").await;
    page.click("#mlrun-submit").await;
    let at_provider = page
        .wait_text("#mlrun-provider-error", "Server answered 422")
        .await;
    assert!(
        at_provider.contains("provider_not_configured"),
        "{at_provider}"
    );
    page.wait_text("#mlrun-result", "The run was not started")
        .await;
    page.doc_shot("ml-11-provider-refused-by-the-server", "#mlrun-form")
        .await;

    // A run cancelled from its page while it waits for a worker: its log ends there.
    page.choose("#mlrun-provider", "").await;
    page.click("#mlrun-submit").await;
    page.wait_text("#mlrun-result", "run_000001").await;
    page.click("#run-cancel").await;
    page.wait_text("#run-follow", "ended: cancelled").await;
    page.wait_text("#run-status", "cancelled").await;
    let log = page.text("#run-log").await;
    assert!(log.contains("cancelled at the vendor's request"), "{log}");
    assert!(!log.contains("epoch "), "no epoch was trained");

    // The key is revoked elsewhere (a second key revokes the first): the next refresh drops it.
    let (_, second) = bearer(base, "POST", "/api/vendors/me/keys", &key, Some(json!({}))).await;
    let second = second["data"]["api_key"].as_str().unwrap().to_owned();
    let (status, _) = bearer(
        base,
        "DELETE",
        "/api/vendors/me/keys/key_000001",
        &second,
        None,
    )
    .await;
    assert_eq!(status, 200);
    page.click("#vendor-refresh").await;
    let said = page.wait_text("#key-status", "token_inactive").await;
    assert!(said.contains("Paste a current key"), "{said}");
    let hidden = page
        .js("return document.getElementById('vendor-body').hidden && !document.getElementById('key-shown')")
        .await;
    assert_eq!(hidden, json!(true), "the vendor's console is closed");
    page.doc_shot("ml-12-revoked-key", "#ml-vendor").await;
}
