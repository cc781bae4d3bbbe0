//! A milestone that is wrong is reported before anything runs, at its file, line and column,
//! with a one-line hint, and the binary exits 2.
//!
//! Each case edits a copy of M111 (`from` becomes `to`) and names the token the error must
//! point at: its line is the first line holding it, its column where it starts there.

use crate::support::{self, RepoCopy, path_str};

struct Case {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    token: &'static str,
    message: &'static str,
    hint: &'static str,
}

const CASES: &[Case] = &[
    Case {
        what: "unknown key",
        from: "        idempotency_key: m111-run-2\n",
        to: "        idempotency_key: m111-run-2\n        colour: red\n",
        token: "colour: red",
        message: "unknown field `colour`",
        hint: "remove this key",
    },
    Case {
        what: "unknown operation",
        from: "  - cycleProposals.get\n",
        to: "  - cycleProposals.fetch\n",
        token: "cycleProposals.fetch",
        message: "unknown operation `cycleProposals.fetch`",
        hint: "did you mean `cycleProposals.get`?",
    },
    Case {
        what: "unknown actor",
        from: "        params: {run_id: \"${first_run}\"}\n        actor: partner_read_only\n",
        to: "        params: {run_id: \"${first_run}\"}\n        actor: partner_read_onyl\n",
        token: "partner_read_onyl",
        message: "unknown actor `partner_read_onyl`",
        hint: "did you mean `partner_read_only`?",
    },
    Case {
        what: "bad JSON pointer",
        from: "{at: /run/max_proposals, equals: 50}",
        to: "{at: run/max_proposals, equals: 50}",
        token: "run/max_proposals",
        message: "bad JSON pointer",
        hint: "starts with `/`",
    },
    Case {
        what: "malformed YAML",
        from: "title: Swap matching runs",
        to: "title: - Swap: [ matching runs",
        token: "- Swap",
        message: "not allowed",
        hint: "indentation and quoting",
    },
    Case {
        what: "unknown reason code",
        from: "          reason_code: marketplace_matching_asset_values_missing\n",
        to: "          reason_code: marketplace_matching_asset_values_missin\n",
        token: "marketplace_matching_asset_values_missin",
        message: "unknown reason code",
        hint: "did you mean `marketplace_matching_asset_values_missing`?",
    },
    Case {
        what: "a reason the operation never answers",
        from: "          error_code: NOT_FOUND\n          reason_code: marketplace_matching_run_not_found\n",
        to: "          error_code: NOT_FOUND\n          reason_code: swap_intent_not_found\n",
        token: "swap_intent_not_found",
        message: "`marketplaceMatchingRun.get` may not answer `swap_intent_not_found`",
        hint: "marketplace_matching_run_not_found",
    },
    Case {
        what: "unknown capture",
        from: "params: {run_id: \"${second_run}\"}",
        to: "params: {run_id: \"${second_rn}\"}",
        token: "\"${second_rn}\"",
        message: "unknown capture `second_rn`",
        hint: "did you mean `${second_run}`?",
    },
    Case {
        what: "bad regular expression",
        from: "matches: '^mrun_\\d{6}$'",
        to: "matches: '^mrun_(\\d{6}$'",
        token: "'^mrun_(",
        message: "bad regular expression",
        hint: "regex",
    },
    Case {
        what: "duplicate key",
        from: "milestone: M111\n",
        to: "milestone: M111\nmilestone: M112\n",
        token: "milestone: M112",
        message: "duplicate",
        hint: "only once",
    },
    Case {
        what: "unparsable clock",
        from: "clock: \"2026-02-28T20:00:00Z\"",
        to: "clock: \"28/02/2026 20:00\"",
        token: "\"28/02/2026",
        message: "not an RFC 3339 date-time",
        hint: "2026-02-28T20:00:00Z",
    },
    Case {
        what: "unknown advisory rule",
        from: "# Spec section 8.\n",
        to: "advisory: [correlation-id-ecoh]\n\n# Spec section 8.\n",
        token: "correlation-id-ecoh",
        message: "unknown contract rule `correlation-id-ecoh`",
        hint: "did you mean `correlation-id-echo`?",
    },
    Case {
        what: "a scenario before the seed after one that is not",
        from: "  - name: second-run\n",
        to: "  - name: second-run\n    before_seed: true\n",
        token: "second-run",
        message: "runs `before_seed` but follows a scenario that does not",
        hint: "file order is run order",
    },
];

