//! Swap intents (spec section 3): create, list, get, cancel, and who may do what.

use serde_json::json;

use crate::support::{TestServer, intent};

const WRITE: &str = "swap_intents:write";
const READ: &str = "swap_intents:read";

#[tokio::test]
async fn a_user_creates_reads_lists_and_cancels_its_intent() {
    let server = TestServer::start().await;
    let body = json!({"intent": intent("i1", "u1", "x", "y")});
    let created = server
        .op("swapIntents.create", &[])
        .actor("user", "u1", WRITE)
        .key("c")
        .json(&body)
        .send()
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(
        created.body["intent"]["status"], "active",
        "status defaults to active"
    );

    let read = server
        .op("swapIntents.get", &[("id", "i1")])
        .actor("user", "u1", READ)
        .send()
        .await;
    assert_eq!(read.body["intent"], created.body["intent"]);
    let list = server
        .op("swapIntents.list", &[])
        .actor("user", "u1", READ)
        .send()
        .await;
    assert_eq!(list.body["intents"].as_array().unwrap().len(), 1);

    let cancelled = server
        .op("swapIntents.cancel", &[("id", "i1")])
        .actor("user", "u1", WRITE)
        .key("x")
        .send()
        .await;
    assert_eq!(cancelled.status, 200);
    assert_eq!(cancelled.body["intent"]["status"], "cancelled");
    let again = server
        .op("swapIntents.cancel", &[("id", "i1")])
        .actor("user", "u1", WRITE)
        .key("y")
        .send()
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.reason(), "swap_intent_already_cancelled");
}

#[tokio::test]
async fn others_cannot_see_or_cancel_an_intent() {
    let server = TestServer::start().await;
    let body = json!({"intent": intent("i1", "u1", "x", "y")});
    server
        .op("swapIntents.create", &[])
        .actor("user", "u1", WRITE)
        .key("c")
        .json(&body)
        .send()
        .await;
    let read = server
        .op("swapIntents.get", &[("id", "i1")])
        .actor("user", "u2", READ)
        .send()
        .await;
    assert_eq!(read.status, 404);
    assert_eq!(read.reason(), "swap_intent_not_found");
    let cancel = server
        .op("swapIntents.cancel", &[("id", "i1")])
        .actor("user", "u2", WRITE)
        .key("k")
        .send()
        .await;
    assert_eq!(cancel.status, 404);
    let list = server
        .op("swapIntents.list", &[])
        .actor("user", "u2", READ)
        .send()
        .await;
    assert_eq!(list.body["intents"], json!([]));
}

#[tokio::test]
async fn a_user_may_not_create_for_another_actor_but_a_partner_may() {
    let server = TestServer::start().await;
    let body = json!({"intent": intent("i1", "u1", "x", "y")});
    let refused = server
        .op("swapIntents.create", &[])
        .actor("user", "u2", WRITE)
        .key("c")
        .json(&body)
        .send()
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.reason(), "swap_intent_actor_mismatch");
    assert_eq!(
        refused.body["error"]["details"]["caller"],
        json!({"type": "user", "id": "u2"})
    );

    let by_partner = server
        .op("swapIntents.create", &[])
        .actor("partner", "p1", WRITE)
        .key("c")
        .json(&body)
        .send()
        .await;
    assert_eq!(by_partner.status, 201);
    for (kind, id) in [("partner", "p1"), ("user", "u1")] {
        let read = server
            .op("swapIntents.get", &[("id", "i1")])
            .actor(kind, id, READ)
            .send()
            .await;
        assert_eq!(read.status, 200, "{kind} {id}");
    }
}

#[tokio::test]
async fn an_agent_may_not_create_intents() {
    let server = TestServer::start().await;
    let body = json!({"intent": intent("i1", "u1", "x", "y")});
    let reply = server
        .op("swapIntents.create", &[])
        .actor("agent", "a1", WRITE)
        .key("c")
        .json(&body)
        .send()
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.reason(), "auth_actor_type_not_allowed");
}

