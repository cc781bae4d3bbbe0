//! What must hold across processes is held by the database, not by one runtime's writer
//! thread: two runtimes on one file (each with its own writer and its own store handle) stand
//! for two instances, and the rules are also driven at the store, under the handlers.

use std::sync::Arc;
use std::time::Duration;

use marketref::domain::data_market::store as data_store;
use marketref::domain::data_market::types::Offer;
use marketref::store::{IdempotencyScope, SqliteStore, Store};
use serde_json::{Value, json};

use crate::support::{TestServer, intent};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_sent_to_two_runtimes_on_one_file_executes_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first = TestServer::start_at(&path, true).await;
    let second = TestServer::start_at(&path, true).await;
    let body = json!({"intent": intent("contended", "u1", "knife", "gloves")});
    let sends: Vec<_> = (0..16)
        .map(|index| {
            let server = if index % 2 == 0 { &first } else { &second };
            tokio::spawn(
                server
                    .op("swapIntents.create", &[])
                    .actor("user", "u1", "swap_intents:write")
                    .key("one-key")
                    .json(&body)
                    .send(),
            )
        })
        .collect();
    let mut executed = 0;
    let mut bodies = Vec::new();
    for send in sends {
        let reply = send.await.unwrap();
        assert_eq!(reply.status, 201, "{}", reply.body);
        if reply.header("idempotent-replayed") != Some("true") {
            executed += 1;
        }
        bodies.push(reply.body);
    }
    assert_eq!(
        executed, 1,
        "the key ran once; every other request replayed"
    );
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(first.dump()["swap_intents"].as_array().unwrap().len(), 1);
    let other_body = json!({"intent": intent("contended", "u1", "knife", "boots")});
    let mismatch = second
        .op("swapIntents.create", &[])
        .actor("user", "u1", "swap_intents:write")
        .key("one-key")
        .json(&other_body)
        .send()
        .await;
    assert_eq!(mismatch.reason(), "idempotency_key_reuse_payload_mismatch");
    first.stop().await;
    second.stop().await;
}

fn contended_scope() -> IdempotencyScope<'static> {
    IdempotencyScope {
        actor_type: "user",
        actor_id: "u1",
        operation_id: "swapIntents.create",
        key: "k",
    }
}

/// The claim itself: a second handle's claim of a key another transaction holds waits for that
/// transaction and then sees its answer, never a free key.
#[test]
fn a_claimed_key_is_seen_by_another_handle_once_its_transaction_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let holder = SqliteStore::open(&path).unwrap();
    let other = Arc::new(SqliteStore::open(&path).unwrap());
    let scope = contended_scope();
    let mut tx = holder.write().unwrap();
    assert_eq!(tx.claim_idempotency(&scope, "hash-1").unwrap(), None);

    let contender = {
        let other = other.clone();
        std::thread::spawn(move || {
            let mut tx = other.write().unwrap();
            tx.claim_idempotency(&contended_scope(), "hash-2").unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !contender.is_finished(),
        "the contender waits on the database"
    );
    tx.complete_idempotency(&scope, 201, "{\"first\":true}")
        .unwrap();
    tx.commit().unwrap();
    let seen = contender.join().unwrap().expect("the committed record");
    assert_eq!(
        (seen.request_hash.as_str(), seen.status, seen.body.as_str()),
        ("hash-1", 201, "{\"first\":true}")
    );
}

fn offer(id: &str, status: &str) -> Offer {
    serde_json::from_value(json!({
        "offer_id": id, "seller_node_id": "node_alpha", "dataset_fingerprint": "sha256:0000aaaa",
        "title": "t", "description": "", "modality": "tabular", "label_schema": "unknown",
        "privacy_profile": "dp-ready", "sample_count": 1, "quality_score": 0.9,
        "allowed_tasks": [], "attestation_status": "unknown", "price_per_round": 1,
        "min_rounds": 1, "status": status,
        "created_at": "2026-03-01T09:00:00.000Z", "updated_at": "2026-03-01T09:00:00.000Z"
    }))
    .unwrap()
}

#[test]
fn the_database_refuses_a_second_active_offer_for_one_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let mut tx = store.write().unwrap();
    let offers = data_store::of(tx.as_mut()).unwrap();
    offers
        .insert_offer(&offer("offer_000001", "active"), 1)
        .unwrap();
    let refused = offers
        .insert_offer(&offer("offer_000002", "active"), 2)
        .unwrap_err();
    assert!(refused.is_conflict(), "{refused}");
    offers
        .insert_offer(&offer("offer_000003", "paused"), 3)
        .unwrap();
    let reactivated = offers
        .update_offer(&offer("offer_000003", "active"))
        .unwrap_err();
    assert!(reactivated.is_conflict(), "{reactivated}");
    offers
        .update_offer(&offer("offer_000001", "paused"))
        .unwrap();
    offers
        .update_offer(&offer("offer_000003", "active"))
        .unwrap();
}

/// The health counters against the rows they count, after every kind of write that touches
/// them: creates, a fixture load that replaces rows, runs that replace proposals, a cancel,
/// a reset.
#[tokio::test]
async fn health_counters_follow_every_write() {
    let server = TestServer::start().await;
    let counted = |dump: &Value| {
        let rows = |table: &str| dump[table].as_array().unwrap().len() as u64;
        let marketplace = dump["cycle_proposals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| row["origin"] == "marketplace")
            .count() as u64;
        json!({
            "intents": rows("swap_intents"),
            "proposals": rows("cycle_proposals"),
            "marketplace_asset_values": rows("marketplace_asset_values"),
            "marketplace_matching_runs": rows("marketplace_matching_runs"),
            "marketplace_matching_proposals": marketplace,
        })
    };
    let check = |step: &'static str| {
        let server = &server;
        async move {
            let health = server.op("system.health", &[]).send().await;
            assert_eq!(health.body["summary"], counted(&server.dump()), "{step}");
        }
    };
    check("empty").await;
    server.seed_worked_example().await;
    check("seeded").await;
    server.seed_worked_example().await;
    check("seeded again: every row replaced").await;
    for key in ["run-1", "run-2"] {
        let run = server
            .op("marketplaceMatching.run", &[])
            .partner("settlement:write")
            .key(key)
            .json(&crate::support::first_run_body())
            .send()
            .await;
        assert_eq!(run.status, 200, "{}", run.body);
        check("after a run").await;
    }
    assert_ne!(
        server.op("system.health", &[]).send().await.body["summary"]["marketplace_matching_runs"],
        0
    );
    let created = server
        .op("swapIntents.create", &[])
        .actor("user", "u9", "swap_intents:write")
        .key("c")
        .json(&json!({"intent": intent("late", "u9", "a", "b")}))
        .send()
        .await;
    assert_eq!(created.status, 201);
    check("after a create").await;
    server.op("dev.reset", &[]).send().await;
    check("after a reset").await;
}
