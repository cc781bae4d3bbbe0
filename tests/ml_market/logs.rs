//! No secret reaches the log, at the most verbose level, wherever a client puts it.

use serde_json::{Value, json};

use crate::docs::ServedBinary;

async fn call(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn tokens_never_reach_the_log_at_trace_level() {
    let server = ServedBinary::start_logging(&[], "trace");
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = reqwest::Client::new();
    let operator = [
        ("x-actor-type", "partner"),
        ("x-actor-id", "operator"),
        ("x-auth-scopes", "ml:operate ml:read"),
    ];
    let (status, vendor) = call(
        &client,
        &base,
        reqwest::Method::POST,
        "/api/vendors",
        &operator,
        Some(json!({"name": "Acme"})),
    )
    .await;
    assert_eq!(status, 201, "{vendor}");
    let key = vendor["data"]["api_key"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {key}");
    let (status, model) = call(
        &client,
        &base,
        reqwest::Method::POST,
        "/api/vendors/models",
        &[("authorization", &bearer)],
        Some(json!({"name": "m", "task": "signal", "version": "1.0.0"})),
    )
    .await;
    assert_eq!(status, 201, "{model}");
    let (status, deployment) = call(
        &client,
        &base,
        reqwest::Method::POST,
        "/api/deployments",
        &[("authorization", &bearer)],
        Some(json!({"model_id": model["data"]["model_id"], "version_id": model["data"]["version_id"]})),
    )
    .await;
    assert_eq!(status, 201, "{deployment}");
    let token = deployment["data"]["infra_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A client that puts its token where a log would show it: the path, the correlation id,
    // a body the server refuses.
    let (status, _) = call(
        &client,
        &base,
        reqwest::Method::GET,
        &format!("/api/{key}"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &client,
        &base,
        reqwest::Method::GET,
        "/api/vendors/me",
        &[("authorization", &bearer), ("x-correlation-id", &token)],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &client,
        &base,
        reqwest::Method::POST,
        "/api/signals/store",
        &[("authorization", &format!("Bearer {token}"))],
        Some(json!({"secret": token})),
    )
    .await;
    assert_eq!(status, 400);
    let log = server.log.clone();
    assert!(server.terminate().success());
    let stopped = || {
        log.lock()
            .unwrap()
            .iter()
            .any(|line| line.contains("store closed"))
    };
    for _ in 0..100 {
        if stopped() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let log = log.lock().unwrap().join("\n");
    assert!(
        log.contains("marketref::request"),
        "the request log is there: {log}"
    );
    for secret in [&key, &token] {
        let (_, tail) = secret.rsplit_once('_').unwrap();
        assert!(!log.contains(tail), "a secret reached the log");
    }
    let masked = marketref::credentials::redact(&key);
    assert!(
        log.contains(masked.as_ref()),
        "the path that carried the key is logged masked"
    );
}
