//! The command line: documented flags and exit codes, usage errors exit 2, --junit.

use crate::support::{self, path_str};

#[test]
fn help_documents_every_flag_and_the_exit_codes() {
    let help = support::verify(&["--help"]);
    assert_eq!(help.code, 0);
    for flag in [
        "--base-url",
        "--out",
        "--junit",
        "--update-expected",
        "--coverage",
        "--seed",
    ] {
        assert!(help.stdout.contains(flag), "--help does not mention {flag}");
    }
    assert!(help.stdout.contains("Exit codes:"), "{}", help.stdout);
    for code in ["  0  ", "  1  ", "  2  "] {
        assert!(
            help.stdout.contains(code),
            "exit code `{}` is not documented",
            code.trim()
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let none = support::verify(&[]);
    assert_eq!(none.code, 2, "no milestone: {}", none.stderr);
    let missing = support::verify(&["milestones/NOPE.yaml"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no such file or folder"),
        "{}",
        missing.stderr
    );
    let milestone = support::milestone("M111.yaml");
    let bad_url = support::verify(&[path_str(&milestone), "--base-url", "ftp://127.0.0.1:1"]);
    assert_eq!(bad_url.code, 2, "{}", bad_url.stderr);
    assert!(
        bad_url.stderr.contains("only http://"),
        "{}",
        bad_url.stderr
    );
    let unknown_flag = support::verify(&[path_str(&milestone), "--colour"]);
    assert_eq!(unknown_flag.code, 2);
}

#[test]
fn junit_collects_every_milestone_of_the_call() {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("ci/junit.xml");
    let dir = support::repo_root().join("milestones");
    let run = support::verify(&[
        path_str(&dir),
        "--out",
        path_str(out.path()),
        "--junit",
        path_str(&junit),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains(r#"<testsuite name="M111""#), "{xml}");
    assert!(xml.contains(r#"<testsuite name="SWAP-API""#), "{xml}");
    assert!(xml.contains(r#"failures="0""#), "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(
        !xml.contains("time="),
        "no times: the file is deterministic"
    );
}
