//! `advisory`: a contract rule or a step the milestone marks advisory is reported, in the
//! terminal and as a divergence, without failing the run.

use crate::support::{self, RepoCopy, Served, path_str};

/// A health endpoint that keeps the contract but for the correlation id it never echoes.
fn health_without_echo() -> Served {
    Served::start(|listener, stopped| {
        let router = axum::Router::new().route(
            "/healthz",
            axum::routing::get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    r#"{"correlation_id":"theirs","ok":true,"store":{"backend":"memory","path":"-"},"summary":{}}"#,
                )
            }),
        );
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("the fake server stops cleanly");
        })
    })
}

const HEALTH: &str = "\
milestone: HEALTH
title: Health
clock: \"2026-02-28T20:00:00Z\"
operations: [system.health]
ADVISORY
scenarios:
  - name: health
    steps:
      - name: health
        operation: system.health
        expect:
          json:
            - {at: /ok, equals: true}
";

fn run_health(advisory: &str) -> (support::Output, serde_json::Value) {
    let served = health_without_echo();
    let repo = RepoCopy::new();
    repo.write(
        "milestones/HEALTH.yaml",
        &HEALTH.replace("ADVISORY", advisory),
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones/HEALTH.yaml")),
        "--base-url",
        &served.url,
        "--out",
        path_str(&repo.path("out")),
    ]);
    let report =
        std::fs::read_to_string(repo.path("out/milestones/HEALTH/latest/report.json")).unwrap();
    (run, serde_json::from_str(&report).unwrap())
}

#[test]
fn a_broken_rule_fails_the_run_unless_it_is_advisory() {
    let (strict, report) = run_health("");
    assert_eq!(strict.code, 1, "{}", strict.stdout);
    assert!(
        strict.stdout.contains("PASS  step  health/health"),
        "{}",
        strict.stdout
    );
    assert!(
        strict
            .stdout
            .contains("FAIL  rule  correlation-id-echo broken in 2 of 2 answers"),
        "{}",
        strict.stdout
    );
    assert_eq!(report["divergences"][0]["fails_run"], true);

    let (lenient, report) = run_health("advisory: [correlation-id-echo]");
    assert_eq!(lenient.code, 0, "{}", lenient.stdout);
    assert!(
        lenient
            .stdout
            .contains("WARN  rule  correlation-id-echo broken in 2 of 2 answers (advisory)"),
        "{}",
        lenient.stdout
    );
    assert_eq!(report["divergences"][0]["check"], "correlation-id-echo");
    assert_eq!(report["divergences"][0]["fails_run"], false);
}

#[test]
fn an_advisory_step_is_reported_without_failing() {
    let repo = RepoCopy::new();
    repo.edit(
        "milestones/M111.yaml",
        "      - name: read-unknown-run\n",
        "      - name: read-unknown-run\n        advisory: true\n",
    );
    repo.edit(
        "milestones/M111.yaml",
        "{at: /error/message, equals: The matching run was not found.}",
        "{at: /error/message, equals: No such run.}",
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones/M111.yaml")),
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("WARN  step  unknown-run/read-unknown-run"),
        "{}",
        run.stdout
    );
    let md = std::fs::read_to_string(repo.path("out/milestones/M111/latest/report.md")).unwrap();
    assert!(
        md.contains("| 1 | `unknown-run/read-unknown-run` |"),
        "{md}"
    );
    assert!(md.contains("| no (reported) |"), "{md}");
}
