//! A vendor's journey in calls, for the ML tests: each helper asserts its own success.

use serde_json::{Value, json};

use crate::support::{Call, SERVER_NOW, TestServer};

/// The operator's scopes.
pub const OPERATE: &str = "ml:operate ml:read";

pub trait Ml {
    fn operator(&self, operation_id: &str, params: &[(&str, &str)]) -> Call;
}

impl Ml for TestServer {
    fn operator(&self, operation_id: &str, params: &[(&str, &str)]) -> Call {
        self.op(operation_id, params)
            .actor("partner", "operator_main", OPERATE)
    }
}

/// A vendor and its key.
pub struct Vendor {
    pub id: String,
    pub key: String,
}

pub async fn vendor(server: &TestServer, name: &str) -> Vendor {
    let reply = server
        .operator("mlVendors.create", &[])
        .json(&json!({"name": name}))
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    Vendor {
        id: reply.body["data"]["vendor_id"].as_str().unwrap().to_owned(),
        key: reply.body["data"]["api_key"].as_str().unwrap().to_owned(),
    }
}

pub async fn round(server: &TestServer, round_id: &str, bars: u32) -> Value {
    let reply = server
        .operator("mlRounds.create", &[])
        .json(&json!({"round_id": round_id, "name": round_id,
            "generate": {"seed": 1, "symbols": ["EURUSD", "GBPUSD"], "bars": bars, "timeframe": "1h"}}))
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["data"].clone()
}

/// A model of the vendor and its first version.
pub struct Registered {
    pub model_id: String,
    pub version_id: String,
}

