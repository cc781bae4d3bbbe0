//! Bad input gets a 4xx in the envelope, never a 5xx, and changes nothing.

use serde_json::json;

use crate::support::{TestServer, first_run_body};

const RUN_SCOPE: &str = "settlement:write";

#[tokio::test]
async fn malformed_json_is_400_with_the_operations_reason() {
    let server = TestServer::start().await;
    for (key, body) in [("a", "{oops"), ("b", "nul"), ("c", "[1,2"), ("d", "\u{0}")] {
        let reply = server
            .op("marketplaceMatching.run", &[])
            .partner(RUN_SCOPE)
            .key(key)
            .raw(body)
            .send()
            .await;
        assert_eq!(reply.status, 400, "{body:?}");
        assert_eq!(reply.body["error"]["code"], "CONSTRAINT_VIOLATION");
        assert_eq!(reply.reason(), "marketplace_matching_invalid_request");
        assert_eq!(
            reply.body["error"]["details"]["errors"],
            json!([{"instance_path": "", "keyword": "json_parse"}])
        );
    }
}

#[tokio::test]
async fn no_body_reads_as_an_empty_object() {
    let server = TestServer::start().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner(RUN_SCOPE)
        .key("k")
        .raw("")
        .send()
        .await;
    // Every field is optional, so the run gets as far as pricing: nothing is priced yet.
    assert_eq!(reply.reason(), "marketplace_matching_asset_values_missing");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_400() {
    let server = TestServer::start().await;
    for (key, body) in [
        ("a", json!([])),
        ("b", json!("x")),
        ("c", json!(null)),
        ("d", json!(7)),
    ] {
        let reply = server
            .op("marketplaceMatching.run", &[])
            .partner(RUN_SCOPE)
            .key(key)
            .json(&body)
            .send()
            .await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(
            reply.body["error"]["details"]["errors"],
            json!([{"instance_path": "", "keyword": "type"}])
        );
    }
}

#[tokio::test]
async fn field_rules_are_listed_in_a_stable_order() {
    let server = TestServer::start().await;
    let body = json!({
        "replace_existing": "yes",
        "max_proposals": 201,
        "recorded_at": "not a date",
        "asset_values_usd": {"": 1, "a": -5, "b": "12"},
        "surprise": true
    });
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner(RUN_SCOPE)
        .key("k")
        .json(&body)
        .send()
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["error"]["details"]["errors"],
        json!([
            {"instance_path": "/asset_values_usd", "keyword": "propertyNames"},
            {"instance_path": "/asset_values_usd/a", "keyword": "minimum"},
            {"instance_path": "/asset_values_usd/b", "keyword": "type"},
            {"instance_path": "/max_proposals", "keyword": "maximum"},
            {"instance_path": "/recorded_at", "keyword": "format"},
            {"instance_path": "/replace_existing", "keyword": "type"},
            {"instance_path": "/surprise", "keyword": "additionalProperties"}
        ])
    );
}

#[tokio::test]
async fn max_proposals_is_not_clamped_and_zero_is_refused() {
    let server = TestServer::start().await;
    for (key, value) in [("a", json!(0)), ("b", json!(200.5)), ("c", json!(1000))] {
        let reply = server
            .op("marketplaceMatching.run", &[])
            .partner(RUN_SCOPE)
            .key(key)
            .json(&json!({"max_proposals": value}))
            .send()
            .await;
        assert_eq!(reply.status, 400, "{value}");
    }
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let server = TestServer::start().await;
    let big = format!(
        "{{\"recorded_at\": \"2026-02-28T20:00:00Z\", \"pad\": \"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner(RUN_SCOPE)
        .key("k")
        .raw(big)
        .send()
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.body["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(reply.reason(), "request_body_too_large");
}

/// A refusal before the body is read leaves the rest of it on the connection, which the
/// server then closes: the answer says so, so that a pooling client opens a new connection
/// for its next request instead of losing it to the race (as the verifier once did).
#[tokio::test]
async fn a_refusal_before_the_body_is_read_closes_the_connection_and_the_next_request_is_answered()
{
    let server = TestServer::start().await;
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    for _ in 0..10 {
        let refused = server
            .op("marketplaceMatching.run", &[])
            .partner(RUN_SCOPE)
            .key("k")
            .raw(big.clone())
            .send()
            .await;
        assert_eq!(refused.status, 413);
        assert_eq!(refused.headers["connection"], "close");
        let next = server.call("GET", "/healthz").send().await;
        assert_eq!(next.status, 200, "{}", next.body);
    }
    // Without a body there is nothing left on the connection, and it is kept.
    let unauthenticated = server
        .op("marketplaceMatching.run", &[])
        .key("k")
        .send()
        .await;
    assert_eq!(unauthenticated.status, 401);
    assert!(unauthenticated.headers.get("connection").is_none());
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let addr = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = "POST /marketplace/matching/runs HTTP/1.1\r\nhost: x\r\nx-actor-type: partner\r\n\
                x-actor-id: p\r\nx-auth-scopes: settlement:write\r\nidempotency-key: k\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..20 {
        // The server may answer and close before the whole body is sent.
        if stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
            || stream.write_all(&chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("request_body_too_large"), "{answer}");
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_in_the_envelope() {
    let server = TestServer::start().await;
    let missing = server.call("GET", "/no/such/path").send().await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.reason(), "route_not_found");
    let wrong = server
        .call("DELETE", "/marketplace/matching/runs")
        .send()
        .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.reason(), "method_not_allowed");
    assert_eq!(
        wrong.body["error"]["details"]["allowed_methods"],
        json!(["GET", "POST"])
    );
    assert_eq!(wrong.header("allow"), Some("GET, POST"));
}

#[tokio::test]
async fn dev_operations_are_absent_without_dev_mode() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_at(&dir.path().join("x.db"), false).await;
    let reply = server.call("POST", "/dev/reset").send().await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.reason(), "route_not_found");
    server.stop().await;
}

