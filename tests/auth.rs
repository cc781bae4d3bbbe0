//! The trusted-header identity model, checked before anything else and never recorded.

use serde_json::json;

use crate::support::{TestServer, first_run_body};

#[tokio::test]
async fn missing_identity_is_401() {
    let server = TestServer::start().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .key("k")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["error"]["code"], "UNAUTHORIZED");
    assert_eq!(reply.reason(), "auth_identity_missing");
}

#[tokio::test]
async fn unknown_actor_type_is_403() {
    let server = TestServer::start().await;
    let reply = server
        .op("swapIntents.list", &[])
        .actor("robot", "r1", "swap_intents:read")
        .send()
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body["error"]["code"], "FORBIDDEN");
    assert_eq!(reply.reason(), "auth_actor_type_unknown");
}

#[tokio::test]
async fn a_user_may_not_run_matching() {
    let server = TestServer::start().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .actor("user", "user_a", "settlement:write")
        .key("k")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.reason(), "auth_actor_type_not_allowed");
    assert_eq!(
        reply.body["error"]["details"],
        json!({
            "reason_code": "auth_actor_type_not_allowed",
            "operation_id": "marketplaceMatching.run",
            "actor_type": "user",
            "allowed_actor_types": ["partner"]
        })
    );
}

#[tokio::test]
async fn a_missing_scope_is_403_with_sorted_details() {
    let server = TestServer::start().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:read,cycle_proposals:read settlement:read")
        .key("k")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body["error"]["code"], "INSUFFICIENT_SCOPE");
    assert_eq!(
        reply.body["error"]["details"],
        json!({
            "reason_code": "auth_scope_missing",
            "operation_id": "marketplaceMatching.run",
            "required_scopes": ["settlement:write"],
            "provided_scopes": ["cycle_proposals:read", "settlement:read"],
            "missing_scopes": ["settlement:write"]
        })
    );
}

#[tokio::test]
async fn an_auth_failure_is_not_recorded_against_the_key() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let denied = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:read")
        .key("same-key")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(denied.status, 403);
    let allowed = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:write")
        .key("same-key")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(allowed.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn auth_runs_before_body_validation() {
    let server = TestServer::start().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .key("k")
        .raw("{not json")
        .send()
        .await;
    assert_eq!(reply.reason(), "auth_identity_missing");
}
