//! From a registered model to the catalog: stages with their history, a deployment whose
//! heartbeats (or their absence) give its status, signals stored all or none, consensus, and
//! the catalog's fields, filters and order.

use serde_json::{Value, json};

use super::support::{deploy, heartbeat_body, model, signal, stage, vendor};
use crate::support::TestServer;

#[tokio::test]
async fn a_version_moves_only_along_the_stage_table_and_keeps_its_history() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let registered = model(&server, &acme, "momentum").await;
    let jump = stage(&server, &registered, "prod").await;
    assert_eq!(jump.status, 409);
    assert_eq!(jump.body["error"]["details"]["allowed"], json!(["pilot"]));
    for (to, ok) in [
        ("pilot", true),
        ("shadow", true),
        ("pilot", true),
        ("prod", true),
        ("pilot", true),
        ("prod", true),
        ("retired", true),
        ("prod", false),
    ] {
        let reply = stage(&server, &registered, to).await;
        assert_eq!(reply.status == 200, ok, "to {to}: {}", reply.body);
    }
    let read = server
        .op("mlModels.get", &[("model_id", &registered.model_id)])
        .bearer(&acme.key)
        .send()
        .await;
    let history = &read.body["data"]["versions"][0]["stage_history"];
    let moves: Vec<(Value, Value)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["from"].clone(), m["to"].clone()))
        .collect();
    assert_eq!(moves.len(), 8);
    assert_eq!(moves[0], (Value::Null, json!("shadow")));
    assert_eq!(moves[7], (json!("prod"), json!("retired")));
    assert_eq!(history[0]["by"], format!("vendor:{}", acme.id));
    assert_eq!(history[1]["by"], "partner:operator_main");
    server.stop().await;
}