pub async fn model(server: &TestServer, vendor: &Vendor, name: &str) -> Registered {
    let reply = server
        .op("mlModels.create", &[])
        .bearer(&vendor.key)
        .json(&json!({"name": name, "task": "signal", "version": "1.0.0"}))
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    Registered {
        model_id: reply.body["data"]["model_id"].as_str().unwrap().to_owned(),
        version_id: reply.body["data"]["version_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

pub async fn stage(server: &TestServer, model: &Registered, stage: &str) -> crate::support::Reply {
    server
        .operator(
            "mlVersions.stage",
            &[
                ("model_id", &model.model_id),
                ("version_id", &model.version_id),
            ],
        )
        .json(&json!({"stage": stage}))
        .send()
        .await
}

/// A deployment and its token.
pub struct Deployed {
    pub id: String,
    pub token: String,
}

pub async fn deploy(server: &TestServer, vendor: &Vendor, model: &Registered) -> Deployed {
    let reply = server
        .op("mlDeployments.create", &[])
        .bearer(&vendor.key)
        .json(&json!({"model_id": model.model_id, "version_id": model.version_id}))
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    Deployed {
        id: reply.body["data"]["deployment_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        token: reply.body["data"]["infra_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

pub fn heartbeat_body(deployment: &Deployed) -> Value {
    json!({"deployment_id": deployment.id, "status": "ready", "timestamp": SERVER_NOW})
}

pub fn signal(symbol: &str, decision: &str, confidence: f64) -> Value {
    json!({"symbol": symbol, "timeframe": "1h", "decision": decision, "confidence": confidence,
           "model_version": "1.0.0", "timestamp": SERVER_NOW})
}

/// The ML rows of the reasons table (`tests/reasons.rs`): each reason the domain and its auth
/// schemes answer, reached once.
pub async fn reason_rows(server: &TestServer) -> Vec<(String, u16)> {
    let mut seen = Vec::new();
    let mut note = |reply: crate::support::Reply, reason: &str| {
        assert_eq!(reply.reason(), reason, "{}", reply.body);
        seen.push((reason.to_owned(), reply.status));
    };
    let acme = vendor(server, "Acme").await;
    let other = vendor(server, "Other").await;
    note(
        server.op("mlVendors.me", &[]).send().await,
        "auth_header_required",
    );
    note(
        server
            .op("mlVendors.me", &[])
            .bearer("vk_nope")
            .send()
            .await,
        "token_malformed",
    );
    let unknown =
        marketref::credentials::issue(marketref::credentials::TokenKind::VendorKey, "key_999999");
    note(
        server
            .op("mlVendors.me", &[])
            .bearer(&unknown.token)
            .send()
            .await,
        "token_inactive",
    );
    let model = model(server, &acme, "m").await;
    let deployment = deploy(server, &acme, &model).await;
    note(
        server
            .op("mlVendors.me", &[])
            .bearer(&deployment.token)
            .send()
            .await,
        "token_scope_insufficient",
    );
    note(
        server
            .op("mlVendors.me", &[])
            .bearer(&acme.key)
            .header("x-marketplace-contracts-version", "one")
            .send()
            .await,
        "contracts_version_invalid",
    );
    note(
        server
            .op("mlVendors.me", &[])
            .bearer(&acme.key)
            .header("x-marketplace-contracts-version", "9.0.0")
            .send()
            .await,
        "contracts_version_unsupported",
    );
    note(
        server
            .op("mlKeys.revoke", &[("key_id", "key_999999")])
            .bearer(&acme.key)
            .send()
            .await,
        "key_not_found",
    );
    note(
        server
            .op("mlModels.get", &[("model_id", &model.model_id)])
            .bearer(&other.key)
            .send()
            .await,
        "vendor_mismatch",
    );
    note(
        server
            .op("mlModels.get", &[("model_id", "model_999999")])
            .bearer(&acme.key)
            .send()
            .await,
        "model_not_found",
    );
    note(
        server
            .op("mlDeployments.create", &[])
            .bearer(&acme.key)
            .json(&json!({"model_id": model.model_id, "version_id": "ver_999999"}))
            .send()
            .await,
        "version_not_found",
    );
    note(
        server
            .op("mlVersions.create", &[("model_id", &model.model_id)])
            .bearer(&acme.key)
            .json(&json!({"version": "1.0.0"}))
            .send()
            .await,
        "version_exists",
    );
    note(
        stage(server, &model, "prod").await,
        "invalid_stage_transition",
    );
    note(
        server
            .op(
                "mlDeployments.rotateToken",
                &[("deployment_id", "dep_999999")],
            )
            .bearer(&acme.key)
            .json(&json!({}))
            .send()
            .await,
        "deployment_not_found",
    );
    note(
        server
            .op("mlHeartbeats.record", &[])
            .bearer(&deployment.token)
            .json(
                &json!({"deployment_id": "dep_999999", "status": "ready", "timestamp": SERVER_NOW}),
            )
            .send()
            .await,
        "deployment_mismatch",
    );
    let mut named_other = signal("EURUSD", "BUY", 0.5);
    named_other["vendor_id"] = json!(other.id);
    note(
        server
            .op("mlSignals.store", &[])
            .bearer(&deployment.token)
            .json(&json!([named_other]))
            .send()
            .await,
        "attribution_mismatch",
    );
    note(
        server.op("mlConsensus.get", &[]).send().await,
        "query_invalid",
    );
    note(
        server
            .call("GET", "/api/consensus?symbol=NONE&timeframe=1h")
            .send()
            .await,
        "consensus_not_found",
    );
    note(
        server
            .op("mlRounds.current", &[])
            .bearer(&acme.key)
            .send()
            .await,
        "round_not_found",
    );
    round(server, "r1", 200).await;
    note(
        server
            .operator("mlRounds.create", &[])
            .json(&json!({"round_id": "r1", "name": "again",
            "generate": {"symbols": ["EURUSD"], "bars": 200, "timeframe": "1h"}}))
            .send()
            .await,
        "round_exists",
    );
    note(
        server
            .call("GET", "/api/datasets/files/r1/train.csv?exp=1&kid=x&sig=00")
            .send()
            .await,
        "signed_url_invalid",
    );
    let urls = server
        .op("mlDatasets.signedUrls", &[])
        .bearer(&acme.key)
        .json(&json!({"round_id": "r1"}))
        .send()
        .await;
    let url = urls.body["data"]["urls"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // A genuine signature (the test server's development pepper) for a file the round lacks.
    let signer = marketref::credentials::UrlSigner::new(&marketref::credentials::Pepper::dev());
    let path = "/api/datasets/files/r1/nothing.csv";
    let signed = signer.sign("GET", path, 4_102_444_800);
    let missing = server
        .call(
            "GET",
            &format!(
                "{path}?exp={}&kid={}&sig={}",
                signed.exp, signed.kid, signed.sig
            ),
        )
        .send_raw()
        .await;
    note(missing.refusal(), "dataset_file_not_found");
    let range = server
        .call("GET", &url)
        .header("range", "bytes=999999999-")
        .send_raw()
        .await;
    note(range.refusal(), "range_not_satisfiable");
    stage(server, &model, "pilot").await;
    stage(server, &model, "prod").await;
    stage(server, &model, "retired").await;
    note(
        server
            .op("mlDeployments.create", &[])
            .bearer(&acme.key)
            .json(&json!({"model_id": model.model_id, "version_id": model.version_id}))
            .send()
            .await,
        "version_retired",
    );
    for _ in 0..59 {
        server
            .op("mlHeartbeats.record", &[])
            .bearer(&deployment.token)
            .json(&heartbeat_body(&deployment))
            .send()
            .await;
    }
    note(
        server
            .op("mlHeartbeats.record", &[])
            .bearer(&deployment.token)
            .json(&heartbeat_body(&deployment))
            .send()
            .await,
        "rate_limited",
    );
    seen
}