fn expected_position(text: &str, token: &str) -> (u64, u64) {
    for (index, line) in text.lines().enumerate() {
        // The token itself, not a longer word that starts with it.
        let whole = line.match_indices(token).find(|(byte, _)| {
            !line[byte + token.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        });
        if let Some((byte, _)) = whole {
            let column = line[..byte].chars().count() + 1;
            return (index as u64 + 1, column as u64);
        }
    }
    panic!("`{token}` is in no line");
}

#[test]
fn each_load_error_names_file_line_column_and_a_hint() {
    let repo = RepoCopy::new();
    let original = repo.read("milestones/M111.yaml");
    for case in CASES {
        assert_eq!(
            original.matches(case.from).count(),
            1,
            "{}: `from` must occur once",
            case.what
        );
        let text = original.replacen(case.from, case.to, 1);
        repo.write("milestones/M111.yaml", &text);
        let error =
            verify::milestone::load(&repo.path("milestones/M111.yaml")).expect_err(case.what);
        assert_eq!(
            error.kind(),
            verify::ErrorKind::Milestone,
            "{}: {error}",
            case.what
        );
        let location = error
            .location()
            .unwrap_or_else(|| panic!("{}: no location in {error}", case.what));
        let (line, column) = expected_position(&text, case.token);
        assert_eq!(
            (location.line, location.column),
            (line, column),
            "{}: {error}",
            case.what
        );
        assert!(
            error.message().contains(case.message),
            "{}: message `{}`",
            case.what,
            error.message()
        );
        let hint = error.hint().unwrap_or_default();
        assert!(hint.contains(case.hint), "{}: hint `{hint}`", case.what);
        assert_eq!(
            error.all().count(),
            1,
            "{}: one mistake, one error:\n{error}",
            case.what
        );
    }
}

#[test]
fn the_binary_exits_2_before_running_anything() {
    let repo = RepoCopy::new();
    repo.edit(
        "milestones/M111.yaml",
        "  - cycleProposals.get\n",
        "  - cycleProposals.fetch\n",
    );
    let file = repo.path("milestones/M111.yaml");
    let out = repo.path("out");
    let run = support::verify(&[path_str(&file), "--out", path_str(&out)]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let text = repo.read("milestones/M111.yaml");
    let (line, column) = expected_position(&text, "cycleProposals.fetch");
    let expected = format!(
        "{}:{line}:{column}: error: unknown operation `cycleProposals.fetch`",
        file.display()
    );
    assert!(
        run.stderr.contains(&expected),
        "stderr lacks `{expected}`:\n{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("= help: did you mean `cycleProposals.get`?"),
        "{}",
        run.stderr
    );
    assert_eq!(run.last_line(), "overall=false");
    assert!(
        !run.stdout.contains("gate"),
        "nothing may run:\n{}",
        run.stdout
    );
    assert!(
        !out.exists(),
        "no artifacts for a milestone that does not load"
    );
}

#[test]
fn every_broken_file_is_reported_and_none_runs() {
    let repo = RepoCopy::new();
    repo.edit(
        "milestones/M111.yaml",
        "        actor: partner_read_only\n        idempotency_key: m111-scope\n",
        "        actor: nobody\n        idempotency_key: m111-scope\n",
    );
    repo.edit(
        "milestones/SWAP-API.yaml",
        "clock: \"2026-02-28T20:00:00Z\"",
        "clock: soon",
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones")),
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("M111.yaml:") && run.stderr.contains("unknown actor `nobody`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("SWAP-API.yaml:")
            && run.stderr.contains("`soon` is not an RFC 3339 date-time"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_milestone_outside_a_repository_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lonely.yaml");
    std::fs::write(&file, "milestone: X\n").unwrap();
    let run = support::verify(&[path_str(&file)]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("schemas/manifest.yaml"),
        "{}",
        run.stderr
    );
}

/// The load error of M111 after `edits` (each `from` occurs once).
fn load_error(edits: &[(&str, &str)]) -> verify::Error {
    let repo = RepoCopy::new();
    for (from, to) in edits {
        repo.edit("milestones/M111.yaml", from, to);
    }
    verify::milestone::load(&repo.path("milestones/M111.yaml")).expect_err("a load error")
}

#[test]
fn the_seeds_own_rules_are_load_errors() {
    let capture_of_the_api_seed = load_error(&[
        (
            "          - {at: /run/proposal_ids, count: 1}\n",
            "          - {at: /run/proposal_ids, count: 1}\n      capture: {early_run: /run/run_id}\n",
        ),
        (
            "params: {run_id: mrun_999999}",
            "params: {run_id: \"${early_run}\"}",
        ),
    ]);
    assert!(
        capture_of_the_api_seed
            .message()
            .contains("unknown capture `early_run`"),
        "the dev path sets no such capture: {capture_of_the_api_seed}"
    );
    let generated_name = load_error(&[("    - name: early-d\n", "    - name: fixtures-1\n")]);
    assert!(
        generated_name
            .message()
            .contains("seed step name `fixtures-1` is taken by a generated dev step"),
        "{generated_name}"
    );
}

#[test]
fn a_wait_and_a_body_hash_are_checked_at_load() {
    let message = |edits: &[(&str, &str)]| load_error(edits).to_string();
    let read = "        params: {run_id: mrun_999999}\n";
    let waits = |wait: &str| format!("{read}        wait_for: {wait}\n");

    let on_a_write = message(&[(
        "        idempotency_key: m111-run-2\n",
        "        idempotency_key: m111-run-2\n        wait_for: {at: /run/run_id, equals: x}\n",
    )]);
    assert!(
        on_a_write.contains("only a GET step can `wait_for`"),
        "{on_a_write}"
    );
    let too_long = message(&[(
        read,
        &waits("{at: /run/status, equals: x, timeout_ms: 120001}"),
    )]);
    assert!(
        too_long.contains("`timeout_ms: 120001` is out of range"),
        "{too_long}"
    );
    assert!(too_long.contains("from 1 to 120000 ms"), "{too_long}");
    let zero = message(&[(read, &waits("{at: /run/status, equals: x, timeout_ms: 0}"))]);
    assert!(zero.contains("out of range"), "{zero}");
    let nothing = message(&[(read, &waits("{at: /run/status}"))]);
    assert!(nothing.contains("says no value to wait for"), "{nothing}");
    let pointer = message(&[(read, &waits("{at: run/status, equals: x}"))]);
    assert!(pointer.contains("bad JSON pointer"), "{pointer}");
    let capture = message(&[(read, &waits("{at: /run/status, equals: \"${nowhere}\"}"))]);
    assert!(capture.contains("unknown capture `nowhere`"), "{capture}");

    let expect = "          error_code: NOT_FOUND\n          reason_code: marketplace_matching_run_not_found\n          json:\n";
    let hashed = |sha: &str| {
        format!(
            "          error_code: NOT_FOUND\n          reason_code: marketplace_matching_run_not_found\n          body_sha256: {sha}\n          json:\n"
        )
    };
    let short = message(&[(expect, &hashed("abc123"))]);
    assert!(
        short.contains("`abc123` is not a SHA-256 in lower-case hex"),
        "{short}"
    );
    let upper = message(&[(expect, &hashed(&"A".repeat(64)))]);
    assert!(upper.contains("is not a SHA-256"), "{upper}");
    let unknown = message(&[(expect, &hashed("\"${no_hash}\""))]);
    assert!(unknown.contains("unknown capture `no_hash`"), "{unknown}");
}
