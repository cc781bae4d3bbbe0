//! The conformance report against a server we did not write (`divergent`): each planted
//! divergence is named once, in its own row, and every step whose answer agrees passes.

use std::path::Path;

use serde_json::Value;

use crate::divergent::{self, Divergences};
use crate::support::{self, RepoCopy, snapshot};

struct Report {
    verdict: verify::Verdict,
    printed: String,
    json: Value,
    markdown: String,
}

fn verify_m111(url: &str, out: &Path) -> Report {
    let options = verify::Options {
        paths: vec![support::milestone("M111.yaml")],
        base_url: Some(url.to_owned()),
        out: Some(out.to_path_buf()),
        ..verify::Options::default()
    };
    let mut terminal = Vec::new();
    let verdict = verify::verify(&options, &mut terminal).expect("M111 loads");
    let latest = out.join("milestones/M111/latest");
    let read = |name: &str| std::fs::read_to_string(latest.join(name)).expect("written");
    Report {
        printed: String::from_utf8_lossy(&terminal).into_owned(),
        json: serde_json::from_str(&read("report.json")).expect("JSON"),
        markdown: read("report.md"),
        verdict,
    }
}

fn checks(report: &Report) -> Vec<String> {
    report.json["divergences"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|row| row["check"].as_str().expect("a name").to_owned())
        .collect()
}

fn row<'r>(report: &'r Report, check: &str) -> &'r Value {
    report.json["divergences"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["check"] == check))
        .unwrap_or_else(|| panic!("no `{check}` row:\n{}", report.markdown))
}

#[test]
fn each_planted_divergence_is_one_row_and_the_agreeing_steps_pass() {
    let server = divergent::start(Divergences::ALL);
    let out = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let report = verify_m111(&server.url, out.path());
    println!("M111 against the divergent server: {:?}", started.elapsed());
    assert!(!report.verdict.passed(), "{}", report.printed);

    assert_eq!(
        checks(&report),
        [
            "seed-routes",
            "correlation-id-echo",
            "idempotent-replay",
            "invalid-request/max-proposals-out-of-range",
            "invalid-request/malformed-json",
        ],
        "{}",
        report.markdown
    );
    let description = |check: &str| {
        row(&report, check)["description"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        description("seed-routes").contains("does not offer the seeding routes")
            && description("seed-routes").contains("401 auth_identity_missing"),
        "{}",
        description("seed-routes")
    );
    assert_eq!(
        row(&report, "seed-routes")["fails_run"],
        false,
        "the API seed took over"
    );
    assert_eq!(
        description("correlation-id-echo"),
        "`x-correlation-id` not echoed (header absent, body `correlation_id` differs) (in 69 of 69 answers; the first of 2 findings)"
    );
    assert_eq!(
        description("idempotent-replay"),
        "no `Idempotent-Replayed: true` header on replay (in 2 of 69 answers)"
    );
    assert_eq!(
        description("invalid-request/max-proposals-out-of-range"),
        "`max_proposals: 500` accepted (answered 200)"
    );
    assert_eq!(
        description("invalid-request/malformed-json"),
        "malformed JSON answered 500 internal_error instead of 400"
    );
    let clamp = &row(&report, "invalid-request/max-proposals-out-of-range")["example"];
    assert_eq!(clamp["request"]["body"]["max_proposals"], 500);
    assert_eq!(
        clamp["answered"]["body"]["run"]["max_proposals"], 200,
        "the clamp shows"
    );
    assert_eq!(clamp["expected"]["status"], 400);
    let replays = row(&report, "idempotent-replay")["occurrences"].clone();
    assert_eq!(
        replays,
        serde_json::json!(["first-run/replay", "invalid-request/replayed-as-stored"])
    );

    // One divergence, one failing check: every other step passed on its own assertions.
    let run = &report.verdict.runs[0];
    let failed: Vec<String> = run
        .steps
        .iter()
        .filter(|s| !s.passed)
        .map(|s| s.label())
        .collect();
    assert_eq!(
        failed,
        [
            "invalid-request/max-proposals-out-of-range",
            "invalid-request/malformed-json"
        ]
    );
    assert!(
        run.routing.iter().chain(&run.auth).all(|p| p.passed),
        "{}",
        report.printed
    );
    assert!(
        run.floor.iter().all(|reason| reason.returned()),
        "{:?}",
        run.floor
    );

    assert!(
        report
            .markdown
            .contains("## Divergences\n\n5 found, 4 of which fail the run."),
        "{}",
        report.markdown
    );
    let table = report
        .markdown
        .lines()
        .skip_while(|l| !l.starts_with("| # |"))
        .nth(2)
        .unwrap();
    assert!(
        table.starts_with("| 1 | `seed-routes` | dev.reset |"),
        "{table}"
    );
}

#[test]
fn a_server_that_agrees_passes_with_the_reference_pin() {
    let server = divergent::start(Divergences::NONE);
    let out = tempfile::tempdir().unwrap();
    let report = verify_m111(&server.url, out.path());
    assert_eq!(checks(&report), ["seed-routes"], "{}", report.markdown);
    assert!(report.verdict.passed(), "{}", report.printed);
    assert_eq!(
        report.verdict.runs[0].outcome_check.state(),
        "matches",
        "its answers are the reference's, so the reference pin holds:\n{}",
        report.printed
    );
}

#[test]
fn the_report_is_the_same_on_every_run() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    for out in [&first, &second] {
        let server = divergent::start(Divergences::ALL);
        verify_m111(&server.url, out.path());
    }
    let snap = |dir: &tempfile::TempDir| snapshot(&dir.path().join("milestones/M111/latest"));
    let (a, b) = (snap(&first), snap(&second));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(b[name] == *bytes, "latest/{name} differs between two runs");
        assert!(
            !String::from_utf8_lossy(bytes).contains("127.0.0.1:"),
            "latest/{name} has a port"
        );
    }
}

#[test]
fn without_an_api_seed_the_run_stops_at_the_seed_in_one_row() {
    let server = divergent::start(Divergences::NONE);
    let repo = RepoCopy::new();
    let seed = "seed:\n  fixtures: [../fixtures/swap/worked-example.json]";
    repo.write(
        "milestones/DEVONLY.yaml",
        &support::health_milestone("DEVONLY", seed, "true"),
    );
    let options = verify::Options {
        paths: vec![repo.path("milestones/DEVONLY.yaml")],
        base_url: Some(server.url.clone()),
        out: Some(repo.path("out")),
        ..verify::Options::default()
    };
    let verdict = verify::verify(&options, &mut Vec::new()).expect("the milestone loads");
    assert!(!verdict.passed());
    assert!(
        verdict.runs[0].steps.iter().all(|s| s.scenario == "seed"),
        "nothing ran after the seed"
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.path("out/milestones/DEVONLY/latest/report.json")).unwrap(),
    )
    .unwrap();
    let rows = report["divergences"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["check"], "seed");
    assert!(
        rows[0]["description"].as_str().unwrap().starts_with(
            "the server does not offer the seeding routes (`dev.reset` (`POST /dev/reset`) answered 401 auth_identity_missing): this milestone declares no API seed"
        ),
        "{}",
        rows[0]["description"]
    );
}
