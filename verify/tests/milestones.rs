//! CI: every milestone under milestones/ passes in process, and together they exercise
//! everything the manifest and the registry declare.

use crate::support::{self, path_str};

#[test]
fn every_milestone_passes_in_process_and_coverage_holds() {
    let out = tempfile::tempdir().unwrap();
    let dir = support::repo_root().join("milestones");
    let run = support::verify(&[path_str(&dir), "--coverage", "--out", path_str(out.path())]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.last_line(), "overall=true");
    assert!(run.stdout.contains("M111: PASS"), "{}", run.stdout);
    assert!(run.stdout.contains("SWAP-API: PASS"), "{}", run.stdout);
    assert!(run.stdout.contains("coverage: PASS"), "{}", run.stdout);
    assert!(!run.stdout.contains("NOT EXERCISED"), "{}", run.stdout);
    assert!(
        run.stdout.contains("excluded (not a contract)"),
        "internal_error is listed as excluded"
    );

    let coverage: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("coverage.json")).unwrap())
            .unwrap();
    assert_eq!(coverage["passed"], true);
    for reason in marketref::reason::Reason::ALL {
        let item = coverage["reason_codes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["name"] == reason.code())
            .unwrap_or_else(|| panic!("{} is missing from coverage.json", reason.code()));
        let exercised = !item["exercised_by"].as_array().unwrap().is_empty();
        assert_eq!(
            exercised,
            *reason != marketref::reason::Reason::InternalError,
            "{} exercised: {exercised}",
            reason.code()
        );
    }
}

#[test]
fn m111_pins_the_worked_example_and_writes_every_artifact() {
    let out = tempfile::tempdir().unwrap();
    let run = support::verify(&[
        path_str(&support::milestone("M111.yaml")),
        "--out",
        path_str(out.path()),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let latest = out.path().join("milestones/M111/latest");
    for file in [
        "report.json",
        "transcript.jsonl",
        "contract_validation.json",
        "auth_validation.json",
        "store.json",
        "outcome.json",
        "outcome.sha256",
        "report.md",
        "junit.xml",
    ] {
        assert!(latest.join(file).is_file(), "latest/{file} is missing");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(latest.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(
        report["outcome"]["state"], "matches",
        "M111 pins its outcome"
    );
    let first_run = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "first-run")
        .unwrap();
    let body = &first_run["steps"][0]["response"]["body"]["run"];
    assert_eq!(body["expired_proposals_count"], 1);
    assert_eq!(body["replaced_proposals_count"], 0);
    assert_eq!(body["selected_proposals_count"], 2);
    assert_eq!(body["proposal_ids"][0], "cycle_961f2288e6f7");
    assert_eq!(body["stats"]["candidate_cycles"], 3);

    let outcome = std::fs::read(latest.join("outcome.json")).unwrap();
    let hash = marketref::json::sha256_hex(&outcome);
    let recorded = std::fs::read_to_string(latest.join("outcome.sha256")).unwrap();
    assert_eq!(
        recorded,
        format!("{hash}  outcome.json\n"),
        "sha256sum -c can check the file"
    );

    let transcript = std::fs::read_to_string(latest.join("transcript.jsonl")).unwrap();
    let lines = transcript.lines().count();
    let totals = &report["totals"];
    assert_eq!(
        lines as u64,
        totals["steps"].as_u64().unwrap() + totals["probes"].as_u64().unwrap(),
        "one transcript line per exchange"
    );
}
