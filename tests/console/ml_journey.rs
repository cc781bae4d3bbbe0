//! The vendor's journey through the ML section, as a person walks it: the operator registers
//! the vendor and publishes a round, the vendor pastes its key, starts a run and watches its
//! log and chart until it succeeds, registers a version from it, the operator promotes it, the
//! vendor deploys it, and the model shows in the catalog once its deployment reports. A
//! screenshot of each step is taken for the guide (`docs/ml-marketplace.md`).

use serde_json::json;

use super::support::{Console, ML_OPERATOR, api, bearer, in_browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_journey_in_a_browser() {
    in_browser("the ML journey", journey).await;
}

async fn journey(page: &Console, base: &str) {
    page.open_ml().await;
    page.wait_text("#catalog-list", "No model is listed").await;

    // The operator registers the vendor; its key is shown this once.
    page.fill("#mlvendor-name", "Acme Quant").await;
    page.click("#mlvendor-submit").await;
    page.wait_text("#mlvendor-result", "vendor_000001").await;
    let key = page.text("#issued-key").await;
    assert!(key.starts_with("vk_"), "{key}");
    page.wait_text("#vendors-list", "Acme Quant").await;
    page.doc_shot("ml-01-operator-registers-a-vendor", "#ml-operator")
        .await;

    // ... and generates and publishes a round.
    page.fill("#mlround-round_id", "2026-w49").await;
    page.fill("#mlround-name", "Week 49").await;
    page.click("#mlround-current").await;
    page.fill("#mlround-generate-seed", "7").await;
    page.fill("#mlround-generate-symbols", "EURUSD").await;
    page.fill("#mlround-generate-bars", "400").await;
    page.choose("#mlround-generate-timeframe", "1h").await;
    page.click("#mlround-submit").await;
    page.wait_text("#mlround-result", "2026-w49").await;

    // The vendor pastes the key: kept for the tab only, shown as prefix and last 4.
    page.fill("#vendor-key", &key).await;
    page.click("#key-use").await;
    page.wait_text("#key-status", "Acme Quant").await;
    let shown = page.text("#key-shown").await;
    assert!(
        shown.starts_with("vk_") && shown.ends_with(&key[key.len() - 4..]) && shown.contains('…'),
        "{shown}"
    );
    let stored = page
        .js("return [localStorage.length, sessionStorage.length, document.getElementById('vendor-key').value]")
        .await;
    assert_eq!(
        stored,
        json!([0, 0, ""]),
        "the key is in no storage, nor left in the field"
    );
    let anywhere = page
        .js(&format!(
            "return document.body.innerHTML.includes({})",
            json!(key)
        ))
        .await;
    assert_eq!(
        anywhere,
        json!(false),
        "the key handed over is shown nowhere on the page"
    );
    page.wait_text("#card-runs", "0 queued or running").await;
    page.doc_shot("ml-02-vendor-console", "#ml-vendor").await;

    // A run: the round comes from the API, `current` first.
    page.wait_text("#mlrun-round_id", "current (2026-w49").await;
    page.choose("#mlrun-task", "signal").await;
    page.fill("#mlrun-hyperparams-lr", "0.1").await;
    page.fill("#mlrun-hyperparams-epochs", "30").await;
    page.fill("#mlrun-seed", "7").await;
    page.fill("#mlrun-budget-max_hours", "1").await;
    page.wait_text("#mlrun-json", "\"epochs\": 30").await;
    page.doc_shot("ml-03-new-training-run", "#ml-new-run").await;
    page.click("#mlrun-submit").await;
    page.wait_text("#mlrun-result", "run_000001").await;

    // Its page follows the log and draws each epoch until the end event.
    page.wait_text("#run-follow", "ended: succeeded").await;
    page.wait_until(
        "a point per epoch",
        "return document.getElementById('run-chart').dataset.points === '30'",
    )
    .await;
    let log = page.text("#run-log").await;
    assert!(
        log.contains("epoch 1/30") && log.contains("epoch 30/30"),
        "{log}"
    );
    page.wait_text("#run-status", "succeeded").await;
    page.wait_text("#run-metrics", "val_sharpe").await;
    let sha = page.text("#run-artifact-sha").await;
    assert_eq!(sha.len(), 64, "{sha}");
    page.wait_text("#runs-list", "succeeded").await;
    page.doc_shot("ml-04-run-log-and-chart", "#ml-training")
        .await;

    // Registered from the run: the version takes its metrics, in the first stage.
    page.click("#run-register").await;
    page.fill("#mlmodel-name", "eurusd-lr").await;
    page.fill("#mlmodel-version", "1.0.0").await;
    page.click("#mlmodel-submit").await;
    page.wait_text("#mlmodel-result", "ver_000001").await;
    page.wait_text("#mlmodel-result", "platform").await;
    page.wait_text("#version-row-ver_000001 [data-col=stage]", "shadow")
        .await;

    // The operator promotes it, offered only the moves the stage table allows.
    page.wait_text("#stage-row-ver_000001", "Move to pilot")
        .await;
    let moves = page
        .js("return Array.from(document.querySelectorAll('#stage-row-ver_000001 button')).map((b) => b.textContent)")
        .await;
    assert_eq!(moves, json!(["Move to pilot"]), "from shadow, only pilot");
    page.click("#stage-ver_000001-to-pilot").await;
    page.wait_text("#stage-row-ver_000001 [data-col=stage]", "pilot")
        .await;
    page.wait_text("#stage-row-ver_000001", "Move to prod")
        .await;
    page.doc_shot("ml-05-operator-stages", "#h-stages").await;

    // The vendor deploys it: the token is shown once, with a copy button.
    page.click("#deploy-ver_000001").await;
    page.click("#mldeploy-submit").await;
    page.wait_text("#mldeploy-result", "dep_000001").await;
    page.wait_text("#mldeploy-result", "Shown once").await;
    let token = page.text("#deploy-token").await;
    assert!(token.starts_with("sit_"), "{token}");
    page.wait_text("#version-row-ver_000001", "pilot").await;
    page.doc_shot("ml-06-deployed-token-shown-once", "#mldeploy-result")
        .await;

    // The deployment reports and signals, as its model server would, with its token.
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, _) = bearer(
        base,
        "POST",
        "/api/marketplace/vendor/heartbeats",
        &token,
        Some(json!({"deployment_id": "dep_000001", "status": "ready", "timestamp": now})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = bearer(
        base,
        "POST",
        "/api/signals/store",
        &token,
        Some(
            json!([{"symbol": "EURUSD", "timeframe": "1h", "decision": "BUY", "confidence": 0.72,
                     "model_version": "1.0.0", "timestamp": now}]),
        ),
    )
    .await;
    assert!(status < 300, "{status}");
    page.click("#vendor-refresh").await;
    page.refreshed_ml_after("a manual refresh").await;
    page.wait_text("#deployment-row-dep_000001 [data-col=status]", "ready")
        .await;
    page.click("#signals-dep_000001").await;
    page.wait_text("#signals-view", "EURUSD").await;
    page.wait_text("#card-deployments", "1 ready").await;
    page.wait_text("#card-models", "1").await;
    page.doc_shot("ml-07-deployment-and-signals", "#h-deployments")
        .await;

    // Everyone sees it in the catalog, filtered by task and stage.
    page.choose("#catalog-stage", "pilot").await;
    let row = page
        .wait_text("#catalog-row-model_000001 [data-col=status]", "ready")
        .await;
    assert_eq!(row, "ready");
    let heartbeat = page
        .wait_text("#catalog-row-model_000001 [data-col=heartbeat]", "ago")
        .await;
    assert!(heartbeat.ends_with("ago"), "{heartbeat}");
    page.wait_text("#catalog-row-model_000001 [data-col=sharpe]", "platform")
        .await;
    page.wait_text("#catalog-row-model_000001 [data-col=predictions]", "1")
        .await;
    page.wait_text("#catalog-row-model_000001 [data-col=confidence]", "0.720")
        .await;
    page.doc_shot("ml-08-catalog", "#ml-catalog").await;

    // A refresh that brings nothing new leaves the lists as they are: no element is replaced,
    // so nothing moves under the reader (the relative times alone are rewritten in place).
    page.js("window.shownBefore = [document.getElementById('catalog-table'), document.querySelector('#vendor-cards .card')]; \
             window.seqBefore = document.getElementById('ml-updated').dataset.seq; return true")
        .await;
    page.click("#vendor-refresh").await;
    page.wait_until(
        "the second manual refresh",
        "return document.getElementById('ml-updated').dataset.seq !== window.seqBefore",
    )
    .await;
    let kept = page
        .js("return window.shownBefore[0] === document.getElementById('catalog-table') && window.shownBefore[1] === document.querySelector('#vendor-cards .card')")
        .await;
    assert_eq!(kept, json!(true), "the refresh replaced an unchanged list");
    page.choose("#catalog-stage", "prod").await;
    page.wait_text("#catalog-list", "No model is listed").await;
    page.choose("#catalog-stage", "").await;
    page.wait_text("#catalog-list", "eurusd-lr").await;

    // In pages: a second live model (registered and promoted behind the page's back), one a page.
    let (status, _) = bearer(
        base,
        "POST",
        "/api/vendors/models",
        &key,
        Some(json!({"name": "gbpusd-momentum", "task": "signal", "version": "0.1.0"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = api(
        base,
        "POST",
        "/api/models/model_000002/versions/ver_000002/stage",
        ML_OPERATOR,
        Some(json!({"stage": "pilot"})),
    )
    .await;
    assert_eq!(status, 200);
    page.fill("#catalog-limit", "1").await;
    page.choose("#catalog-task", "signal").await;
    page.wait_text("#catalog-page", "Page 1, 1 model").await;
    page.wait_text("#catalog-list", "eurusd-lr").await;
    assert!(!page.disabled("#catalog-next").await, "a second page");
    page.click("#catalog-next").await;
    page.wait_text("#catalog-page", "Page 2").await;
    page.wait_text("#catalog-list", "gbpusd-momentum").await;
    assert!(page.disabled("#catalog-next").await, "no third page");
    page.click("#catalog-prev").await;
    page.wait_text("#catalog-list", "eurusd-lr").await;

    // A new version of the first model, registered from the same run.
    page.choose("#mlversion-model", "model_000001").await;
    page.fill("#mlversion-version", "1.1.0").await;
    page.fill("#mlversion-training_run_id", "run_000001").await;
    page.click("#mlversion-submit").await;
    page.wait_text("#mlversion-result", "ver_000003").await;
    page.wait_text("#model-model_000001", "1.1.0").await;

    // Readable at a phone's width.
    page.client.set_window_size(390, 844).await.unwrap();
    page.wait_until(
        "the page to fit the phone's width",
        "return document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    page.doc_shot("ml-09-phone-width", "#ml-vendor").await;
}
