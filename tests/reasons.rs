//! Every reason code in the registry (but `internal_error`, which is a bug) is reachable over
//! HTTP with the status its class fixes. The table is checked against the registry, so a new
//! reason without a row here fails this test.

use std::collections::BTreeSet;

use marketref::reason::Reason;
use serde_json::json;

use crate::support::{TestServer, first_run_body, intent};

#[tokio::test]
async fn every_reason_is_reachable_with_its_status() {
    let server = TestServer::start().await;
    let w = "swap_intents:write";
    let mut seen: Vec<(String, u16)> = Vec::new();
    macro_rules! expect {
        ($call:expr, $reason:expr) => {{
            let reply = $call.send().await;
            assert_eq!(reply.reason(), $reason, "{}", reply.body);
            seen.push((reply.reason().to_owned(), reply.status));
        }};
    }

    expect!(server.op("swapIntents.list", &[]), "auth_identity_missing");
    expect!(
        server
            .op("swapIntents.list", &[])
            .actor("robot", "r", "swap_intents:read"),
        "auth_actor_type_unknown"
    );
    expect!(
        server
            .op("marketplaceMatchingRun.list", &[])
            .actor("user", "u", "settlement:read"),
        "auth_actor_type_not_allowed"
    );
    expect!(
        server.op("swapIntents.list", &[]).actor("user", "u", ""),
        "auth_scope_missing"
    );
    expect!(
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .json(&json!({"intent": intent("i1", "u1", "x", "y")})),
        "idempotency_key_required"
    );
    expect!(
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("a b")
            .json(&json!({"intent": intent("i1", "u1", "x", "y")})),
        "idempotency_key_invalid"
    );
    expect!(
        server.op("system.health", &[]).header("x-now-iso", "soon"),
        "request_clock_invalid"
    );
    expect!(
        server
            .call("GET", "/swap-intents?limit=0")
            .actor("user", "u", "swap_intents:read"),
        "query_invalid"
    );
    expect!(server.call("GET", "/nowhere"), "route_not_found");
    expect!(server.call("PUT", "/healthz"), "method_not_allowed");
    expect!(
        server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key("big")
            .raw("x".repeat(1_100_000)),
        "request_body_too_large"
    );

    expect!(
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
        .json(&json!({"intent": intent("i1", "u1", "x", "y")}))
        .send()
        .await;
    assert_eq!(created.status, 201);
    expect!(
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("k1")
            .json(&json!({"intent": intent("i1", "u1", "x", "z")})),
        "idempotency_key_reuse_payload_mismatch"
    );
    expect!(
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("k2")
            .json(&json!({"intent": intent("i1", "u1", "x", "y")})),
        "swap_intent_already_exists"
    );
    expect!(
        server
            .op("swapIntents.create", &[])
            .actor("user", "u1", w)
            .key("k3")
            .json(&json!({"intent": intent("i2", "u2", "x", "y")})),
        "swap_intent_actor_mismatch"
    );
    expect!(
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
        server
            .op("swapIntents.cancel", &[("id", "i1")])
            .actor("user", "u1", w)
            .key("c2"),
        "swap_intent_already_cancelled"
    );
    expect!(
        server
            .op("cycleProposals.get", &[("id", "cycle_000000000000")])
            .actor("user", "u1", "cycle_proposals:read"),
        "cycle_proposal_not_found"
    );
    expect!(
        server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key("m1")
            .json(&json!({"max_proposals": 0})),
        "marketplace_matching_invalid_request"
    );
    expect!(
        server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key("m2")
            .json(&first_run_body()),
        "marketplace_matching_asset_values_missing"
    );
    expect!(
        server
            .op("marketplaceMatchingRun.get", &[("run_id", "mrun_999999")])
            .partner("settlement:read"),
        "marketplace_matching_run_not_found"
    );
    expect!(
        server
            .op("dev.fixtures.load", &[])
            .json(&json!({"intents": [{"id": ""}]})),
        "dev_fixtures_invalid"
    );

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
    assert_eq!(
        reached, expected,
        "every registered reason needs a row in this table"
    );
}
