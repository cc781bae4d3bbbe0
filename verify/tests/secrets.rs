//! No secret leaves the runtime or the verifier: MLM1 and MLM1-negative, run over `--base-url`
//! against a server logging at debug, leave no token in a log line or an artifact.

use std::sync::Mutex;

use crate::external::serve_reference;
use crate::support;

#[test]
fn a_whole_milestone_leaves_no_token_in_the_log_or_the_artifacts() {
    let logs = tempfile::tempdir().unwrap();
    let log_path = logs.path().join("server.log");
    let file = std::fs::File::create(&log_path).unwrap();
    // The binary's own subscriber, at debug: what `MARKETREF_LOG=debug marketref serve` writes.
    tracing::subscriber::set_global_default(marketref::log::subscriber(
        Mutex::new(file),
        marketref::log::EnvFilter::new("debug"),
        false,
    ))
    .expect("no other test of this binary installs a log");
    let (served, _db) = serve_reference(true);
    let out = tempfile::tempdir().unwrap();
    let options = verify::Options {
        paths: vec![
            support::milestone("MLM1.yaml"),
            support::milestone("MLM1-negative.yaml"),
        ],
        base_url: Some(served.url.clone()),
        out: Some(out.path().to_path_buf()),
        ..verify::Options::default()
    };
    let mut terminal = Vec::new();
    let verdict = verify::verify(&options, &mut terminal).unwrap();
    drop(served);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("marketref::request"),
        "the server logged its requests at debug: {log}"
    );
    let records =
        std::fs::read_to_string(out.path().join("milestones/MLM1/latest/transcript.jsonl"))
            .unwrap();
    assert!(
        records.contains("vk_key_"),
        "the records show which credential a request carried, masked"
    );
    let (findings, skipped) =
        marketref::credentials::scan::scan(&[log_path.clone(), out.path().to_path_buf()]);
    assert!(skipped.is_empty(), "every artifact is text: {skipped:?}");
    assert!(findings.is_empty(), "tokens left whole: {findings:?}");
    // Last: a run that fails may have failed by leaking, which the scan above names.
    let printed = String::from_utf8_lossy(&terminal);
    assert!(verdict.passed(), "{printed}");
}
