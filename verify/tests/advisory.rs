//! `advisory`: a contract rule or a step the milestone marks advisory is reported, in the
//! terminal and as a divergence, without failing the run.

use crate::support::{self, RepoCopy, Served, path_str};

/// A health endpoint that keeps the contract but for the correlation id it never echoes.
fn health_without_echo() -> Served {
    Served::router(axum::Router::new().route(
        "/healthz",
        axum::routing::get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"correlation_id":"theirs","ok":true,"store":{"backend":"memory","path":"-"},"summary":{}}"#,
            )
        }),
    ))
}

fn run_health(advisory: &str) -> (support::Output, serde_json::Value) {
    let served = health_without_echo();
    let repo = RepoCopy::new();
    repo.write(
        "milestones/HEALTH.yaml",
        &support::health_milestone("HEALTH", advisory, "true"),
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
    strict.assert_printed("PASS  step  health/health");
    strict.assert_printed("FAIL  rule  correlation-id-echo broken in 2 of 2 answers");
    assert_eq!(report["divergences"][0]["fails_run"], true);

    let (lenient, report) = run_health("advisory: [correlation-id-echo]");
    assert_eq!(lenient.code, 0, "{}", lenient.stdout);
    lenient.assert_printed("WARN  rule  correlation-id-echo broken in 2 of 2 answers (advisory)");
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
    run.assert_printed("WARN  step  unknown-run/read-unknown-run");
    let md = std::fs::read_to_string(repo.path("out/milestones/M111/latest/report.md")).unwrap();
    assert!(
        md.contains("| 1 | `unknown-run/read-unknown-run` |"),
        "{md}"
    );
    assert!(md.contains("| no (reported) |"), "{md}");
}
