//! Several `marketref serve` processes on one Postgres database, driven at once: what the
//! contract promises holds across them because the database holds it (keys, counters,
//! locks), and a killed instance loses nothing it acknowledged.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::postgres_cluster::Cluster;
use crate::support::intent;

/// A `marketref serve --dev` process on a Postgres database, on a port of its own.
pub struct Instance {
    child: Child,
    pub base: String,
}

impl Instance {
    pub fn start(url: &str, data_dir: &std::path::Path) -> Instance {
        Instance::start_with(url, data_dir, &[])
    }

    /// An instance with more arguments of `serve` (`--training-workers 1`).
    pub fn start_with(url: &str, data_dir: &std::path::Path, extra: &[&str]) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_marketref"))
            .args(["serve", "--dev", "--addr", "127.0.0.1:0", "--db", url])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("MARKETREF_TOKEN_PEPPER", "the-instances-pepper")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(rest) = line.strip_prefix("marketref: serving on ") {
                    let base = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = found.send(base);
                    sent = true;
                }
            }
        });
        let base = address
            .recv_timeout(Duration::from_secs(60))
            .expect("the instance said where it serves");
        Instance { child, base }
    }

    /// `kill -9`: no shutdown, no flush, the connections to the database cut.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The request clock of the swap requests: before the test intents expire.
const NOW: &str = "2026-02-28T20:00:00Z";

/// A new database of the test cluster and two instances on it.
async fn two_instances(dir: &std::path::Path) -> (String, Arc<[Instance; 2]>) {
    let url = tokio::task::spawn_blocking(|| Cluster::get().database())
        .await
        .unwrap();
    let instances = Arc::new([Instance::start(&url, dir), Instance::start(&url, dir)]);
    (url, instances)
}

/// Runs one query against the database of `url`, off the async runtime.
async fn query(url: &str, sql: &'static str) -> Vec<postgres::Row> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        marketref::store::postgres::connect(&url)
            .unwrap()
            .query(sql, &[])
            .unwrap()
    })
    .await
    .unwrap()
}

/// Two instances on one database: 32 requests with one idempotency key, sent to both at once,
/// execute once, and the rest replay the same answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_sent_to_two_instances_executes_once() {
    let dir = tempfile::tempdir().unwrap();
    let (url, instances) = two_instances(dir.path()).await;
    let client = reqwest::Client::new();
    let body = json!({"intent": intent("contended", "u1", "knife", "gloves")});
    let sends: Vec<_> = (0..32)
        .map(|index| {
            let request = client
                .post(format!("{}/swap-intents", instances[index % 2].base))
                .header("x-actor-type", "user")
                .header("x-actor-id", "u1")
                .header("x-auth-scopes", "swap_intents:write")
                .header("idempotency-key", "one-key")
                .json(&body);
            tokio::spawn(async move {
                let reply = request.send().await.unwrap();
                let replayed = reply.headers().get("idempotent-replayed").is_some();
                (
                    reply.status().as_u16(),
                    replayed,
                    reply.text().await.unwrap(),
                )
            })
        })
        .collect();
    let mut executed = 0;
    let mut bodies = Vec::new();
    for send in sends {
        let (status, replayed, body) = send.await.unwrap();
        assert_eq!(status, 201, "{body}");
        executed += usize::from(!replayed);
        bodies.push(body);
    }
    assert_eq!(
        executed, 1,
        "the key ran once; every other request replayed"
    );
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    let rows = query(&url, "SELECT COUNT(*) FROM swap_intents").await;
    assert_eq!(rows[0].get::<_, i64>(0), 1);
    let health: Value = client
        .get(format!("{}/healthz", instances[1].base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["store"]["backend"], "postgres", "{health}");
    assert_eq!(health["summary"]["intents"], 1, "{health}");
}

