//! The two seed paths: the API seed gives M111 the pin of the fixture seed; `--seed api` without
//! an API seed, and a loading request that fails, stop the run at the seed with one message.

use crate::support::{self, RepoCopy, path_str};

fn pin(text: &str) -> &str {
    text.lines()
        .find_map(|line| line.strip_prefix("expected_outcome_sha256: "))
        .expect("a pin")
}

#[test]
fn m111_seeded_through_the_api_in_process_matches_its_pin() {
    let out = tempfile::tempdir().unwrap();
    let milestone = support::milestone("M111.yaml");
    let run = support::verify(&[
        path_str(&milestone),
        "--seed",
        "api",
        "--out",
        path_str(out.path()),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.assert_printed("PASS  seed  through the API");
    run.assert_printed("PASS  seed  seed/create-f");
    let text = std::fs::read_to_string(&milestone).unwrap();
    run.assert_printed(&format!("outcome sha256 {} (matches)", pin(&text)));
    let outcome =
        std::fs::read_to_string(out.path().join("milestones/M111/latest/outcome.json")).unwrap();
    assert!(
        !outcome.contains("\"phase\": \"seed\""),
        "the seed's loading is not part of the outcome"
    );
}

#[test]
fn seed_api_without_an_api_seed_stops_with_one_message() {
    let out = tempfile::tempdir().unwrap();
    let run = support::verify(&[
        path_str(&support::milestone("ECO1.yaml")),
        "--seed",
        "api",
        "--out",
        path_str(out.path()),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let stops: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL  seed"))
        .collect();
    assert_eq!(
        stops,
        ["FAIL  seed  --seed api: this milestone declares no API seed (`seed: api:`)"]
    );
    assert!(
        !run.stdout.contains("  step  "),
        "no step ran:\n{}",
        run.stdout
    );
}

#[test]
fn a_failed_loading_request_stops_the_run_naming_its_operation() {
    let repo = RepoCopy::new();
    repo.edit(
        "milestones/M111.yaml",
        "      idempotency_key: m111-seed-a\n      body:\n        intent:\n          id: intent_a\n",
        "      idempotency_key: m111-seed-a\n      body:\n        intent:\n          id: intent_a\n          colour: red\n",
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones/M111.yaml")),
        "--seed",
        "api",
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.assert_printed("FAIL  seed  the seed's step `create-a` (`swapIntents.create`, `POST /swap-intents`) refused with 400 swap_intent_invalid; nothing after the seed ran");
    assert!(
        !run.stdout.contains("first-run/"),
        "the scenarios after the seed did not run:\n{}",
        run.stdout
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.path("out/milestones/M111/latest/report.json")).unwrap(),
    )
    .unwrap();
    let rows = report["divergences"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["check"], "seed");
    assert_eq!(
        rows[0]["operations"],
        serde_json::json!(["swapIntents.create"])
    );
}
