//! Who may read and write what: a vendor sees only its own keys, models and deployments, a
//! deployment writes only as itself, and a browser reaches the API only from a listed origin.

use std::sync::Arc;

use marketref::store::SqliteStore;
use serde_json::json;

use super::support::{Ml, deploy, heartbeat_body, model, signal, vendor};
use crate::support::TestServer;

#[tokio::test]
async fn a_vendor_reads_and_changes_only_its_own() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let other = vendor(&server, "Other").await;
    let acme_model = model(&server, &acme, "acme-model").await;
    let acme_deployment = deploy(&server, &acme, &acme_model).await;
    let other_model = model(&server, &other, "other-model").await;
    let before = server.dump();

    let get = server
        .op("mlModels.get", &[("model_id", &acme_model.model_id)])
        .bearer(&other.key)
        .send()
        .await;
    assert_eq!(
        (get.status, get.reason()),
        (403, "vendor_mismatch"),
        "{}",
        get.body
    );
    let version = server
        .op("mlVersions.create", &[("model_id", &acme_model.model_id)])
        .bearer(&other.key)
        .json(&json!({"version": "2.0.0"}))
        .send()
        .await;
    assert_eq!(version.reason(), "vendor_mismatch");
    let deployment = server
        .op("mlDeployments.create", &[])
        .bearer(&other.key)
        .json(&json!({"model_id": acme_model.model_id, "version_id": acme_model.version_id}))
        .send()
        .await;
    assert_eq!(deployment.reason(), "vendor_mismatch");
    let rotate = server
        .op(
            "mlDeployments.rotateToken",
            &[("deployment_id", &acme_deployment.id)],
        )
        .bearer(&other.key)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(rotate.reason(), "vendor_mismatch");
    let keys = server.op("mlKeys.list", &[]).bearer(&acme.key).send().await;
    let acme_key_id = keys.body["data"]["items"][0]["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = server
        .op("mlKeys.revoke", &[("key_id", &acme_key_id)])
        .bearer(&other.key)
        .send()
        .await;
    assert_eq!(revoke.reason(), "vendor_mismatch");
    assert_eq!(
        server.dump(),
        before,
        "a refused cross-tenant call changes nothing"
    );

    // The listings hold the caller's own rows only.
    let models = server
        .op("mlModels.list", &[])
        .bearer(&other.key)
        .send()
        .await;
    let ids: Vec<&str> = models.body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|model| model["model_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [other_model.model_id.as_str()]);
    let deployments = server
        .op("mlDeployments.list", &[])
        .bearer(&other.key)
        .send()
        .await;
    assert_eq!(deployments.body["data"]["items"], json!([]));
    let keys = server
        .op("mlKeys.list", &[])
        .bearer(&other.key)
        .send()
        .await;
    let listed = keys.body["data"]["items"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_ne!(listed[0]["key_id"], acme_key_id.as_str());
    // The acme key still works: the refused revocation did not revoke it.
    assert_eq!(
        server
            .op("mlVendors.me", &[])
            .bearer(&acme.key)
            .send()
            .await
            .status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn a_deployment_writes_only_as_itself() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let other = vendor(&server, "Other").await;
    let acme_deployment = deploy(&server, &acme, &model(&server, &acme, "a").await).await;
    let other_deployment = deploy(&server, &other, &model(&server, &other, "o").await).await;
    let before = server.dump();

    let heartbeat = server
        .op("mlHeartbeats.record", &[])
        .bearer(&acme_deployment.token)
        .json(&heartbeat_body(&other_deployment))
        .send()
        .await;
    assert_eq!(
        (heartbeat.status, heartbeat.reason()),
        (403, "deployment_mismatch")
    );
    // One signal of the batch names another deployment: the batch is refused whole.
    let mut foreign = signal("GBPUSD", "SELL", 0.7);
    foreign["deployment_id"] = json!(other_deployment.id);
    let batch = server
        .op("mlSignals.store", &[])
        .bearer(&acme_deployment.token)
        .json(&json!([signal("EURUSD", "BUY", 0.6), foreign]))
        .send()
        .await;
    assert_eq!(
        (batch.status, batch.reason()),
        (403, "attribution_mismatch"),
        "{}",
        batch.body
    );
    let mut consensus = json!({"symbol": "EURUSD", "timeframe": "1h", "decision": "BUY",
        "confidence": 0.5, "model_version": "1.0.0", "timestamp": crate::support::SERVER_NOW,
        "contributions": {"dep_000001": {"decision": "BUY", "weight": 1.0}}});
    consensus["vendor_id"] = json!(other.id);
    let refused = server
        .op("mlConsensus.store", &[])
        .bearer(&acme_deployment.token)
        .json(&consensus)
        .send()
        .await;
    assert_eq!(refused.reason(), "attribution_mismatch", "{}", refused.body);
    // A refused write still counts against the deployment's rate window and marks its token
    // used (it authenticated); nothing else of it is stored.
    let (after, before) = (domain_rows(server.dump()), domain_rows(before));
    for (table, rows) in before.as_object().unwrap() {
        assert_eq!(
            &after[table], rows,
            "{table}: nothing of a refused write is stored"
        );
    }
    assert_eq!(server.dump()["rate_windows"][0]["count"], 3);

    // The signals it may write carry its own attribution, whatever the body omits.
    let stored = server
        .op("mlSignals.store", &[])
        .bearer(&acme_deployment.token)
        .json(&json!([signal("EURUSD", "BUY", 0.6)]))
        .send()
        .await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    let listed = server.op("mlSignals.list", &[]).send().await;
    let row = &listed.body["data"]["items"][0];
    assert_eq!(row["vendor_id"], acme.id.as_str());
    assert_eq!(row["deployment_id"], acme_deployment.id.as_str());
    let filtered = server
        .call("GET", &format!("/api/signals?vendor_id={}", other.id))
        .send()
        .await;
    assert_eq!(filtered.body["data"]["items"], json!([]));
    server.stop().await;
}

/// The dump without the accounting every authenticated request leaves.
fn domain_rows(mut dump: serde_json::Value) -> serde_json::Value {
    dump.as_object_mut().unwrap().remove("rate_windows");
    for credential in dump["credentials"].as_array_mut().unwrap() {
        credential.as_object_mut().unwrap().remove("last_used_at");
    }
    dump
}

#[tokio::test]
async fn the_operator_scopes_guard_vendor_creation_and_the_full_model_listing() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let create = server
        .op("mlVendors.create", &[])
        .actor("partner", "someone", "ml:read")
        .json(&json!({"name": "Sneaky"}))
        .send()
        .await;
    assert_eq!(create.status, 403, "{}", create.body);
    let with_a_key = server
        .op("mlVendors.create", &[])
        .bearer(&acme.key)
        .json(&json!({"name": "Sneaky"}))
        .send()
        .await;
    assert_eq!(with_a_key.status, 401, "{}", with_a_key.body);
    let all = server
        .op("mlModels.listAll", &[])
        .bearer(&acme.key)
        .send()
        .await;
    assert_eq!(all.status, 401, "{}", all.body);
    assert_eq!(
        server.operator("mlModels.listAll", &[]).send().await.status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn a_browser_reaches_the_api_only_from_a_listed_origin() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("m.sqlite")).unwrap());
    let options = marketref::http::RuntimeOptions {
        cors_origins: vec!["https://console.example".to_owned()],
        ..marketref::http::RuntimeOptions::default()
    };
    let server = TestServer::start_with_options(store, false, options).await;
    let preflight = |origin: &'static str| {
        server
            .call("OPTIONS", "/api/catalog")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send_raw()
    };
    let listed = preflight("https://console.example").await;
    assert_eq!(
        listed.header("access-control-allow-origin"),
        Some("https://console.example")
    );
    let unlisted = preflight("https://evil.example").await;
    assert_eq!(unlisted.header("access-control-allow-origin"), None);
    let read = server
        .call("GET", "/api/catalog")
        .header("origin", "https://console.example")
        .send_raw()
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.header("access-control-allow-origin"),
        Some("https://console.example")
    );
    assert!(
        read.header("access-control-expose-headers")
            .is_some_and(|exposed| exposed.contains("x-marketplace-contracts-version"))
    );
    server.stop().await;

    // Without listed origins there is no cross-origin access at all.
    let closed = TestServer::start().await;
    let preflight = closed
        .call("OPTIONS", "/api/catalog")
        .header("origin", "https://console.example")
        .header("access-control-request-method", "GET")
        .send_raw()
        .await;
    assert_eq!(preflight.header("access-control-allow-origin"), None);
    closed.stop().await;
}

#[tokio::test]
async fn every_ml_answer_names_the_contracts_version_and_wears_the_envelope() {
    let server = TestServer::start().await;
    let ok = server.call("GET", "/api/catalog").send_raw().await;
    let version = ok
        .header("x-marketplace-contracts-version")
        .unwrap()
        .to_owned();
    assert!(version.split('.').count() == 3, "{version}");
    let body: serde_json::Value = serde_json::from_slice(&ok.bytes).unwrap();
    assert_eq!(body["success"], true);
    assert!(body["data"]["items"].is_array());
    let refused = server.op("mlVendors.me", &[]).send_raw().await;
    assert_eq!(
        refused.header("x-marketplace-contracts-version"),
        Some(version.as_str())
    );
    assert_eq!(refused.error()["success"], false);
    server.stop().await;
}
