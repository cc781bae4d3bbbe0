//! `mp data list|info|pull`: every file through its signed URL with its SHA-256 checked, a
//! partial file resumed with a range request, and a download whose bytes differ removed.

use crate::support::{Fake, Server, Terminal};

fn pulled(server: &Server) -> (Terminal, serde_json::Value) {
    let terminal = Terminal::new();
    terminal.logged_in(server, "Puller");
    server.round("r1", 400);
    let info = terminal.mp(&["data", "info", "--json"]).ok().json();
    (terminal, info)
}

#[test]
fn list_and_info_show_the_rounds_and_their_files() {
    let server = Server::start();
    let (terminal, info) = pulled(&server);
    assert_eq!(info["round_id"], "r1", "{info}");
    let list = terminal.mp(&["data", "list", "--json"]).ok().json();
    assert_eq!(list["items"][0]["round_id"], "r1");
    let human = terminal.mp(&["data", "info", "--round", "r1"]).ok();
    assert!(human.stdout.contains("train.csv"), "{}", human.stdout);
}

#[test]
fn pull_downloads_every_file_checks_its_hash_and_skips_what_is_there() {
    let server = Server::start();
    let (terminal, info) = pulled(&server);
    let run = terminal
        .mp(&["data", "pull", "--out", "data", "--json"])
        .ok()
        .json();
    let files = info["files"].as_array().unwrap();
    assert_eq!(run["files"].as_array().unwrap().len(), files.len(), "{run}");
    for file in files {
        let name = file["name"].as_str().unwrap();
        let bytes = std::fs::read(terminal.path("data").join(name)).unwrap();
        assert_eq!(
            bytes.len() as u64,
            file["size_bytes"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(sha256(&bytes), file["sha256"], "{name}");
    }
    assert!(
        run["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["outcome"] == "pulled"),
        "{run}"
    );
    let again = terminal
        .mp(&["data", "pull", "--out", "data", "--json"])
        .ok()
        .json();
    assert!(
        again["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["outcome"] == "present"),
        "{again}"
    );
}

#[test]
fn a_partial_file_is_resumed_and_a_tampered_one_is_removed_with_exit_1() {
    let server = Server::start();
    let (terminal, info) = pulled(&server);
    terminal
        .mp(&["data", "pull", "--out", "whole", "--file", "train.csv"])
        .ok();
    let whole = std::fs::read(terminal.path("whole/train.csv")).unwrap();
    let half = whole.len() / 2;

    std::fs::create_dir_all(terminal.path("data")).unwrap();
    std::fs::write(terminal.path("data/train.csv.part"), &whole[..half]).unwrap();
    let resumed = terminal
        .mp(&[
            "data",
            "pull",
            "--out",
            "data",
            "--file",
            "train.csv",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(resumed["files"][0]["outcome"], "resumed", "{resumed}");
    assert_eq!(resumed["files"][0]["resumed_from"], half);
    assert_eq!(
        std::fs::read(terminal.path("data/train.csv")).unwrap(),
        whole
    );
    assert!(!terminal.path("data/train.csv.part").exists());

    let mut tampered = whole[..half].to_vec();
    tampered[0] ^= 0x20;
    std::fs::write(terminal.path("bad/train.csv.part").with_file_name("x"), b"").ok();
    std::fs::create_dir_all(terminal.path("bad")).unwrap();
    std::fs::write(terminal.path("bad/train.csv.part"), &tampered).unwrap();
    let refused = terminal.mp(&["data", "pull", "--out", "bad", "--file", "train.csv"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    let expected = info["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "train.csv")
        .unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        refused
            .stderr
            .contains(&format!("not the round's {expected}")),
        "{}",
        refused.stderr
    );
    assert!(
        !terminal.path("bad/train.csv").exists() && !terminal.path("bad/train.csv.part").exists(),
        "the bad bytes are gone"
    );
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A signed URL that the server no longer takes (it expired while earlier files downloaded) is
/// asked for again, once: a fake API whose first URL for each file is refused.
#[test]
fn an_expired_url_is_refreshed_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::extract::Query;
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    use serde_json::json;

    let bytes = b"timestamp,symbol\n1,EURUSD\n".to_vec();
    let sha = sha256(&bytes);
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let router = axum::Router::new()
        .route("/api/vendors/me", get(|| async { axum::Json(json!({"success": true, "data": {"vendor_id": "vendor_000001", "name": "Fake"}})) }))
        .route(
            "/api/datasets/signed-urls",
            post(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let sha = sha.clone();
                async move {
                    axum::Json(json!({"success": true, "data": {"round_id": "r1", "ttl_seconds": 900,
                        "urls": [{"name": "train.csv", "url": format!("/files/train.csv?v={n}"), "sha256": sha,
                                  "size_bytes": 26, "expires_at": "2026-12-08T00:00:00Z"}]}}))
                }
            }),
        )
        .route(
            "/files/train.csv",
            get(move |Query(query): Query<std::collections::BTreeMap<String, String>>| {
                let bytes = bytes.clone();
                async move {
                    if query.get("v").map(String::as_str) == Some("1") {
                        let refusal = json!({"success": false, "error": {"code": "FORBIDDEN", "message": "The signed URL is expired, altered, or not from this server; ask for new ones.", "details": {"reason_code": "signed_url_invalid"}}});
                        (StatusCode::FORBIDDEN, refusal.to_string().into_bytes())
                    } else {
                        (StatusCode::OK, bytes)
                    }
                }
            }),
        );
    let fake = Fake::serve(router);
    let url = fake.url.clone();

    let terminal = Terminal::new();
    terminal
        .mp(&["login", "--api-url", &url, "--key", "vk_key_000001_fake"])
        .ok();
    let pulled = terminal
        .mp(&["data", "pull", "--round", "r1", "--out", "data", "--json"])
        .ok()
        .json();
    assert_eq!(pulled["files"][0]["outcome"], "pulled", "{pulled}");
    assert_eq!(
        asked.load(Ordering::SeqCst),
        2,
        "the URLs were asked for twice"
    );
    assert_eq!(
        std::fs::read(terminal.path("data/train.csv")).unwrap(),
        b"timestamp,symbol\n1,EURUSD\n"
    );
}
