//! Two runs of a milestone write byte-identical `latest/` folders: no time, port, temporary
//! path or random value gets in.

use crate::support::{self, path_str, snapshot};

#[test]
fn two_runs_write_byte_identical_latest_folders() {
    let out = tempfile::tempdir().unwrap();
    let milestone = support::milestone("M111.yaml");
    let args = [path_str(&milestone), "--out", path_str(out.path())];
    let latest = out.path().join("milestones/M111/latest");

    let first_run = support::verify(&args);
    assert_eq!(
        first_run.code, 0,
        "{}\n{}",
        first_run.stdout, first_run.stderr
    );
    let first = snapshot(&latest);
    let second_run = support::verify(&args);
    assert_eq!(
        second_run.code, 0,
        "{}\n{}",
        second_run.stdout, second_run.stderr
    );
    let second = snapshot(&latest);

    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &first {
        assert!(
            second[name] == *bytes,
            "latest/{name} differs between two runs"
        );
    }
    // Each run also kept its own stamped folder, where volatile facts may go.
    let stamps = std::fs::read_dir(out.path().join("milestones/M111"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() != "latest")
        .count();
    assert_eq!(stamps, 2);

    for (name, bytes) in &first {
        let text = String::from_utf8_lossy(bytes);
        for volatile in ["127.0.0.1:", "marketref-verify-", "verify.db", "run.json"] {
            assert!(
                !text.contains(volatile),
                "latest/{name} carries `{volatile}`"
            );
        }
    }
    assert!(
        !first.contains_key("run.json"),
        "run.json belongs to the stamp folder only"
    );
}
