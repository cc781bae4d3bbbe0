//! Every reason code in the registry (but `internal_error`, which is a bug) is reachable over
//! HTTP with the status its class fixes. The tables are checked against the registry, so a new
//! reason without a row here fails this test.

use std::collections::BTreeSet;

use marketref::reason::Reason;
use serde_json::{Value, json};

use crate::support::{TestServer, first_run_body, intent};

/// Sends a call, checks its reason, and notes it.
macro_rules! expect {
    ($seen:ident, $call:expr, $reason:expr) => {{
        let reply = $call.send().await;
        assert_eq!(reply.reason(), $reason, "{}", reply.body);
        $seen.push((reply.reason().to_owned(), reply.status));
        reply
    }};
}

#[tokio::test]
async fn every_reason_is_reachable_with_its_status() {
    let mut seen = swap_and_shared_rows(&TestServer::start().await).await;
    seen.extend(data_market_rows(&TestServer::start().await).await);
    seen.extend(crate::ml_market::reason_rows(&TestServer::start().await).await);
    seen.extend(crate::ml_market::training_reason_rows(&TestServer::start().await).await);

    for (code, status) in &seen {
        assert_eq!(
            Reason::from_code(code).map(Reason::status),
            Some(*status),
            "{code}"
        );
    }
    let reached: BTreeSet<&str> = seen.iter().map(|(code, _)| code.as_str()).collect();
    let expected: BTreeSet<&str> = Reason::ALL
        .iter()
        .filter(|r| **r != Reason::InternalError)
        .map(|r| r.code())
        .collect();
    let missing: Vec<&&str> = expected.difference(&reached).collect();
    assert!(
        missing.is_empty(),
        "every registered reason needs a row in these tables: {missing:?}"
    );
}

async fn swap_and_shared_rows(server: &TestServer) -> Vec<(String, u16)> {
    let w = "swap_intents:write";
    let mut seen = Vec::new();
    let new_intent =
        |id: &str, actor: &str, want: &str| json!({"intent": intent(id, actor, "x", want)});

    expect!(
        seen,
        server.op("swapIntents.list", &[]),
        "auth_identity_missing"
    );
    expect!(
        seen,
        server
            .op("swapIntents.list", &[])
            .actor("robot", "r", "swap_intents:read"),
        "auth_actor_type_unknown"
    );
    expect!(
        seen,
        server
            .op("marketplaceMatchingRun.list", &[])
            .actor("user", "u", "settlement:read"),
        "auth_actor_type_not_allowed"
    );
    expect!(
        seen,
        server.op("swapIntents.list", &[]).actor("user", "u", ""),
        "auth_scope_missing"
    );
    expect!(
        seen,
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .json(&new_intent("i1", "u1", "y")),
        "idempotency_key_required"
    );
    expect!(
        seen,
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("a b")
            .json(&new_intent("i1", "u1", "y")),
        "idempotency_key_invalid"
    );
    expect!(
        seen,
        server.op("system.health", &[]).header("x-now-iso", "soon"),
        "request_clock_invalid"
    );
    expect!(
        seen,
        server
            .call("GET", "/swap-intents?limit=0")
            .actor("user", "u", "swap_intents:read"),
        "query_invalid"
    );
    expect!(seen, server.call("GET", "/nowhere"), "route_not_found");
    expect!(seen, server.call("PUT", "/healthz"), "method_not_allowed");
    expect!(
        seen,
        server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key("big")
            .raw("x".repeat(1_100_000)),
        "request_body_too_large"
    );
    expect!(
        seen,
        server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key("as-form")
            .typed("application/x-www-form-urlencoded", "max_proposals=5"),
        "unsupported_media_type"
    );

    expect!(
        seen,
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("k0")
            .json(&json!({"intent": {"id": "i1"}})),
        "swap_intent_invalid"
    );
    let created = server
        .op("swapIntents.create", &[])
        .actor("user", "u1", w)
        .key("k1")
        .json(&new_intent("i1", "u1", "y"))
        .send()
        .await;
    assert_eq!(created.status, 201);
    expect!(
        seen,
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("k1")
            .json(&new_intent("i1", "u1", "z")),
        "idempotency_key_reuse_payload_mismatch"
    );
    expect!(
        seen,
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("k2")
            .json(&new_intent("i1", "u1", "y")),
        "swap_intent_already_exists"
    );
    expect!(
        seen,
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("k3")
            .json(&new_intent("i2", "u2", "y")),
        "swap_intent_actor_mismatch"
    );
    expect!(
        seen,
        server
            .op("swapIntents.get", &[("id", "nope")])
            .actor("user", "u1", "swap_intents:read"),
        "swap_intent_not_found"
    );
    server
        .op("swapIntents.cancel", &[("id", "i1")])
        .actor("user", "u1", w)
        .key("c1")
        .send()
        .await;
    expect!(
        seen,
        server
            .op("swapIntents.cancel", &[("id", "i1")])
            .actor("user", "u1", w)
            .key("c2"),
        "swap_intent_already_cancelled"
    );
    expect!(
        seen,
        server
            .op("cycleProposals.get", &[("id", "cycle_000000000000")])
            .actor("user", "u1", "cycle_proposals:read"),
        "cycle_proposal_not_found"
    );
    expect!(
        seen,
        server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key("m1")
            .json(&json!({"max_proposals": 0})),
        "marketplace_matching_invalid_request"
    );
    expect!(
        seen,
        server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key("m2")
            .json(&first_run_body()),
        "marketplace_matching_asset_values_missing"
    );
    expect!(
        seen,
        server
            .op("marketplaceMatchingRun.get", &[("run_id", "mrun_999999")])
            .partner("settlement:read"),
        "marketplace_matching_run_not_found"
    );
    expect!(
        seen,
        server
            .op("dev.fixtures.load", &[])
            .json(&json!({"intents": [{"id": ""}]})),
        "dev_fixtures_invalid"
    );
    seen
}

