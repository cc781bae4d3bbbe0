//! The data-marketplace loop over HTTP: offer, intent, preview, match, round, release, and what
//! the timeline, `/training/status` and `/metrics_summary` say along the way.

use serde_json::{Value, json};

use crate::support::{Reply, TestServer};

const PROVIDER: (&str, &str, &str) = ("agent", "node_alpha", "offers:write marketplace:read");
const OWNER: (&str, &str, &str) = ("user", "owner_ada", "round_intents:write marketplace:read");
const OPERATOR: (&str, &str, &str) = (
    "partner",
    "operator_main",
    "marketplace:operate marketplace:read offers:write",
);

struct Market {
    server: TestServer,
    keys: std::cell::Cell<u32>,
}

impl Market {
    async fn start() -> Market {
        Market {
            server: TestServer::start().await,
            keys: std::cell::Cell::new(0),
        }
    }

    fn key(&self) -> String {
        self.keys.set(self.keys.get() + 1);
        format!("key-{}", self.keys.get())
    }

    async fn write(
        &self,
        who: (&str, &str, &str),
        op: &str,
        params: &[(&str, &str)],
        body: Value,
    ) -> Reply {
        self.server
            .op(op, params)
            .actor(who.0, who.1, who.2)
            .key(&self.key())
            .json(&body)
            .send()
            .await
    }

    async fn read(&self, op: &str, params: &[(&str, &str)]) -> Reply {
        self.server
            .op(op, params)
            .actor(OPERATOR.0, OPERATOR.1, OPERATOR.2)
            .send()
            .await
    }

    async fn offer(&self, fingerprint: &str, quality: f64, price: f64) -> Reply {
        let body = json!({"seller_node_id": "node_alpha", "dataset_fingerprint": fingerprint, "title": "Clinic vitals",
                          "modality": "tabular", "sample_count": 1200, "quality_score": quality,
                          "allowed_tasks": ["classification"], "price_per_round": price});
        self.write(PROVIDER, "dataOffers.create", &[], body).await
    }

    async fn intent(&self, budget: f64) -> Reply {
        let body = json!({"model_owner_id": "owner_ada", "task_type": "classification", "required_modalities": ["tabular"],
                          "min_quality_score": 0.8, "budget_total": budget, "round_id": "spring-cohort"});
        self.write(OWNER, "roundIntents.create", &[], body).await
    }
}

