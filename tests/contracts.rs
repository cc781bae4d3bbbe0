//! The drift gate: committed contract files equal the generated ones, examples validate, and
//! the gate fails when they do not.

use std::path::Path;
use std::process::Command;

use marketref::contracts::{self, ProblemKind};

use crate::support::root;

#[test]
fn committed_contract_files_match_the_generated_ones() {
    let report = contracts::check(&root()).unwrap();
    assert!(
        report.is_clean(),
        "contract drift; run `cargo run -- contracts write` if intended:\n{report}"
    );
    assert!(report.examples_checked >= 8, "{report}");
}

/// A copy of the parts of the repository the gate reads.
fn copy_contract_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["schemas", "fixtures"] {
        copy_dir(&root().join(sub), &dir.path().join(sub));
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn a_schema_edited_by_hand_fails_the_gate_with_a_diff() {
    let tree = copy_contract_tree();
    let path = tree.path().join("schemas/MatchingRunRequest.schema.json");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"maximum\": 200", "\"maximum\": 500");
    std::fs::write(&path, edited).unwrap();

    let report = contracts::check(tree.path()).unwrap();
    let problem = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Drifted)
        .expect("drift found");
    assert_eq!(problem.path, "schemas/MatchingRunRequest.schema.json");
    let diff = problem.diff.as_deref().unwrap();
    assert!(
        diff.contains("-      \"maximum\": 500") && diff.contains("+      \"maximum\": 200"),
        "{diff}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_marketref"))
        .args(["contracts", "check", "--root"])
        .arg(tree.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("MatchingRunRequest.schema.json") && stdout.contains("@@"),
        "{stdout}"
    );
}

#[test]
fn an_invalid_example_fails_with_its_instance_path() {
    let tree = copy_contract_tree();
    let path = tree
        .path()
        .join("fixtures/examples/marketplaceMatching.run/worked-example.response.json");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"edges\": 7", "\"edges\": \"seven\"");
    std::fs::write(&path, edited).unwrap();
    let report = contracts::check(tree.path()).unwrap();
    let problem = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Example)
        .expect("example problem");
    assert!(
        problem.message.contains("/run/stats/edges"),
        "{}",
        problem.message
    );
}

#[test]
fn missing_stale_and_unreferenced_files_are_reported() {
    let tree = copy_contract_tree();
    std::fs::remove_file(tree.path().join("schemas/reason_codes.json")).unwrap();
    std::fs::write(tree.path().join("schemas/Old.schema.json"), "{}\n").unwrap();
    std::fs::write(tree.path().join("fixtures/examples/stray.json"), "{}\n").unwrap();
    let report = contracts::check(tree.path()).unwrap();
    let kinds: Vec<(ProblemKind, &str)> = report
        .problems
        .iter()
        .map(|p| (p.kind, p.path.as_str()))
        .collect();
    assert!(
        kinds.contains(&(ProblemKind::Missing, "schemas/reason_codes.json")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(ProblemKind::Stale, "schemas/Old.schema.json")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(ProblemKind::Unreferenced, "fixtures/examples/stray.json")),
        "{kinds:?}"
    );
}

#[test]
fn write_repairs_what_check_found() {
    let tree = copy_contract_tree();
    std::fs::write(
        tree.path().join("schemas/HealthResponse.schema.json"),
        "{}\n",
    )
    .unwrap();
    std::fs::write(tree.path().join("schemas/Old.schema.json"), "{}\n").unwrap();
    let written = contracts::write(tree.path()).unwrap();
    assert!(
        written
            .iter()
            .any(|p| p == "schemas/HealthResponse.schema.json"),
        "{written:?}"
    );
    assert!(
        written
            .iter()
            .any(|p| p.starts_with("schemas/Old.schema.json")),
        "{written:?}"
    );
    assert!(contracts::check(tree.path()).unwrap().is_clean());
}

#[test]
fn the_reason_registry_file_lists_every_reason_with_its_status_and_message() {
    let registry: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/reason_codes.json")).unwrap();
    let entries = registry["reason_codes"].as_array().unwrap();
    assert_eq!(entries.len(), marketref::reason::Reason::ALL.len());
    let missing = entries
        .iter()
        .find(|e| e["code"] == "marketplace_matching_asset_values_missing")
        .unwrap();
    assert_eq!(missing["status"], 400);
    assert_eq!(missing["class"], "CONSTRAINT_VIOLATION");
}