const PROVIDER: (&str, &str, &str) = ("agent", "node_alpha", "offers:write marketplace:read");
const OWNER: (&str, &str, &str) = ("user", "owner_ada", "round_intents:write marketplace:read");
const OPERATOR: (&str, &str, &str) = (
    "partner",
    "operator_main",
    "marketplace:operate marketplace:read offers:write",
);

fn offer(fingerprint: &str) -> Value {
    json!({"seller_node_id": "node_alpha", "dataset_fingerprint": fingerprint, "modality": "tabular",
           "quality_score": 0.9, "price_per_round": 10, "sample_count": 100})
}

fn with(mut base: Value, field: &str, value: Value) -> Value {
    match value {
        Value::Null => {
            base.as_object_mut().unwrap().remove(field);
        }
        value => base[field] = value,
    }
    base
}

async fn data_market_rows(server: &TestServer) -> Vec<(String, u16)> {
    let mut seen = Vec::new();
    let (p, o, op) = (PROVIDER, OWNER, OPERATOR);
    let mut n = 0;
    let mut key = || {
        n += 1;
        format!("k{n}")
    };

    // Field guidance of offers: each field's own reason.
    let base = offer("sha256:00000000aaaaaaaa");
    for (field, value, reason) in [
        ("seller_node_id", Value::Null, "seller_node_id_required"),
        (
            "dataset_fingerprint",
            json!("not a fingerprint"),
            "dataset_fingerprint_invalid",
        ),
        (
            "dataset_fingerprint",
            json!(""),
            "dataset_fingerprint_required",
        ),
        ("title", json!(""), "invalid_title"),
        (
            "description",
            json!("x".repeat(2001)),
            "invalid_description",
        ),
        ("modality", json!("video"), "invalid_modality"),
        ("label_schema", json!(""), "invalid_label_schema"),
        ("privacy_profile", json!(7), "invalid_privacy_profile"),
        ("sample_count", json!(-1), "invalid_sample_count"),
        ("quality_score", json!("0.9"), "invalid_quality_score"),
        ("allowed_tasks", json!(["a", "a"]), "invalid_allowed_tasks"),
        (
            "attestation_status",
            json!("trusted"),
            "invalid_attestation_status",
        ),
        (
            "price_per_round",
            json!(1.000_000_1),
            "invalid_price_per_round",
        ),
        ("min_rounds", json!(0), "invalid_min_rounds"),
        (
            "expires_at",
            json!("2020-01-01T00:00:00Z"),
            "invalid_expires_at",
        ),
        ("status", json!("retired"), "invalid_status"),
    ] {
        expect!(
            seen,
            server
                .op("dataOffers.create", &[])
                .actor(p.0, p.1, p.2)
                .key(&key())
                .json(&with(base.clone(), field, value)),
            reason
        );
    }
    expect!(
        seen,
        server
            .op("dataOffers.create", &[])
            .actor(p.0, p.1, p.2)
            .key(&key())
            .raw("[1]"),
        "request_body_malformed"
    );
    expect!(
        seen,
        server
            .op("dataOffers.create", &[])
            .actor(p.0, p.1, p.2)
            .key(&key())
            .json(&with(base.clone(), "seller_node_id", json!("node_beta"))),
        "seller_node_mismatch"
    );
    expect!(
        seen,
        server
            .op("dataOffers.create", &[])
            .actor(p.0, p.1, p.2)
            .key(&key())
            .json(&with(base.clone(), "attestation_status", json!("verified"))),
        "attestation_requires_operator"
    );
    let created = server
        .op("dataOffers.create", &[])
        .actor(p.0, p.1, p.2)
        .key(&key())
        .json(&base)
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    expect!(
        seen,
        server
            .op("dataOffers.create", &[])
            .actor(p.0, p.1, p.2)
            .key(&key())
            .json(&base),
        "duplicate_active_offer"
    );
    expect!(
        seen,
        server
            .op("dataOffers.get", &[("offer_id", "offer_999999")])
            .actor(p.0, p.1, p.2),
        "offer_not_found"
    );
    expect!(
        seen,
        server
            .op("dataOffers.update", &[("offer_id", "offer_000001")])
            .actor("agent", "node_beta", p.2)
            .key(&key())
            .json(&json!({"title": "mine"})),
        "offer_not_owned"
    );
    server
        .op("dataOffers.update", &[("offer_id", "offer_000001")])
        .actor(p.0, p.1, p.2)
        .key(&key())
        .json(&json!({"status": "retired"}))
        .send()
        .await;
    expect!(
        seen,
        server
            .op("dataOffers.update", &[("offer_id", "offer_000001")])
            .actor(p.0, p.1, p.2)
            .key(&key())
            .json(&json!({"status": "active"})),
        "invalid_status_transition"
    );

    // Round intents.
    let intent =
        json!({"model_owner_id": "owner_ada", "task_type": "classification", "budget_total": 50});
    for (field, value, reason) in [
        ("model_owner_id", Value::Null, "model_owner_id_required"),
        ("task_type", json!(""), "task_type_required"),
        (
            "required_modalities",
            json!(["tabular", "tabular"]),
            "invalid_required_modalities",
        ),
        ("min_quality_score", json!(1.5), "invalid_min_quality_score"),
        ("budget_total", json!(0), "invalid_budget_total"),
        ("deadline_ts", json!("next week"), "invalid_deadline_ts"),
        ("round_id", json!(""), "invalid_round_id"),
    ] {
        expect!(
            seen,
            server
                .op("roundIntents.create", &[])
                .actor(o.0, o.1, o.2)
                .key(&key())
                .json(&with(intent.clone(), field, value)),
            reason
        );
    }
    expect!(
        seen,
        server
            .op("roundIntents.create", &[])
            .actor(o.0, "owner_bob", o.2)
            .key(&key())
            .json(&intent),
        "model_owner_mismatch"
    );
    let created = server
        .op("roundIntents.create", &[])
        .actor(o.0, o.1, o.2)
        .key(&key())
        .json(&intent)
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    expect!(
        seen,
        server
            .op("roundIntents.get", &[("intent_id", "intent_999999")])
            .actor(o.0, o.1, o.2),
        "round_intent_not_found"
    );
    expect!(
        seen,
        server
            .op("roundIntents.update", &[("intent_id", "intent_000001")])
            .actor(o.0, "owner_bob", o.2)
            .key(&key())
            .json(&json!({"budget_total": 60})),
        "round_intent_not_owned"
    );

    // Match, preview and their failures.
    expect!(
        seen,
        server
            .op("dataMarketplace.match", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({})),
        "round_intent_id_required"
    );
    expect!(
        seen,
        server
            .op("dataMarketplace.match", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({"round_intent_id": "intent_000001", "max_offers": 26})),
        "invalid_max_offers"
    );
    expect!(
        seen,
        server
            .op("dataMarketplace.preview", &[])
            .actor(op.0, op.1, op.2)
            .json(&json!({})),
        "intent_required"
    );
    expect!(
        seen,
        server
            .op("dataMarketplace.match", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({"round_intent_id": "intent_000001"})),
        "no_compatible_offers_found"
    );
    expect!(
        seen,
        server
            .op("dataMarketplace.match", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .header("x-now-iso", "2026-02-28T21:00:00Z")
            .json(&json!({"round_intent_id": "intent_000001"})),
        "round_intent_deadline_passed"
    );
    server
        .op("dataOffers.create", &[])
        .actor(p.0, p.1, p.2)
        .key(&key())
        .json(&offer("sha256:00000000bbbbbbbb"))
        .send()
        .await;
    let contract = server
        .op("dataMarketplace.match", &[])
        .actor(op.0, op.1, op.2)
        .key(&key())
        .json(&json!({"round_intent_id": "intent_000001"}))
        .send()
        .await;
    assert_eq!(contract.status, 201, "{}", contract.body);
    expect!(
        seen,
        server
            .op("dataMarketplace.match", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({"round_intent_id": "intent_000001"})),
        "round_intent_not_open"
    );

    // Contracts, escrow and rounds.
    expect!(
        seen,
        server
            .op("escrow.release", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({"contract_id": ""})),
        "contract_id_required"
    );
    expect!(
        seen,
        server
            .op("dataContracts.get", &[("contract_id", "contract_999999")])
            .actor(op.0, op.1, op.2),
        "contract_not_found"
    );
    expect!(
        seen,
        server
            .op("escrow.release", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({"contract_id": "contract_000001"})),
        "contract_round_not_completed"
    );
    expect!(
        seen,
        server
            .op("trainingRounds.create", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({"contract_ids": []})),
        "invalid_contract_ids"
    );
    let round = server
        .op("trainingRounds.create", &[])
        .actor(op.0, op.1, op.2)
        .key(&key())
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(round.status, 201, "{}", round.body);
    expect!(
        seen,
        server
            .op("trainingRounds.create", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({"contract_ids": ["contract_000001"]})),
        "contract_already_bound"
    );
    expect!(
        seen,
        server
            .op("trainingRounds.triggerFl", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({})),
        "training_round_no_contracts"
    );
    expect!(
        seen,
        server
            .op("trainingRounds.get", &[("round_id", "round_999999")])
            .actor(op.0, op.1, op.2),
        "training_round_not_found"
    );
    server
        .op("escrow.release", &[])
        .actor(op.0, op.1, op.2)
        .key(&key())
        .json(&json!({"contract_id": "contract_000001"}))
        .send()
        .await;
    expect!(
        seen,
        server
            .op("escrow.release", &[])
            .actor(op.0, op.1, op.2)
            .key(&key())
            .json(&json!({"contract_id": "contract_000001"})),
        "contract_already_released"
    );
    seen
}