#[tokio::test]
async fn the_whole_loop_end_to_end() {
    let m = Market::start().await;
    let offer = m.offer("sha256:9f86d081884c7d65", 0.92, 12.5).await;
    assert_eq!(offer.status, 201, "{}", offer.body);
    assert_eq!(offer.body["offer"]["offer_id"], "offer_000001");
    let second = m.offer("sha256:1111222233334444", 0.85, 20.0).await;
    assert_eq!(second.body["offer"]["offer_id"], "offer_000002");
    let intent = m.intent(40.0).await;
    assert_eq!(intent.body["intent"]["intent_id"], "intent_000001");
    assert_eq!(
        intent.body["intent"]["deadline_ts"], "2026-02-28T20:00:00.000Z",
        "created + 1 hour"
    );

    // Preview: the would-be selection, and nothing changes.
    let before = m.server.dump();
    let preview = m
        .write(
            OPERATOR,
            "dataMarketplace.preview",
            &[],
            json!({"round_intent_id": "intent_000001"}),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let selected: Vec<&str> = preview.body["preview"]["selected_offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offer_id"].as_str().unwrap())
        .collect();
    assert_eq!(selected, ["offer_000001", "offer_000002"]);
    assert_eq!(
        preview.body["preview"]["agreed_price_per_round_total"],
        json!(32.5)
    );
    assert_eq!(
        preview.body["preview"]["selected_offers"][0]["score_breakdown"],
        json!({"quality": 0.46, "cost": 0.022222, "trust": 0.1, "total": 0.582222})
    );
    assert_eq!(m.server.dump(), before, "a preview changes nothing");

    // Match: a contract, and the intent moves with it.
    let contract = m
        .write(
            OPERATOR,
            "dataMarketplace.match",
            &[],
            json!({"round_intent_id": "intent_000001"}),
        )
        .await;
    assert_eq!(contract.status, 201, "{}", contract.body);
    let c = &contract.body["contract"];
    assert_eq!(c["contract_id"], "contract_000001");
    assert_eq!(c["state"], "created");
    assert_eq!(c["escrow_status"], "locked");
    assert_eq!(c["round_id"], "spring-cohort");
    assert_eq!(c["offer_count"], 2);
    assert_eq!(c["timeline"][0]["event"], "contract_created");
    let intent = m
        .read("roundIntents.get", &[("intent_id", "intent_000001")])
        .await;
    assert_eq!(intent.body["intent"]["status"], "matched");
    assert_eq!(intent.body["intent"]["contract_id"], "contract_000001");

    let status = m.read("training.status", &[]).await;
    assert_eq!(
        status.body["marketplace_pending_contracts"],
        json!({"count": 1, "locked_escrow_total": 32.5,
               "oldest": {"contract_id": "contract_000001", "round_id": "spring-cohort", "offer_count": 2, "agreed_price_per_round_total": 32.5}})
    );
    assert!(status.body.get("current_round").is_none());

    // A training round binds the contract and trains.
    let round = m
        .write(OPERATOR, "trainingRounds.create", &[], json!({}))
        .await;
    assert_eq!(round.status, 201, "{}", round.body);
    let r = &round.body["round"];
    assert_eq!(r["round_id"], "round_000001");
    assert_eq!(r["bound_contract_ids"], json!(["contract_000001"]));
    assert_eq!(r["participants"].as_array().unwrap().len(), 2);
    let accuracy = r["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.8 && accuracy <= 1.0, "{accuracy}");
    assert!(r["loss"].as_f64().unwrap() > 0.0);

    // Release, once.
    let released = m
        .write(
            OPERATOR,
            "escrow.release",
            &[],
            json!({"contract_id": "contract_000001"}),
        )
        .await;
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(released.body["contract"]["state"], "escrow_released");
    assert_eq!(
        released.body["contract"]["payouts"],
        json!([
            {"offer_id": "offer_000001", "seller_node_id": "node_alpha", "amount": 12.5},
            {"offer_id": "offer_000002", "seller_node_id": "node_alpha", "amount": 20}
        ])
    );
    let again = m
        .write(
            OPERATOR,
            "escrow.release",
            &[],
            json!({"contract_id": "contract_000001"}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body["code"], "contract_already_released",
        "the reason also at the top level"
    );
    assert_eq!(again.body["error"]["details"]["payout_status"], "released");

    let timeline = m
        .read(
            "dataContracts.timeline",
            &[("contract_id", "contract_000001")],
        )
        .await;
    let events: Vec<(u64, &str)> = timeline.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_u64().unwrap(), e["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            (1, "contract_created"),
            (2, "bound_to_round"),
            (3, "escrow_released")
        ]
    );

    let status = m.read("training.status", &[]).await;
    assert_eq!(
        status.body["marketplace_pending_contracts"],
        json!({"count": 0, "locked_escrow_total": 0})
    );
    assert_eq!(status.body["current_round"], "round_000001");
    assert_eq!(status.body["last_round_metrics"]["accuracy"], r["accuracy"]);

    let summary = m.read("metrics.summary", &[]).await;
    let s = &summary.body["marketplace"];
    assert_eq!(s["offers_total"], 2);
    assert_eq!(s["contracts_total"], 1);
    assert_eq!(
        s["contracts_by_state"],
        json!({"created": 0, "bound_to_round": 0, "escrow_released": 1})
    );
    assert_eq!(s["released_payout_total"], json!(32.5));
    assert_eq!(s["locked_escrow_total"], 0);
    assert_eq!(
        (s["match_attempts"].as_u64(), s["match_failures"].as_u64()),
        (Some(1), Some(0))
    );
    let operations: Vec<&str> = summary.body["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        operations[..3],
        ["escrow.release", "escrow.release", "trainingRounds.create"]
    );

    // The intent may close once its contract is released.
    let closed = m
        .write(
            OWNER,
            "roundIntents.update",
            &[("intent_id", "intent_000001")],
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.body);
}

#[tokio::test]
async fn the_same_loop_gives_the_same_numbers() {
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let m = Market::start().await;
        m.offer("sha256:9f86d081884c7d65", 0.92, 12.5).await;
        m.intent(40.0).await;
        m.write(
            OPERATOR,
            "dataMarketplace.match",
            &[],
            json!({"round_intent_id": "intent_000001"}),
        )
        .await;
        rounds.push(
            m.write(OPERATOR, "trainingRounds.create", &[], json!({}))
                .await
                .body["round"]
                .clone(),
        );
    }
    assert_eq!(rounds[0], rounds[1]);
}