fn offer_request(client: &reqwest::Client, base: &str, n: usize) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}/marketplace/offers"))
        .header("x-actor-type", "agent")
        .header("x-actor-id", "node_alpha")
        .header("x-auth-scopes", "offers:write")
        .header("idempotency-key", format!("offer-{n}"))
        .json(&json!({
            "seller_node_id": "node_alpha", "dataset_fingerprint": format!("sha256:{n:016x}"),
            "title": "Clinic vitals", "modality": "tabular", "sample_count": 1200,
            "quality_score": 0.9, "allowed_tasks": ["classification"], "price_per_round": 10.0
        }))
}

/// Creates offers `range` through `base`, `concurrency` at a time; the ids of those
/// acknowledged (201), and how many were not.
async fn create_offers(
    client: &reqwest::Client,
    base: &str,
    range: std::ops::Range<usize>,
    concurrency: usize,
) -> (Vec<String>, usize) {
    use futures_util::StreamExt;
    let replies = futures_util::stream::iter(range.map(|n| {
        let request = offer_request(client, base, n);
        async move {
            let reply = request.send().await.ok()?;
            if reply.status().as_u16() != 201 {
                return None;
            }
            let body: Value = reply.json().await.ok()?;
            body["offer"]["offer_id"].as_str().map(str::to_owned)
        }
    }))
    .buffer_unordered(concurrency)
    .collect::<Vec<Option<String>>>()
    .await;
    let refused = replies.iter().filter(|id| id.is_none()).count();
    (replies.into_iter().flatten().collect(), refused)
}

/// 2 x 5,000 offers created through two instances at once, with distinct keys: 10,000 offers
/// whose server-assigned ids are unique and gapless.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_offers_through_two_instances_get_unique_gapless_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (url, instances) = two_instances(dir.path()).await;
    let client = reqwest::Client::new();
    let (first, second) = tokio::join!(
        create_offers(&client, &instances[0].base, 0..5_000, 16),
        create_offers(&client, &instances[1].base, 5_000..10_000, 16),
    );
    assert_eq!((first.1, second.1), (0, 0), "every create was acknowledged");
    let ids: BTreeSet<String> = first.0.into_iter().chain(second.0).collect();
    let expected: BTreeSet<String> = (1..=10_000).map(|n| format!("offer_{n:06}")).collect();
    assert_eq!(ids.len(), 10_000, "the ids are unique");
    assert!(ids == expected, "the ids are offer_000001 to offer_010000");
    let rows = query(
        &url,
        "SELECT COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM data_offers",
    )
    .await;
    let counts: Vec<i64> = (0..4).map(|i| rows[0].get(i)).collect();
    assert_eq!(counts, [10_000, 10_000, 1, 10_000]);
}

