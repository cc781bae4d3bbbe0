//! The forms: reachable by keyboard and labelled, and checked in the page as the server checks
//! their bodies.

use fantoccini::key::Key;
use serde_json::{Value, json};

use super::support::{Actor, Console, OPERATOR, OWNER, PROVIDER, api, in_browser};

/// Every input has a label and every control is reachable from the keyboard; and the page's
/// own checks give, for a table of broken bodies, the field, rule and reason the server gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_checks_fields_as_the_server_does() {
    in_browser("the browser check", same_rules).await;
}

async fn same_rules(page: &Console, base: &str) {
    let unlabelled = page
        .js("return Array.from(document.querySelectorAll('input, select, textarea')).filter(e => e.labels.length === 0).map(e => e.id)")
        .await;
    assert_eq!(unlabelled, json!([]), "inputs without a label");
    let unreachable = page
        .js("return Array.from(document.querySelectorAll('a[href], button, input, select, textarea, summary')).filter(e => e.tabIndex < 0).map(e => e.id || e.outerHTML.slice(0, 60))")
        .await;
    assert_eq!(unreachable, json!([]), "controls the keyboard cannot reach");

    // The keyboard alone: Tab from the fingerprint reaches the next field, Enter submits.
    page.click("#offer-dataset_fingerprint").await;
    page.el("#offer-dataset_fingerprint")
        .await
        .send_keys(&Key::Tab.to_string())
        .await
        .unwrap();
    let focused = page.js("return document.activeElement.id").await;
    assert_eq!(focused, "offer-title");
    page.el("#offer-title")
        .await
        .send_keys(&format!("x{}", Key::Enter))
        .await
        .unwrap();
    page.wait_text("#offer-summary", "nothing was sent").await;

    let cases: Vec<(&str, &str, Actor, Value)> = vec![
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            json!({}),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"quality_score": 1.5})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"quality_score": "0.9"})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"price_per_round": -1})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"sample_count": 1.5})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"min_rounds": 0})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"modality": "video"})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"title": ""})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"title": "t".repeat(121)})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"dataset_fingerprint": "sha256:xyz"})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"allowed_tasks": ["a", "a"]})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"allowed_tasks": [""]})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"expires_at": "tomorrow"})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"expires_at": -5})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"attestation_status": "gold", "colour": "red"})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"budget_total": 0})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"min_quality_score": 2})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"required_modalities": ["tabular", "tabular"]})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"required_modalities": ["video"]})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"deadline_ts": "2030-02-30T00:00:00Z", "task_type": ""})),
        ),
        (
            "dataMarketplace.preview",
            "/marketplace/policy/preview",
            OPERATOR,
            json!({"round_intent_id": "intent_000001", "max_offers": 26}),
        ),
        (
            "dataMarketplace.preview",
            "/marketplace/policy/preview",
            OPERATOR,
            json!({"round_intent_id": "intent_000001", "policy_overrides": {"budget_total": 0}}),
        ),
        (
            "dataMarketplace.match",
            "/marketplace/match",
            OPERATOR,
            json!({"round_intent_id": "", "max_offers": 0}),
        ),
    ];
    for (operation_id, path, actor, body) in cases {
        let script = format!(
            "const e = window.marketrefConsole.validate({}, {})[0]; return e ? [e.field, e.rule, e.reason_code] : null;",
            Value::String(operation_id.to_owned()),
            body
        );
        let in_page = page.js(&script).await;
        let (status, answer) = api(base, "POST", path, actor, Some(body.clone())).await;
        assert_eq!(status, 400, "{operation_id} {body}: {answer}");
        let details = &answer["error"]["details"];
        assert_eq!(
            in_page,
            json!([details["field"], details["rule"], details["reason_code"]]),
            "{operation_id} {body}: the page and the server disagree"
        );
    }
    let valid = page
        .js(&format!(
            "return window.marketrefConsole.validate('dataOffers.create', {}).length",
            offer(json!({}))
        ))
        .await;
    assert_eq!(valid, 0, "a valid offer passes the page's checks");
}

fn offer(changes: Value) -> Value {
    let mut body = json!({"seller_node_id": "node_alpha", "dataset_fingerprint": "sha256:9f86d081884c7d65",
        "modality": "tabular", "quality_score": 0.9, "price_per_round": 1});
    for (key, value) in changes.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn intent(changes: Value) -> Value {
    let mut body =
        json!({"model_owner_id": "owner_ada", "task_type": "classification", "budget_total": 10});
    for (key, value) in changes.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}