#[tokio::test]
async fn intent_status_guardrails() {
    let m = Market::start().await;
    m.intent(40.0).await;
    let to_matched = m
        .write(
            OWNER,
            "roundIntents.update",
            &[("intent_id", "intent_000001")],
            json!({"status": "matched"}),
        )
        .await;
    assert_eq!(to_matched.status, 409);
    assert_eq!(
        to_matched.body["error"]["details"],
        json!({"reason_code": "invalid_status_transition", "current_status": "open", "next_status": "matched"})
    );

    m.offer("sha256:9f86d081884c7d65", 0.92, 12.5).await;
    m.write(
        OPERATOR,
        "dataMarketplace.match",
        &[],
        json!({"round_intent_id": "intent_000001"}),
    )
    .await;
    let early_close = m
        .write(
            OWNER,
            "roundIntents.update",
            &[("intent_id", "intent_000001")],
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(early_close.status, 409, "closing waits for the release");
    let cancel = m
        .write(
            OWNER,
            "roundIntents.update",
            &[("intent_id", "intent_000001")],
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(cancel.status, 409);
    let edit = m
        .write(
            OWNER,
            "roundIntents.update",
            &[("intent_id", "intent_000001")],
            json!({"budget_total": 90}),
        )
        .await;
    assert_eq!(edit.body["code"], "round_intent_not_open");

    m.intent(10.0).await;
    m.write(
        OWNER,
        "roundIntents.update",
        &[("intent_id", "intent_000002")],
        json!({"status": "cancelled"}),
    )
    .await;
    let reopen = m
        .write(
            OWNER,
            "roundIntents.update",
            &[("intent_id", "intent_000002")],
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(reopen.status, 409);
}

#[tokio::test]
async fn a_budget_that_rejects_every_offer_is_a_422_with_diagnostics_and_changes_nothing() {
    let m = Market::start().await;
    m.offer("sha256:9f86d081884c7d65", 0.92, 12.5).await;
    m.offer("sha256:1111222233334444", 0.85, 20.0).await;
    m.intent(5.0).await;
    let before = m.server.dump();
    let failed = m
        .write(
            OPERATOR,
            "dataMarketplace.match",
            &[],
            json!({"round_intent_id": "intent_000001"}),
        )
        .await;
    assert_eq!(failed.status, 422);
    assert_eq!(failed.body["error"]["code"], "UNPROCESSABLE");
    let details = &failed.body["error"]["details"];
    assert_eq!(details["budget_rejected"], 2);
    assert_eq!(details["compatible_offers"], 2);
    assert_eq!(details["top_ranked_offers"][0]["skipped_for_budget"], true);
    let mut after = m.server.dump();
    for table in ["idempotency_records", "operation_events"] {
        after[table] = before[table].clone();
    }
    assert_eq!(
        after, before,
        "only the idempotency record and the activity event were written"
    );
    let summary = m.read("metrics.summary", &[]).await;
    assert_eq!(summary.body["marketplace"]["match_failures"], 1);
}

#[tokio::test]
async fn an_expired_offer_is_counted_under_offer_expired() {
    let m = Market::start().await;
    let body = json!({"seller_node_id": "node_alpha", "dataset_fingerprint": "sha256:9f86d081884c7d65", "modality": "tabular",
                      "quality_score": 0.9, "price_per_round": 1, "expires_at": "2026-02-28T19:30:00Z"});
    assert_eq!(
        m.write(PROVIDER, "dataOffers.create", &[], body)
            .await
            .status,
        201
    );
    m.intent(40.0).await;
    let reply = m
        .server
        .op("dataMarketplace.match", &[])
        .actor(OPERATOR.0, OPERATOR.1, OPERATOR.2)
        .key("late")
        .header("x-now-iso", "2026-02-28T19:45:00Z")
        .json(&json!({"round_intent_id": "intent_000001"}))
        .send()
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.body["error"]["details"]["rejection_reasons"]["offer_expired"],
        1
    );
    let totals = m.read("metrics.summary", &[]).await;
    assert_eq!(
        totals.body["marketplace"]["rejection_reasons_total"]["offer_expired"],
        1
    );
}

#[tokio::test]
async fn an_offer_sits_in_one_pending_contract_at_a_time() {
    let m = Market::start().await;
    m.offer("sha256:9f86d081884c7d65", 0.92, 12.5).await;
    m.intent(40.0).await;
    m.intent(40.0).await;
    assert_eq!(
        m.write(
            OPERATOR,
            "dataMarketplace.match",
            &[],
            json!({"round_intent_id": "intent_000001"})
        )
        .await
        .status,
        201
    );
    let second = m
        .write(
            OPERATOR,
            "dataMarketplace.match",
            &[],
            json!({"round_intent_id": "intent_000002"}),
        )
        .await;
    assert_eq!(second.status, 422);
    assert_eq!(
        second.body["error"]["details"]["rejection_reasons"]["offer_already_committed"],
        1
    );
}

#[tokio::test]
async fn field_guidance_names_the_field_and_the_rule_and_never_coerces() {
    let m = Market::start().await;
    for (body, field, rule) in [
        (
            r#"{"seller_node_id":"node_alpha","dataset_fingerprint":"sha256:9f86d081884c7d65","modality":"tabular","quality_score":NaN,"price_per_round":1}"#,
            "quality_score",
            "finite_number",
        ),
        (
            r#"{"seller_node_id":"node_alpha","dataset_fingerprint":"sha256:9f86d081884c7d65","modality":"tabular","quality_score":0.5,"price_per_round":Infinity}"#,
            "price_per_round",
            "finite_number",
        ),
        (
            r#"{"seller_node_id":"node_alpha","dataset_fingerprint":"sha256:9f86d081884c7d65","modality":"tabular","quality_score":"nan","price_per_round":1}"#,
            "quality_score",
            "type",
        ),
        (
            r#"{"seller_node_id":"node_alpha","dataset_fingerprint":"sha256:9f86d081884c7d65","modality":"tabular","quality_score":1.01,"price_per_round":1}"#,
            "quality_score",
            "maximum",
        ),
        (
            r#"{"seller_node_id":"node_alpha","dataset_fingerprint":"sha256:9f86d081884c7d65","modality":"tabular","quality_score":0.5,"price_per_round":1,"sample_count":2.5}"#,
            "sample_count",
            "type",
        ),
        (
            r#"{"seller_node_id":"node_alpha","dataset_fingerprint":"sha256:9f86d081884c7d65","modality":"tabular","quality_score":0.5,"price_per_round":1,"colour":"red"}"#,
            "colour",
            "additionalProperties",
        ),
    ] {
        let reply = m
            .server
            .op("dataOffers.create", &[])
            .actor(PROVIDER.0, PROVIDER.1, PROVIDER.2)
            .key(&m.key())
            .raw(body.to_owned())
            .send()
            .await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.body["error"]["details"]["field"], field, "{body}");
        assert_eq!(reply.body["error"]["details"]["rule"], rule, "{body}");
        assert_eq!(
            reply.body["code"],
            reply.body["error"]["details"]["reason_code"]
        );
    }
    assert_eq!(
        m.server.dump()["data_offers"],
        json!([]),
        "nothing was stored"
    );
}

#[tokio::test]
async fn money_is_exact_and_unix_seconds_are_accepted() {
    let m = Market::start().await;
    let body = json!({"seller_node_id": "node_alpha", "dataset_fingerprint": "sha256:9f86d081884c7d65", "modality": "text",
                      "quality_score": 0.9, "price_per_round": 0.1, "expires_at": 1_893_456_000});
    let offer = m.write(PROVIDER, "dataOffers.create", &[], body).await;
    assert_eq!(
        offer.body["offer"]["expires_at"],
        "2030-01-01T00:00:00.000Z"
    );
    let body = json!({"seller_node_id": "node_alpha", "dataset_fingerprint": "sha256:1111222233334444", "modality": "text",
                      "quality_score": 0.9, "price_per_round": 0.2});
    m.write(PROVIDER, "dataOffers.create", &[], body).await;
    let intent =
        json!({"model_owner_id": "owner_ada", "task_type": "summarize", "budget_total": 0.3});
    m.write(OWNER, "roundIntents.create", &[], intent).await;
    let contract = m
        .write(
            OPERATOR,
            "dataMarketplace.match",
            &[],
            json!({"round_intent_id": "intent_000001"}),
        )
        .await;
    assert_eq!(
        contract.body["contract"]["agreed_price_per_round_total"],
        json!(0.3),
        "0.1 + 0.2 is 0.3"
    );
    assert_eq!(contract.body["contract"]["offer_count"], 2);
}

#[tokio::test]
async fn providers_change_only_their_offers_and_only_operators_verify() {
    let m = Market::start().await;
    m.offer("sha256:9f86d081884c7d65", 0.92, 12.5).await;
    let foreign = m
        .write(
            ("agent", "node_beta", PROVIDER.2),
            "dataOffers.update",
            &[("offer_id", "offer_000001")],
            json!({"price_per_round": 1}),
        )
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(foreign.body["code"], "offer_not_owned");
    let self_verified = m
        .write(
            PROVIDER,
            "dataOffers.update",
            &[("offer_id", "offer_000001")],
            json!({"attestation_status": "verified"}),
        )
        .await;
    assert_eq!(self_verified.body["code"], "attestation_requires_operator");
    let verified = m
        .write(
            OPERATOR,
            "dataOffers.update",
            &[("offer_id", "offer_000001")],
            json!({"attestation_status": "verified"}),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["offer"]["attestation_status"], "verified");
    let listed = m
        .server
        .call(
            "GET",
            "/marketplace/offers?seller_node_id=node_alpha&status=active",
        )
        .actor(OPERATOR.0, OPERATOR.1, OPERATOR.2)
        .send()
        .await;
    assert_eq!(listed.body["offers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rounds_bind_each_contract_once() {
    let m = Market::start().await;
    m.offer("sha256:9f86d081884c7d65", 0.92, 12.5).await;
    m.intent(40.0).await;
    m.write(
        OPERATOR,
        "dataMarketplace.match",
        &[],
        json!({"round_intent_id": "intent_000001"}),
    )
    .await;
    let first = m
        .write(OPERATOR, "trainingRounds.triggerFl", &[], json!({}))
        .await;
    assert_eq!(first.status, 201, "the older path works the same");
    let second = m
        .write(OPERATOR, "trainingRounds.create", &[], json!({}))
        .await;
    assert_eq!(second.body["code"], "training_round_no_contracts");
    let contract = m
        .read("dataContracts.get", &[("contract_id", "contract_000001")])
        .await;
    let binds = contract.body["contract"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "bound_to_round")
        .count();
    assert_eq!(binds, 1);
    let rounds = m.read("trainingRounds.list", &[]).await;
    assert_eq!(rounds.body["rounds"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn prometheus_text_is_served() {
    let m = Market::start().await;
    m.offer("sha256:9f86d081884c7d65", 0.92, 12.5).await;
    let response = reqwest::Client::new()
        .get(format!("{}/metrics", m.server.base))
        .header("x-actor-type", "partner")
        .header("x-actor-id", "scraper")
        .header("x-auth-scopes", "marketplace:read")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("# TYPE marketref_offers gauge\nmarketref_offers 1\n"),
        "{text}"
    );
    assert!(
        text.contains("marketref_rejection_reasons_total{reason=\"offer_expired\"} 0"),
        "{text}"
    );
}
