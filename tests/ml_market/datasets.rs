//! Dataset rounds: generated the same from the same recipe, the current alias, and signed URLs
//! that stream a file with its hash, honour ranges, and refuse an expired, altered or foreign
//! URL.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::support::{Ml, round, vendor};
use crate::support::TestServer;

async fn urls(server: &TestServer, key: &str, round_id: &str, at: &str) -> Vec<Value> {
    let reply = server
        .op("mlDatasets.signedUrls", &[])
        .bearer(key)
        .at(at)
        .json(&json!({"round_id": round_id}))
        .send()
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["ttl_seconds"], 900);
    reply.body["data"]["urls"].as_array().unwrap().clone()
}

const NOW: &str = "2026-03-01T09:00:00Z";

/// A server with a vendor and a 300-bar round `r1`, and the signed URL of the round's first
/// file at [`NOW`].
async fn first_url() -> (TestServer, String) {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    round(&server, "r1", 300).await;
    let url = urls(&server, &acme.key, "r1", NOW).await[0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    (server, url)
}

#[tokio::test]
async fn a_signed_url_streams_its_file_with_the_hash_the_round_lists() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let created = round(&server, "r1", 300).await;
    assert_eq!(created["is_current"], true, "the first round is current");
    let names: Vec<&str> = created["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["train.csv", "validation.csv", "test.csv", "features.csv"]
    );
    for url in urls(&server, &acme.key, "current", NOW).await {
        let reply = server
            .call("GET", url["url"].as_str().unwrap())
            .at(NOW)
            .send_raw()
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("text/csv"));
        assert_eq!(reply.header("accept-ranges"), Some("bytes"));
        assert_eq!(
            reply.bytes.len() as u64,
            url["size_bytes"].as_u64().unwrap()
        );
        assert_eq!(
            hex::encode(Sha256::digest(&reply.bytes)),
            url["sha256"].as_str().unwrap()
        );
        assert_eq!(url["expires_at"], "2026-03-01T09:15:00.000Z");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_range_is_served_as_asked_and_one_outside_the_file_is_refused() {
    let (server, url) = first_url().await;
    let whole = server.call("GET", &url).at(NOW).send_raw().await.bytes;
    let part = server
        .call("GET", &url)
        .at(NOW)
        .header("range", "bytes=100-199")
        .send_raw()
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", whole.len()).as_str())
    );
    assert_eq!(part.bytes, whole[100..200]);
    let tail = server
        .call("GET", &url)
        .at(NOW)
        .header("range", "bytes=-10")
        .send_raw()
        .await;
    assert_eq!(tail.bytes, whole[whole.len() - 10..]);
    let resumed = server
        .call("GET", &url)
        .at(NOW)
        .header("range", "bytes=1000-")
        .send_raw()
        .await;
    assert_eq!(resumed.bytes, whole[1000..]);
    let outside = server
        .call("GET", &url)
        .at(NOW)
        .header("range", &format!("bytes={}-", whole.len()))
        .send_raw()
        .await;
    assert_eq!(outside.status, 416);
    assert_eq!(
        outside.error()["error"]["details"]["size_bytes"],
        whole.len()
    );
    server.stop().await;
}

#[tokio::test]
async fn an_expired_altered_or_foreign_url_is_refused_and_says_which() {
    let (server, url) = first_url().await;
    let rule = |reply: crate::support::RawReply| {
        assert_eq!(reply.status, 403);
        let body = reply.error();
        assert_eq!(
            body["error"]["details"]["reason_code"],
            "signed_url_invalid"
        );
        body["error"]["details"]["rule"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        rule(
            server
                .call("GET", &url)
                .at("2026-03-01T09:15:00Z")
                .send_raw()
                .await
        ),
        "expired"
    );
    assert_eq!(
        server
            .call("GET", &url)
            .at("2026-03-01T09:14:59Z")
            .send_raw()
            .await
            .status,
        200
    );
    let other_file = url.replacen("train.csv", "test.csv", 1);
    assert_eq!(
        rule(server.call("GET", &other_file).at(NOW).send_raw().await),
        "altered"
    );
    let (path, query) = url.split_once('?').unwrap();
    let exp: i64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("exp="))
        .unwrap()
        .parse()
        .unwrap();
    let later = url.replacen(&format!("exp={exp}"), &format!("exp={}", exp + 3600), 1);
    assert_eq!(
        rule(server.call("GET", &later).at(NOW).send_raw().await),
        "altered"
    );
    let foreign_signer = marketref::credentials::UrlSigner::new(
        &marketref::credentials::Pepper::new("another server"),
    );
    let foreign = foreign_signer.sign("GET", path, exp);
    let foreign_url = format!(
        "{path}?exp={}&kid={}&sig={}",
        foreign.exp, foreign.kid, foreign.sig
    );
    assert_eq!(
        rule(server.call("GET", &foreign_url).at(NOW).send_raw().await),
        "foreign"
    );
    let unsigned = server.call("GET", path).at(NOW).send_raw().await;
    assert_eq!(
        unsigned.error()["error"]["details"]["reason_code"],
        "query_invalid"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_recipe_gives_the_same_files_and_the_current_round_moves_when_asked() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let first = round(&server, "r1", 300).await;
    let second = round(&server, "r2", 300).await;
    assert_eq!(first["files"], second["files"], "same recipe, same bytes");
    assert_eq!(second["is_current"], false);
    let current = |server: &TestServer| server.op("mlRounds.current", &[]).bearer(&acme.key).send();
    assert_eq!(current(&server).await.body["data"]["round_id"], "r1");
    let third = server
        .operator("mlRounds.create", &[])
        .json(&json!({"round_id": "r3", "name": "r3", "current": true,
            "generate": {"seed": 2, "symbols": ["USDJPY"], "bars": 300, "timeframe": "4h"}}))
        .send()
        .await;
    assert_eq!(third.status, 201, "{}", third.body);
    assert_ne!(
        third.body["data"]["files"][0]["sha256"],
        first["files"][0]["sha256"]
    );
    assert_eq!(current(&server).await.body["data"]["round_id"], "r3");
    let by_alias = server
        .op("mlRounds.get", &[("round_id", "current")])
        .bearer(&acme.key)
        .send()
        .await;
    assert_eq!(by_alias.body["data"]["round_id"], "r3");
    let listed = server
        .op("mlRounds.list", &[])
        .bearer(&acme.key)
        .send()
        .await;
    let ids: Vec<&str> = listed.body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["round_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r3", "r2", "r1"], "newest first");
    let page = server
        .call("GET", "/api/rounds?limit=2")
        .bearer(&acme.key)
        .send()
        .await;
    assert_eq!(page.body["data"]["next_cursor"], "r2");
    let alias = server
        .operator("mlRounds.create", &[])
        .json(&json!({"round_id": "current", "name": "x", "generate": {"symbols": ["EURUSD"], "bars": 300, "timeframe": "1h"}}))
        .send()
        .await;
    assert_eq!(alias.reason(), "request_body_malformed");
    assert_eq!(alias.body["error"]["details"]["rule"], "not_an_alias");
    let too_big = server
        .operator("mlRounds.create", &[])
        .json(&json!({"round_id": "big", "name": "x", "generate": {"symbols": ["A", "B", "C"], "bars": 100000, "timeframe": "1h"}}))
        .send()
        .await;
    assert_eq!(too_big.body["error"]["details"]["rule"], "max_total_bars");
    server.stop().await;
}
