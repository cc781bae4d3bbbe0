//! The rate limit of a deployment's writes: 60 a minute of the request clock, across its
//! heartbeats, signals and consensus, counted in the store so that instances share it.

use serde_json::json;

use super::support::{Deployed, deploy, heartbeat_body, model, signal, vendor};
use crate::support::{Reply, TestServer};

async fn heartbeat(server: &TestServer, deployment: &Deployed, at: &str) -> Reply {
    server
        .op("mlHeartbeats.record", &[])
        .bearer(&deployment.token)
        .at(at)
        .json(&heartbeat_body(deployment))
        .send()
        .await
}

#[tokio::test]
async fn the_sixty_first_write_in_a_minute_is_refused_with_its_headers() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let registered = model(&server, &acme, "m").await;
    let deployment = deploy(&server, &acme, &registered).await;
    let minute = "2026-03-01T09:00:15Z";
    let first = heartbeat(&server, &deployment, minute).await;
    assert_eq!(first.status, 200, "{}", first.body);
    for (name, value) in [
        ("ratelimit-limit", "60"),
        ("ratelimit-remaining", "59"),
        ("ratelimit-reset", "45"),
        ("x-ratelimit-limit", "60"),
        ("x-ratelimit-remaining", "59"),
        ("x-ratelimit-reset", "45"),
    ] {
        assert_eq!(first.header(name), Some(value), "{name}");
    }
    assert_eq!(first.header("retry-after"), None);
    // Signals and consensus share the bucket, and a refused write counts too.
    let stored = server
        .op("mlSignals.store", &[])
        .bearer(&deployment.token)
        .at(minute)
        .json(&json!([signal("EURUSD", "BUY", 0.6)]))
        .send()
        .await;
    assert_eq!(stored.header("ratelimit-remaining"), Some("58"));
    let refused = server
        .op("mlSignals.store", &[])
        .bearer(&deployment.token)
        .at(minute)
        .json(&json!([]))
        .send()
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.header("ratelimit-remaining"), Some("57"));
    // Refused before its transaction (the media type), and counted all the same.
    let not_json = || {
        server
            .op("mlSignals.store", &[])
            .bearer(&deployment.token)
            .at(minute)
            .typed("text/plain", "[]")
    };
    let unsupported = not_json().send().await;
    assert_eq!(unsupported.status, 415, "{}", unsupported.body);
    assert_eq!(unsupported.header("ratelimit-remaining"), Some("56"));
    for _ in 4..60 {
        assert_eq!(heartbeat(&server, &deployment, minute).await.status, 200);
    }
    // Past the limit, the limit is what a malformed request hears first.
    let past = not_json().send().await;
    assert_eq!(past.status, 429, "{}", past.body);
    assert_eq!(past.header("retry-after"), Some("45"));
    let over = heartbeat(&server, &deployment, "2026-03-01T09:00:50Z").await;
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(over.reason(), "rate_limited");
    assert_eq!(over.body["error"]["code"], "RATE_LIMITED");
    assert_eq!(over.header("retry-after"), Some("10"));
    assert_eq!(over.header("ratelimit-remaining"), Some("0"));
    assert_eq!(over.header("x-ratelimit-reset"), Some("10"));
    assert_eq!(over.body["error"]["details"]["retry_after_s"], 10);
    let next_minute = heartbeat(&server, &deployment, "2026-03-01T09:01:00Z").await;
    assert_eq!(next_minute.status, 200);
    assert_eq!(next_minute.header("ratelimit-remaining"), Some("59"));
    // Another deployment has a window of its own.
    let other = deploy(&server, &acme, &registered).await;
    assert_eq!(
        heartbeat(&server, &other, "2026-03-01T09:00:55Z")
            .await
            .status,
        200
    );
    // An unauthenticated request is not counted (nothing to count it against).
    let anonymous = server
        .op("mlHeartbeats.record", &[])
        .json(&heartbeat_body(&other))
        .send()
        .await;
    assert_eq!(anonymous.header("ratelimit-limit"), None);
    server.stop().await;
}

#[tokio::test]
async fn two_instances_count_one_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let one = TestServer::start_at(&path, true).await;
    let two = TestServer::start_at(&path, true).await;
    let acme = vendor(&one, "Acme").await;
    let registered = model(&one, &acme, "m").await;
    let deployment = deploy(&one, &acme, &registered).await;
    let minute = "2026-03-01T09:00:00Z";
    for index in 0..60 {
        let server = if index % 2 == 0 { &one } else { &two };
        assert_eq!(heartbeat(server, &deployment, minute).await.status, 200);
    }
    assert_eq!(heartbeat(&two, &deployment, minute).await.status, 429);
    assert_eq!(heartbeat(&one, &deployment, minute).await.status, 429);
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn outside_development_a_new_request_clock_opens_no_new_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        marketref::store::SqliteStore::open(&dir.path().join("m.sqlite")).unwrap(),
    );
    let server = TestServer::start_with(store, false).await;
    let acme = vendor(&server, "Acme").await;
    let registered = model(&server, &acme, "m").await;
    let deployment = deploy(&server, &acme, &registered).await;
    for minute in 0..60 {
        let at = format!("2026-03-01T{:02}:{:02}:00Z", 9 + minute / 60, minute % 60);
        let reply = heartbeat(&server, &deployment, &at).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let over = heartbeat(&server, &deployment, "2026-03-02T09:00:00Z").await;
    assert_eq!(
        over.reason(),
        "rate_limited",
        "the server's minute, not the client's"
    );
    server.stop().await;
}