#[tokio::test]
async fn a_deployment_reads_offline_three_minutes_after_its_last_heartbeat() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let registered = model(&server, &acme, "m").await;
    let deployment = deploy(&server, &acme, &registered).await;
    let status = |at: &'static str| {
        let server = &server;
        let key = acme.key.clone();
        async move {
            let reply = server
                .op("mlDeployments.list", &[])
                .bearer(&key)
                .at(at)
                .send()
                .await;
            reply.body["data"]["items"][0]["status"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(status("2026-03-01T09:00:00Z").await, "pending");
    let beat = server
        .op("mlHeartbeats.record", &[])
        .bearer(&deployment.token)
        .at("2026-03-01T09:00:00Z")
        .json(&json!({"deployment_id": deployment.id, "status": "ready", "timestamp": "2026-03-01T08:59:59Z",
                      "metrics": {"cpu_usage": 0.4, "memory_usage": 0.5, "avg_latency_ms": 12.5, "requests_last_minute": 30, "error_count_last_minute": 0}}))
        .send()
        .await;
    assert_eq!(beat.status, 200, "{}", beat.body);
    assert_eq!(status("2026-03-01T09:02:59Z").await, "ready");
    assert_eq!(status("2026-03-01T09:03:00Z").await, "offline");
    let bad = server
        .op("mlHeartbeats.record", &[])
        .bearer(&deployment.token)
        .json(&json!({"deployment_id": deployment.id, "status": "ready", "timestamp": "2026-03-01T09:00:00Z", "metrics": {"cpu_usage": 1.5}}))
        .send()
        .await;
    assert_eq!(bad.reason(), "request_body_malformed");
    assert_eq!(bad.body["error"]["details"]["field"], "metrics.cpu_usage");
    server.stop().await;
}

#[tokio::test]
async fn signals_are_stored_all_or_none_and_read_back_with_their_attribution() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let registered = model(&server, &acme, "m").await;
    let deployment = deploy(&server, &acme, &registered).await;
    let store = |body: Value| {
        server
            .op("mlSignals.store", &[])
            .bearer(&deployment.token)
            .json(&body)
            .send()
    };
    let mut broken = signal("EURUSD", "BUY", 0.5);
    broken["confidence"] = json!(1.5);
    let refused = store(json!([signal("EURUSD", "BUY", 0.6), broken])).await;
    assert_eq!(refused.reason(), "request_body_malformed");
    assert_eq!(refused.body["error"]["details"]["field"], "1.confidence");
    let mut unknown = signal("EURUSD", "BUY", 0.5);
    unknown["colour"] = json!("red");
    assert_eq!(
        store(json!([unknown])).await.body["error"]["details"]["rule"],
        "additionalProperties"
    );
    assert_eq!(server.dump()["ml_signals"], json!([]), "nothing was stored");
    let mut own = signal("GBPUSD", "SELL", 0.8);
    own["vendor_id"] = json!(acme.id);
    own["deployment_id"] = json!(deployment.id);
    let stored = store(json!([signal("EURUSD", "BUY", 0.6), own])).await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    assert_eq!(
        stored.body["data"]["signal_ids"],
        json!(["sig_000001", "sig_000002"])
    );
    let read = server
        .call("GET", "/api/signals?symbol=GBPUSD")
        .send()
        .await;
    let item = &read.body["data"]["items"][0];
    assert_eq!(item["vendor_id"], acme.id.as_str());
    assert_eq!(item["deployment_id"], deployment.id.as_str());
    assert_eq!(item["model_id"], registered.model_id.as_str());
    assert_eq!(read.body["data"]["items"].as_array().unwrap().len(), 1);
    let newest_first = server.call("GET", "/api/signals?limit=1").send().await;
    assert_eq!(
        newest_first.body["data"]["items"][0]["signal_id"],
        "sig_000002"
    );
    assert_eq!(newest_first.body["data"]["next_cursor"], "sig_000002");
    let older = server
        .call("GET", "/api/signals?limit=1&cursor=sig_000002")
        .send()
        .await;
    assert_eq!(older.body["data"]["items"][0]["signal_id"], "sig_000001");
    // Every filter, alone and together, with the cursor: another deployment's signal and
    // another timeframe stay out.
    let other = deploy(&server, &acme, &registered).await;
    let mut four_hours = signal("EURUSD", "HOLD", 0.4);
    four_hours["timeframe"] = json!("4h");
    let theirs = server
        .op("mlSignals.store", &[])
        .bearer(&other.token)
        .json(&json!([signal("EURUSD", "SELL", 0.7), four_hours]))
        .send()
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    let ids = |query: String| {
        let server = &server;
        async move {
            let read = server
                .call("GET", &format!("/api/signals?{query}"))
                .send()
                .await;
            assert_eq!(read.status, 200, "{query}: {}", read.body);
            read.body["data"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["signal_id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(format!("deployment_id={}", deployment.id)).await,
        ["sig_000002", "sig_000001"]
    );
    assert_eq!(
        ids(format!(
            "deployment_id={}&symbol=EURUSD&timeframe=1h",
            other.id
        ))
        .await,
        ["sig_000003"]
    );
    assert_eq!(
        ids(format!("vendor_id={}&timeframe=4h", acme.id)).await,
        ["sig_000004"]
    );
    assert_eq!(
        ids("symbol=EURUSD&cursor=sig_000003".to_owned()).await,
        ["sig_000001"]
    );
    server.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_replays_within_a_deployment_only() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let registered = model(&server, &acme, "m").await;
    let one = deploy(&server, &acme, &registered).await;
    let two = deploy(&server, &acme, &registered).await;
    let send = |token: &str, body: Value| {
        server
            .op("mlSignals.store", &[])
            .bearer(token)
            .header("x-idempotency-key", "EURUSD:1h:100")
            .json(&body)
            .send()
    };
    let body = json!([signal("EURUSD", "BUY", 0.6)]);
    let first = send(&one.token, body.clone()).await;
    let replay = send(&one.token, body.clone()).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
    let other_deployment = send(&two.token, body.clone()).await;
    assert_eq!(other_deployment.status, 201);
    assert_eq!(
        other_deployment.header("idempotent-replayed"),
        None,
        "keys are per deployment"
    );
    let mismatch = send(&one.token, json!([signal("EURUSD", "SELL", 0.6)])).await;
    assert_eq!(mismatch.reason(), "idempotency_key_reuse_payload_mismatch");
    assert_eq!(server.dump()["ml_signals"].as_array().unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn consensus_is_written_or_computed_from_the_latest_signals() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let registered = model(&server, &acme, "m").await;
    let one = deploy(&server, &acme, &registered).await;
    let two = deploy(&server, &acme, &registered).await;
    for (deployment, decision, confidence) in
        [(&one, "SELL", 0.9), (&one, "BUY", 0.6), (&two, "BUY", 0.3)]
    {
        let reply = server
            .op("mlSignals.store", &[])
            .bearer(&deployment.token)
            .json(&json!([signal("EURUSD", decision, confidence)]))
            .send()
            .await;
        assert_eq!(reply.status, 201);
    }
    let computed = server
        .call("GET", "/api/consensus?symbol=EURUSD&timeframe=1h")
        .send()
        .await;
    let data = &computed.body["data"];
    assert_eq!(data["computed"], true);
    assert_eq!(
        data["decision"], "BUY",
        "the latest of each deployment: BUY 0.6 and BUY 0.3"
    );
    assert_eq!(data["confidence"], 1);
    assert_eq!(data["contributions"].as_object().unwrap().len(), 2);
    let written = server
        .op("mlConsensus.store", &[])
        .bearer(&two.token)
        .json(
            &json!({"symbol": "EURUSD", "timeframe": "1h", "decision": "HOLD", "confidence": 0.55,
                      "model_version": "c1", "timestamp": "2026-02-28T19:00:00Z",
                      "contributions": {"dep_000001": {"decision": "BUY", "weight": 0.5}}}),
        )
        .send()
        .await;
    assert_eq!(written.status, 201, "{}", written.body);
    let read = server
        .call("GET", "/api/consensus?symbol=EURUSD&timeframe=1h")
        .send()
        .await;
    assert_eq!(read.body["data"]["computed"], false);
    assert_eq!(read.body["data"]["decision"], "HOLD");
    assert_eq!(read.body["data"]["deployment_id"], two.id.as_str());
    server.stop().await;
}

#[tokio::test]
async fn the_catalog_lists_live_models_with_every_field_and_its_filters() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let beta = vendor(&server, "Beta").await;
    let shadow_only = model(&server, &acme, "hidden").await;
    let pilot = model(&server, &acme, "alpha-pilot").await;
    let prod = model(&server, &beta, "beta-prod").await;
    for (registered, stages) in [(&pilot, &["pilot"][..]), (&prod, &["pilot", "prod"][..])] {
        for to in stages {
            assert_eq!(stage(&server, registered, to).await.status, 200);
        }
    }
    let deployment = deploy(&server, &beta, &prod).await;
    server
        .op("mlHeartbeats.record", &[])
        .bearer(&deployment.token)
        .json(&heartbeat_body(&deployment))
        .send()
        .await;
    server
        .op("mlSignals.store", &[])
        .bearer(&deployment.token)
        .json(&json!([
            signal("EURUSD", "BUY", 0.6),
            signal("EURUSD", "SELL", 0.8)
        ]))
        .send()
        .await;
    let catalog = server.op("mlCatalog.list", &[]).send().await;
    let items = catalog.body["data"]["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [pilot.model_id.as_str(), prod.model_id.as_str()],
        "no Sharpe yet: by id"
    );
    assert!(!ids.contains(&shadow_only.model_id.as_str()));
    let beta_entry = &items[1];
    assert_eq!(beta_entry["stage"], "prod");
    assert_eq!(beta_entry["status"], "ready");
    assert_eq!(beta_entry["total_predictions"], 2);
    assert_eq!(beta_entry["avg_confidence"], 0.7);
    assert_eq!(beta_entry["deployment_count"], 1);
    assert_eq!(beta_entry["vendor_name"], "Beta");
    let alpha_entry = &items[0];
    for key in [
        "last_heartbeat_at",
        "status",
        "last_oos_sharpe",
        "avg_confidence",
        "metrics_source",
        "description",
    ] {
        assert!(
            alpha_entry.get(key).is_some_and(Value::is_null),
            "{key} is there, as null"
        );
    }
    let filtered = server
        .call(
            "GET",
            &format!("/api/catalog?stage=prod&vendor={}", beta.id),
        )
        .send()
        .await;
    assert_eq!(filtered.body["data"]["items"].as_array().unwrap().len(), 1);
    let by_task = server
        .call("GET", "/api/catalog?task=consensus")
        .send()
        .await;
    assert_eq!(by_task.body["data"]["items"], json!([]));
    let paged = server.call("GET", "/api/catalog?limit=1").send().await;
    let next = paged.body["data"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let rest = server
        .call("GET", &format!("/api/catalog?limit=1&cursor={next}"))
        .send()
        .await;
    assert_eq!(rest.body["data"]["items"][0]["id"], prod.model_id.as_str());
    assert_eq!(rest.body["data"]["next_cursor"], Value::Null);
    server.stop().await;
}