#[tokio::test]
async fn an_invalid_request_clock_is_400() {
    let server = TestServer::start().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner(RUN_SCOPE)
        .key("k")
        .header("x-now-iso", "last tuesday")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.reason(), "request_clock_invalid");
}

#[tokio::test]
async fn the_same_failure_gives_the_same_bytes() {
    let server = TestServer::start().await;
    let mut bodies = Vec::new();
    for key in ["k1", "k2"] {
        let reply = server
            .op("marketplaceMatching.run", &[])
            .partner(RUN_SCOPE)
            .key(key)
            .header("x-correlation-id", "same")
            .json(&json!({"max_proposals": 0}))
            .send()
            .await;
        bodies.push(reply.body.to_string());
    }
    assert_eq!(bodies[0], bodies[1]);
}

#[tokio::test]
async fn correlation_ids_are_echoed_in_header_and_body() {
    let server = TestServer::start().await;
    let reply = server
        .op("system.health", &[])
        .header("x-correlation-id", "trace-42")
        .send()
        .await;
    assert_eq!(reply.header("x-correlation-id"), Some("trace-42"));
    assert_eq!(reply.body["correlation_id"], "trace-42");
    let generated = server.op("system.health", &[]).send().await;
    let id = generated.body["correlation_id"].as_str().unwrap();
    assert!(id.starts_with("corr_"), "{id}");
    assert_eq!(generated.header("x-correlation-id"), Some(id));
}

#[tokio::test]
async fn a_body_of_another_media_type_is_415_and_changes_nothing() {
    let server = TestServer::start().await;
    let before = server.dump();
    for media_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let reply = server
            .op("marketplaceMatching.run", &[])
            .partner(RUN_SCOPE)
            .key(&media_type.replace('/', "-"))
            .typed(media_type, first_run_body().to_string())
            .send()
            .await;
        assert_eq!(reply.status, 415, "{media_type}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
        assert_eq!(reply.body["error"]["details"]["content_type"], media_type);
    }
    for (index, json_type) in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ]
    .into_iter()
    .enumerate()
    {
        let reply = server
            .op("marketplaceMatching.run", &[])
            .partner(RUN_SCOPE)
            .key(&format!("json-{index}"))
            .typed(json_type, "{}")
            .send()
            .await;
        assert_eq!(
            reply.reason(),
            "marketplace_matching_asset_values_missing",
            "{json_type} is JSON"
        );
    }
    let mut after = server.dump();
    // The JSON attempts are recorded as their idempotent refusals; the 415s are not.
    let recorded = after["idempotency_records"].as_array().unwrap().len();
    assert_eq!(recorded, 3);
    after["idempotency_records"] = before["idempotency_records"].clone();
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_key_named_twice_is_refused_not_read_as_the_last_one() {
    let server = TestServer::start().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner(RUN_SCOPE)
        .key("twice")
        .raw(r#"{"max_proposals": 5, "asset_values_usd": {"a": 1, "a": 2}}"#)
        .send()
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.reason(), "marketplace_matching_invalid_request");
    assert_eq!(reply.body["error"]["details"]["rule"], "duplicate_key");
    assert_eq!(
        reply.body["error"]["details"]["field"],
        "asset_values_usd.a"
    );
    assert_eq!(
        reply.body["error"]["details"]["errors"],
        json!([{"instance_path": "/asset_values_usd/a", "keyword": "duplicate_key"}])
    );
    assert_eq!(server.dump()["marketplace_asset_values"], json!([]));
}
