//! The operator's shell commands of the ML marketplace, beside a running server on the same
//! files: `vendors create`, `rounds generate`, `rounds publish` and `secrets scan`.

use crate::docs::ServedBinary;

const BIN: &str = env!("CARGO_BIN_EXE_marketref");

/// Runs `script` in the server's folder (`marketref.db`, `data/`); its stdout, or a failure
/// with both streams.
fn sh(server: &ServedBinary, script: &str) -> String {
    let output = server.run(&script.replace("marketref ", &format!("{BIN} ")));
    assert!(
        output.status.success(),
        "{script}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_vendor_created_from_the_shell_is_known_to_the_running_server() {
    let server = ServedBinary::start(&[]);
    // The server made its pepper in the data folder; the command finds it there.
    let created = sh(
        &server,
        "marketref vendors create --name 'Shell Quant' --db marketref.db --data-dir data > vendor.json
         cat vendor.json",
    );
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let key = created["api_key"].as_str().unwrap();
    assert!(key.starts_with("vk_key_"), "{created}");
    let me = sh(
        &server,
        &format!(
            "curl -sS --fail-with-body http://localhost:3005/api/vendors/me \
               -H 'authorization: Bearer {key}'"
        ),
    );
    assert!(me.contains("Shell Quant"), "{me}");
    // With another pepper the same key does not verify: the hash is peppered.
    let refused = server.run(&format!(
        "{BIN} vendors create --name Other --db marketref.db --dev"
    ));
    assert!(refused.status.success());
    let other: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    let status = sh(
        &server,
        &format!(
            "curl -sS -o /dev/null -w '%{{http_code}}' http://localhost:3005/api/vendors/me \
               -H 'authorization: Bearer {}'",
            other["api_key"].as_str().unwrap()
        ),
    );
    assert_eq!(status, "401", "a key hashed with the development pepper");
}

#[test]
fn a_generated_round_is_the_same_bytes_and_published_it_downloads_with_its_hash() {
    let server = ServedBinary::start(&[]);
    let listing = sh(
        &server,
        "marketref rounds generate --out a --seed 3 --bars 400 --symbols EURUSD,USDJPY > /dev/null
         marketref rounds generate --out b --seed 3 --bars 400 --symbols EURUSD,USDJPY > /dev/null
         diff -r a b
         ls a",
    );
    assert_eq!(
        listing.split_whitespace().collect::<Vec<_>>(),
        [
            "features.csv",
            "round.json",
            "test.csv",
            "train.csv",
            "validation.csv"
        ]
    );
    let other = server.run(&format!(
        "{BIN} rounds generate --out c --seed 4 --bars 400 --symbols EURUSD,USDJPY > /dev/null && diff -q a/train.csv c/train.csv"
    ));
    assert!(!other.status.success(), "another seed, other bytes");

    sh(
        &server,
        "marketref rounds publish --dir a --round-id shell-1 --current --db marketref.db --data-dir data",
    );
    let key = {
        let created = sh(
            &server,
            "marketref vendors create --name Reader --db marketref.db --data-dir data",
        );
        let created: serde_json::Value = serde_json::from_str(&created).unwrap();
        created["api_key"].as_str().unwrap().to_owned()
    };
    // The vendor downloads the published train.csv through a signed URL; its bytes are the
    // generated file's, and its SHA-256 is the one the round lists.
    let checked = sh(
        &server,
        &format!(
            "curl -sS --fail-with-body -X POST http://localhost:3005/api/datasets/signed-urls \
               -H 'authorization: Bearer {key}' -H 'content-type: application/json' \
               -d '{{\"round_id\": \"current\", \"files\": [\"train.csv\"]}}' > urls.json
             url=$(grep -o '/api/datasets/files/[^\"]*' urls.json | head -1)
             curl -sS --fail-with-body \"http://localhost:3005${{url}}\" -o train.csv
             cmp train.csv a/train.csv
             sha=$(sha256sum train.csv | cut -d' ' -f1)
             grep -q \"$sha\" urls.json && echo same"
        ),
    );
    assert_eq!(checked.trim(), "same");
}

#[test]
fn secrets_scan_finds_an_issued_key_and_shows_only_its_prefix() {
    let server = ServedBinary::start(&[]);
    sh(
        &server,
        "mkdir -p ci clean
         marketref vendors create --name Leaky --db marketref.db --data-dir data > ci/vendor.json
         echo 'no token here, only vk_key_000001_**** as a listing shows it' > clean/notes.txt",
    );
    let key = {
        let text = std::fs::read_to_string(server._dir.path().join("ci/vendor.json")).unwrap();
        let created: serde_json::Value = serde_json::from_str(&text).unwrap();
        created["api_key"].as_str().unwrap().to_owned()
    };
    let found = server.run(&format!("{BIN} secrets scan ci clean"));
    let printed = String::from_utf8_lossy(&found.stdout).into_owned()
        + &String::from_utf8_lossy(&found.stderr);
    assert_eq!(found.status.code(), Some(1), "{printed}");
    assert!(printed.contains("ci/vendor.json:"), "{printed}");
    let (shown, secret) = key.rsplit_once('_').unwrap();
    assert!(printed.contains(shown), "{printed}");
    assert!(
        !printed.contains(secret),
        "the scan never prints the secret"
    );
    assert!(!printed.contains("clean/notes.txt"), "{printed}");
    let clean = server.run(&format!("{BIN} secrets scan clean"));
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
}
