//! The `marketref` binary: refusals and exit codes.

use std::process::Command;

fn marketref() -> Command {
    Command::new(env!("CARGO_BIN_EXE_marketref"))
}

#[test]
fn serve_refuses_a_non_loopback_address_without_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let output = marketref()
        .args(["serve", "--addr", "0.0.0.0:0", "--db"])
        .arg(dir.path().join("x.db"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
    assert!(
        !dir.path().join("x.db").exists(),
        "nothing is opened before the refusal"
    );
}

#[test]
fn help_is_available_on_every_command() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["contracts", "--help"],
        &["contracts", "check", "--help"],
        &["vendors", "create", "--help"],
        &["rounds", "generate", "--help"],
        &["rounds", "publish", "--help"],
        &["secrets", "scan", "--help"],
        &["bench", "ml", "--help"],
    ] {
        let output = marketref().args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("Usage"));
    }
}

#[test]
fn openapi_command_prints_the_committed_document() {
    let output = marketref().args(["contracts", "openapi"]).output().unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/openapi.json")).unwrap();
    assert_eq!(printed, committed);
}

#[test]
fn contracts_check_outside_the_repository_says_where_to_run_it() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["check", "write"] {
        let output = marketref()
            .args(["contracts", command])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("schemas/manifest.yaml was not found")
                && stderr.contains("repository root"),
            "{command}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was written outside the repository"
    );
}

#[test]
fn serve_prints_the_console_url_on_start() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = marketref()
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("x.db"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("MARKETREF_LOG", "error")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let url = line
        .split("web console: ")
        .nth(1)
        .map(|rest| rest.trim_end().trim_end_matches(')'))
        .unwrap_or_default();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{line}"
    );
}
