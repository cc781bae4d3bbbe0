//! `--update-expected` pins the outcome on purpose, and only the outcome of a run that passed.

use crate::support::{RepoCopy, path_str, verify};

fn pin_line(text: &str) -> Option<&str> {
    text.lines()
        .find(|line| line.starts_with("expected_outcome_sha256:"))
}

#[test]
fn a_missing_pin_is_written_and_then_matches() {
    let repo = RepoCopy::new();
    let original = repo.read("milestones/M111.yaml");
    let pinned = pin_line(&original)
        .expect("M111 pins its outcome")
        .to_owned();
    repo.edit("milestones/M111.yaml", &format!("{pinned}\n"), "");
    let file = repo.path("milestones/M111.yaml");
    let out = repo.path("out");

    let unpinned = verify(&[path_str(&file), "--out", path_str(&out)]);
    assert_eq!(
        unpinned.code, 0,
        "an unpinned outcome passes:\n{}",
        unpinned.stdout
    );
    assert!(
        unpinned.stdout.contains("(unpinned)"),
        "{}",
        unpinned.stdout
    );

    let update = verify(&[
        path_str(&file),
        "--update-expected",
        "--out",
        path_str(&out),
    ]);
    assert_eq!(update.code, 0, "{}\n{}", update.stdout, update.stderr);
    assert!(update.stdout.contains("(updated)"), "{}", update.stdout);
    let rewritten = repo.read("milestones/M111.yaml");
    assert_eq!(
        pin_line(&rewritten),
        Some(pinned.as_str()),
        "the same server gives the committed pin"
    );
    assert_eq!(rewritten, original, "only the pin line was added back");

    let again = verify(&[path_str(&file), "--out", path_str(&out)]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("(matches)"), "{}", again.stdout);
}

#[test]
fn a_failing_run_is_never_pinned() {
    let repo = RepoCopy::new();
    let original = repo.read("milestones/M111.yaml");
    let pinned = pin_line(&original).unwrap().to_owned();
    let zero = format!("expected_outcome_sha256: {}", "0".repeat(64));
    repo.edit("milestones/M111.yaml", &pinned, &zero);
    repo.edit(
        "milestones/M111.yaml",
        "{at: /run/active_intents_count, equals: 6}",
        "{at: /run/active_intents_count, equals: 7}",
    );
    let file = repo.path("milestones/M111.yaml");
    let run = verify(&[
        path_str(&file),
        "--update-expected",
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("not updating expected_outcome_sha256"),
        "{}",
        run.stdout
    );
    assert_eq!(
        pin_line(&repo.read("milestones/M111.yaml")),
        Some(zero.as_str())
    );
}
