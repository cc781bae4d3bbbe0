//! `mp validate` fails a model server that breaks the contract, naming each broken check, and
//! writes the checks as JUnit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::json;

use crate::support::{Fake, Terminal};

/// A model server that is healthy and ready but whose `/infer` answers a body without
/// `model_version`, a new confidence every time, and a 500 to a request without bars.
fn broken_server() -> Fake {
    let calls = Arc::new(AtomicU64::new(0));
    let router = axum::Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route(
            "/ready",
            get(|| async { axum::Json(json!({"ready": true})) }),
        )
        .route(
            "/infer",
            post(move |body: String| {
                let calls = calls.clone();
                async move {
                    let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    if body.get("ohlcv").is_none() {
                        return (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            axum::Json(json!({"oops": true})),
                        );
                    }
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    (
                        StatusCode::OK,
                        axum::Json(
                            json!({"decision": "BUY", "confidence": 0.5 + (n % 5) as f64 / 100.0,
                                          "timestamp": "2026-01-02T15:00:00Z"}),
                        ),
                    )
                }
            }),
        );
    Fake::serve(router)
}

#[test]
fn a_server_that_breaks_the_contract_fails_naming_each_check() {
    let fake = broken_server();
    let url = fake.url.clone();
    let terminal = Terminal::new();
    let run = terminal.mp(&[
        "validate",
        "--url",
        &url,
        "--junit",
        "validate.xml",
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json();
    let verdicts: Vec<(String, bool)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("health".to_owned(), true),
            ("ready".to_owned(), true),
            ("infer".to_owned(), false),
            ("infer-same-answer".to_owned(), false),
            ("infer-bad-input".to_owned(), false),
            ("infer-latency".to_owned(), true),
        ],
        "{report}"
    );
    let infer = &report["checks"][2]["detail"];
    assert!(infer.as_str().unwrap().contains("model_version"), "{infer}");
    assert!(
        run.stderr.contains(
            "breaks the model-server contract: infer, infer-same-answer, infer-bad-input"
        ),
        "{}",
        run.stderr
    );
    let junit = std::fs::read_to_string(terminal.path("validate.xml")).unwrap();
    assert!(
        junit.contains(r#"<testsuite name="mp validate" tests="6" failures="3">"#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testcase classname="model-server" name="infer-bad-input""#),
        "{junit}"
    );

    let human = terminal.mp(&["validate", "--url", &url]);
    assert_eq!(human.code, 1);
    assert!(
        human.stdout.contains("FAIL  infer-bad-input"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("PASS  health"), "{}", human.stdout);

    let nobody = terminal.mp(&["validate", "--url", "http://127.0.0.1:9", "--json"]);
    assert_eq!(nobody.code, 1, "{nobody:?}");
    assert_eq!(nobody.json()["passed"], false);
}