/// A matching run on one instance while the other takes creates: the run saw the intents
/// acknowledged before it was asked for, perhaps the one in flight, and none created after
/// it answered, as if it ran between two of the creates.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_matching_run_beside_creates_on_another_instance_sees_one_serial_point() {
    let dir = tempfile::tempdir().unwrap();
    let (_url, instances) = two_instances(dir.path()).await;
    let client = reqwest::Client::new();
    let create = |n: usize| {
        // Rings of three: u(3k) offers a(3k) and wants a(3k+1), and so on around.
        let ring = n / 3 * 3;
        let next = ring + (n % 3 + 1) % 3;
        client
            .post(format!("{}/swap-intents", instances[1].base))
            .header("x-actor-type", "user")
            .header("x-actor-id", format!("u{n}"))
            .header("x-auth-scopes", "swap_intents:write")
            .header("idempotency-key", format!("intent-{n}"))
            .header("x-now-iso", NOW)
            .json(&json!({"intent": intent(&format!("i{n:05}"), &format!("u{n}"), &format!("a{n}"), &format!("a{next}"))}))
    };
    let acknowledged = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let creator = {
        let acknowledged = acknowledged.clone();
        let requests: Vec<_> = (0..600).map(create).collect();
        tokio::spawn(async move {
            for request in requests {
                let reply = request.send().await.unwrap();
                assert_eq!(reply.status().as_u16(), 201);
                acknowledged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    while acknowledged.load(std::sync::atomic::Ordering::SeqCst) < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let values: serde_json::Map<String, Value> =
        (0..600).map(|n| (format!("a{n}"), json!(100))).collect();
    let before = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
    let reply = client
        .post(format!("{}/marketplace/matching/runs", instances[0].base))
        .header("x-actor-type", "partner")
        .header("x-actor-id", "partner_demo")
        .header("x-auth-scopes", "settlement:write")
        .header("idempotency-key", "the-run")
        .header("x-now-iso", NOW)
        .json(&json!({"max_proposals": 200, "asset_values_usd": values}))
        .send()
        .await
        .unwrap();
    let after = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
    let status = reply.status().as_u16();
    let body: Value = reply.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let seen = usize::try_from(body["run"]["active_intents_count"].as_u64().unwrap()).unwrap();
    assert!(
        (before..=after + 1).contains(&seen),
        "the run saw {seen} intents; {before} were acknowledged when it was asked, {after} when it answered"
    );
    // Each whole ring it saw is a proposal: the snapshot had no half-written create.
    assert_eq!(
        body["run"]["selected_proposals_count"].as_u64().unwrap(),
        (seen / 3) as u64,
        "{body}"
    );
    creator.await.unwrap();
}

/// `kill -9` of one instance under load: every write it acknowledged is in the database, and
/// the other instance keeps answering every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_an_instance_under_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let (url, instances) = two_instances(dir.path()).await;
    let instances = Arc::into_inner(instances).unwrap();
    let [mut doomed, survivor] = instances;
    let client = reqwest::Client::new();
    let doomed_base = doomed.base.clone();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        doomed.kill();
    });
    let (on_doomed, on_survivor) = tokio::join!(
        create_offers(&client, &doomed_base, 0..20_000, 8),
        create_offers(&client, &survivor.base, 20_000..21_000, 8),
    );
    killer.await.unwrap();
    assert_eq!(
        on_survivor.1, 0,
        "the other instance answered every request"
    );
    assert!(
        !on_doomed.0.is_empty() && on_doomed.1 > 0,
        "the kill came mid-load: {} acknowledged, {} not",
        on_doomed.0.len(),
        on_doomed.1
    );
    let stored: BTreeSet<String> = query(&url, "SELECT offer_id FROM data_offers")
        .await
        .iter()
        .map(|row| row.get(0))
        .collect();
    for id in on_doomed.0.iter().chain(&on_survivor.0) {
        assert!(stored.contains(id), "{id} was acknowledged and is lost");
    }
}

/// Rounds made current at once.
const ROUNDS: usize = 16;

/// Rounds made current at once through two instances: each is refused nothing, and one of
/// them is current at the end, as if they had been made one after the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rounds_made_current_at_once_through_two_instances_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let (url, instances) = two_instances(dir.path()).await;
    let client = reqwest::Client::new();
    let sends: Vec<_> = (0..ROUNDS)
        .map(|n| {
            let request = client
                .post(format!("{}/api/rounds", instances[n % 2].base))
                .header("x-actor-type", "partner")
                .header("x-actor-id", "operator")
                .header("x-auth-scopes", "ml:operate")
                .header("idempotency-key", format!("round-{n}"))
                .json(
                    &json!({"round_id": format!("r{n}"), "name": format!("r{n}"), "current": true,
                              "generate": {"symbols": ["EURUSD"], "bars": 200, "timeframe": "1h"}}),
                );
            tokio::spawn(async move {
                let reply = request.send().await.unwrap();
                (reply.status().as_u16(), reply.text().await.unwrap())
            })
        })
        .collect();
    for send in sends {
        let (status, body) = send.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let rows = query(
        &url,
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE is_current = 1) FROM ml_rounds",
    )
    .await;
    assert_eq!(
        (rows[0].get::<_, i64>(0), rows[0].get::<_, i64>(1)),
        (ROUNDS as i64, 1),
        "eight rounds, one current"
    );
}
