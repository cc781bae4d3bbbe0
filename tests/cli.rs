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