#[tokio::test]
async fn a_duplicate_id_is_409() {
    let server = TestServer::start().await;
    let body = json!({"intent": intent("i1", "u1", "x", "y")});
    server
        .op("swapIntents.create", &[])
        .actor("user", "u1", WRITE)
        .key("a")
        .json(&body)
        .send()
        .await;
    let again = server
        .op("swapIntents.create", &[])
        .actor("user", "u1", WRITE)
        .key("b")
        .json(&body)
        .send()
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"]["code"], "CONFLICT");
    assert_eq!(again.reason(), "swap_intent_already_exists");
}

#[tokio::test]
async fn invalid_intents_name_each_field() {
    let server = TestServer::start().await;
    let mut body = intent("i1", "u1", "x", "y");
    body["trust_constraints"]["max_cycle_length"] = json!(7);
    body["time_constraints"]["expires_at"] = json!("tomorrow");
    body["offer"] = json!([]);
    body["color"] = json!("red");
    body.as_object_mut().unwrap().remove("value_band");
    let reply = server
        .op("swapIntents.create", &[])
        .actor("user", "u1", WRITE)
        .key("k")
        .json(&json!({"intent": body}))
        .send()
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"]["code"], "SCHEMA_INVALID");
    assert_eq!(
        reply.body["error"]["details"]["errors"],
        json!([
            {"instance_path": "/intent/color", "keyword": "additionalProperties"},
            {"instance_path": "/intent/offer", "keyword": "minItems"},
            {"instance_path": "/intent/time_constraints/expires_at", "keyword": "format"},
            {"instance_path": "/intent/trust_constraints/max_cycle_length", "keyword": "maximum"},
            {"instance_path": "/intent/value_band", "keyword": "required"}
        ])
    );
}

#[tokio::test]
async fn an_inverted_value_band_is_refused() {
    let server = TestServer::start().await;
    let mut body = intent("i1", "u1", "x", "y");
    body["value_band"]["min_usd"] = json!(10);
    body["value_band"]["max_usd"] = json!(5);
    let reply = server
        .op("swapIntents.create", &[])
        .actor("user", "u1", WRITE)
        .key("k")
        .json(&json!({"intent": body}))
        .send()
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["error"]["details"]["errors"][0]["instance_path"],
        "/intent/value_band/min_usd"
    );
}

#[tokio::test]
async fn a_cancelled_intent_leaves_matching() {
    let server = TestServer::start().await;
    for (id, actor, offer, want) in [("i1", "u1", "x", "y"), ("i2", "u2", "y", "x")] {
        let body = json!({"intent": intent(id, actor, offer, want)});
        server
            .op("swapIntents.create", &[])
            .actor("user", actor, WRITE)
            .key("c")
            .json(&body)
            .send()
            .await;
    }
    let values =
        json!({"recorded_at": "2026-02-28T20:00:00Z", "asset_values_usd": {"x": 10, "y": 10}});
    let run = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:write")
        .key("r1")
        .json(&values)
        .send()
        .await;
    assert_eq!(run.body["run"]["selected_proposals_count"], 1);
    server
        .op("swapIntents.cancel", &[("id", "i2")])
        .actor("user", "u2", WRITE)
        .key("x")
        .send()
        .await;
    let run = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:write")
        .key("r2")
        .json(&values)
        .send()
        .await;
    assert_eq!(run.body["run"]["active_intents_count"], 1);
    assert_eq!(run.body["run"]["selected_proposals_count"], 0);
}

#[tokio::test]
async fn integers_stay_integers() {
    let server = TestServer::start().await;
    let body = json!({"intent": intent("i1", "u1", "x", "y")});
    let created = server
        .op("swapIntents.create", &[])
        .actor("user", "u1", WRITE)
        .key("c")
        .json(&body)
        .send()
        .await;
    let text = created.body["intent"]["value_band"].to_string();
    assert_eq!(
        text,
        r#"{"max_usd":1000,"min_usd":0,"pricing_source":"test"}"#
    );
}
