//! Idempotency (spec section 6): replay, mismatch, recorded failures, concurrency.

use serde_json::json;

use crate::support::{TestServer, first_run_body};

const WRITE: &str = "settlement:write";

#[tokio::test]
async fn a_missing_key_is_400_and_runs_nothing() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"]["code"], "CONSTRAINT_VIOLATION");
    assert_eq!(reply.reason(), "idempotency_key_required");
    assert_eq!(server.dump()["marketplace_matching_runs"], json!([]));
}

#[tokio::test]
async fn the_same_key_and_body_replays_the_recorded_response() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let first = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("run-1")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);
    // Same body with other key order and white space: the same request.
    let again = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("run-1")
        .raw("{ \"recorded_at\" : \"2026-02-28T20:00:00Z\" }")
        .send()
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "the recorded body, byte for byte");
    let runs = server.dump()["marketplace_matching_runs"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(runs, 1, "nothing ran again");
}

#[tokio::test]
async fn the_same_key_with_another_body_is_409_and_not_recorded() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let first = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("run-1")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(first.status, 200);
    let other = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("run-1")
        .json(&json!({"recorded_at": "2026-02-28T20:00:00Z", "max_proposals": 1}))
        .send()
        .await;
    assert_eq!(other.status, 409);
    assert_eq!(
        other.body["error"]["code"],
        "IDEMPOTENCY_KEY_REUSE_PAYLOAD_MISMATCH"
    );
    assert_eq!(
        other.body["error"]["details"],
        json!({"reason_code": "idempotency_key_reuse_payload_mismatch", "operation_id": "marketplaceMatching.run", "idempotency_key": "run-1"})
    );
    // The original is still what the key replays.
    let replay = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("run-1")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(replay.body, first.body);
}

#[tokio::test]
async fn keys_are_scoped_by_caller_and_operation() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let a = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("k")
        .json(&first_run_body())
        .send()
        .await;
    let b = server
        .op("marketplaceMatching.run", &[])
        .actor("partner", "another_partner", WRITE)
        .key("k")
        .json(&json!({"recorded_at": "2026-02-28T20:00:00Z", "max_proposals": 1}))
        .send()
        .await;
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(b.header("idempotent-replayed"), None);
    assert_ne!(a.body["run"]["run_id"], b.body["run"]["run_id"]);
}

#[tokio::test]
async fn a_validation_failure_is_recorded_like_a_success() {
    let server = TestServer::start().await;
    let bad = json!({"max_proposals": 0});
    let first = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("bad")
        .json(&bad)
        .send()
        .await;
    assert_eq!(first.status, 400);
    let again = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("bad")
        .json(&bad)
        .send()
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_exactly_one_run() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        tasks.push(
            server
                .op("marketplaceMatching.run", &[])
                .partner(WRITE)
                .key("race")
                .json(&first_run_body())
                .send(),
        );
    }
    let replies = futures_join_all(tasks).await;
    assert!(replies.iter().all(|r| r.status == 200));
    let run_ids: std::collections::BTreeSet<String> = replies
        .iter()
        .map(|r| r.body["run"]["run_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(run_ids.len(), 1, "{run_ids:?}");
    let fresh = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "exactly one request ran; the others replayed");
    assert_eq!(
        server.dump()["marketplace_matching_runs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Runs the futures concurrently on the test runtime and keeps their order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: Vec<F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}
