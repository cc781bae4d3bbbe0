//! The verifier can fail: a wrong expectation, a drifted schema, a changed outcome, a floor that
//! is not covered. Each exits 1 and says what failed.

use crate::support::{self, RepoCopy, path_str};

#[test]
fn a_wrong_expectation_exits_1_and_names_the_step() {
    let repo = RepoCopy::new();
    repo.edit(
        "milestones/M111.yaml",
        "            - {at: /run/expired_proposals_count, equals: 1}\n            - {at: /run/replaced_proposals_count, equals: 0}\n            - {at: /run/selected_proposals_count, equals: 2}\n            - {at: /run/stored_proposals_count, equals: 2}",
        "            - {at: /run/expired_proposals_count, equals: 1}\n            - {at: /run/replaced_proposals_count, equals: 0}\n            - {at: /run/selected_proposals_count, equals: 3}\n            - {at: /run/stored_proposals_count, equals: 2}",
    );
    let file = repo.path("milestones/M111.yaml");
    let run = support::verify(&[path_str(&file), "--out", path_str(&repo.path("out"))]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.last_line(), "overall=false");
    let failed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.starts_with("FAIL  step"))
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "exactly the edited step fails:\n{}",
        run.stdout
    );
    assert!(failed[0].contains("first-run/run"), "{}", failed[0]);
    // Expected and actual side by side, then the unified diff.
    let table = run
        .stdout
        .lines()
        .find(|line| {
            line.trim_start()
                .starts_with("json /run/selected_proposals_count equals")
        })
        .unwrap_or_else(|| panic!("no row for the failed check:\n{}", run.stdout));
    let cells: Vec<&str> = table.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 2..], ["3", "2"], "{table}");
    assert!(
        run.stdout.contains("-3\n") && run.stdout.contains("+2\n"),
        "{}",
        run.stdout
    );
    // The server's behaviour did not change, so its pinned outcome still matches.
    assert!(run.stdout.contains("(matches)"), "{}", run.stdout);

    let report =
        std::fs::read_to_string(repo.path("out/milestones/M111/latest/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["totals"]["steps_failed"], 1);
    let junit = std::fs::read_to_string(repo.path("out/milestones/M111/latest/junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<testcase classname="M111.first-run" name="run">"#),
        "{junit}"
    );
    assert!(
        junit.contains("json /run/selected_proposals_count equals: expected 3 but got 2"),
        "{junit}"
    );
}

#[test]
fn a_schema_edited_by_hand_fails_the_contract_gate() {
    let repo = RepoCopy::new();
    let schema = "schemas/MatchingRunResponse.schema.json";
    let text = repo.read(schema);
    let edited = text.replacen("\"run_id\"", "\"run_identifier\"", 1);
    assert_ne!(text, edited);
    repo.write(schema, &edited);
    let run = support::verify(&[
        path_str(&repo.path("milestones/M111.yaml")),
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("FAIL  gate  contracts"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("{schema}: Drifted")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("+++ schemas/MatchingRunResponse.schema.json (generated)"),
        "the diff is shown:\n{}",
        run.stdout
    );
    assert_eq!(run.last_line(), "overall=false");
    let validation =
        std::fs::read_to_string(repo.path("out/milestones/M111/latest/contract_validation.json"))
            .unwrap();
    let validation: serde_json::Value = serde_json::from_str(&validation).unwrap();
    assert_eq!(validation["passed"], false);
    assert_eq!(validation["contracts"]["problems"][0]["path"], schema);
}

#[test]
fn a_changed_outcome_fails_even_when_every_expectation_holds() {
    let repo = RepoCopy::new();
    let text = repo.read("milestones/M111.yaml");
    let line = text
        .lines()
        .find(|l| l.starts_with("expected_outcome_sha256:"))
        .unwrap();
    repo.edit(
        "milestones/M111.yaml",
        line,
        &format!("expected_outcome_sha256: {}", "0".repeat(64)),
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones/M111.yaml")),
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("FAIL  step"), "{}", run.stdout);
    assert!(run.stdout.contains("(differs)"), "{}", run.stdout);
    assert!(
        run.stdout.contains("verify --update-expected"),
        "the fix is named:\n{}",
        run.stdout
    );
}

#[test]
fn an_uncovered_floor_fails_the_milestone() {
    let repo = RepoCopy::new();
    // The only step that provokes `marketplace_matching_run_not_found` as an answer to a
    // request the milestone makes on purpose now asks for an existing run.
    repo.edit(
        "milestones/M111.yaml",
        "        params: {run_id: mrun_999999}\n        actor: partner\n        expect:\n          error_code: NOT_FOUND\n          reason_code: marketplace_matching_run_not_found\n          json:\n            - {at: /error/details, equals: {reason_code: marketplace_matching_run_not_found, run_id: mrun_999999}}\n            - {at: /error/message, equals: The matching run was not found.}\n",
        "        params: {run_id: mrun_000002}\n        actor: partner\n",
    );
    repo.edit(
        "milestones/M111.yaml",
        "        params: {run_id: mrun_000003}\n        actor: partner\n        expect:\n          reason_code: marketplace_matching_run_not_found\n",
        "        params: {run_id: mrun_000002}\n        actor: partner\n",
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones/M111.yaml")),
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "FAIL  floor  3/4 reason codes returned (not returned: marketplace_matching_run_not_found)"
        ),
        "{}",
        run.stdout
    );
}
