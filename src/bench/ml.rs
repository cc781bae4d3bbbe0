//! `marketref bench ml`: the ML marketplace's credentials and signal writes as a client sees
//! them, over loopback HTTP against the runtime in process ([`Served`]), in five parts:
//!
//! 1. **argon2id**: one verification of the server's configuration, timed in process;
//! 2. **first use**: `GET /api/vendors/me` with keys never used before (each request verifies
//!    the hash once, uncached);
//! 3. **cached reads**: `GET /api/vendors/me` with one key at a fixed rate (an open load: a
//!    request's latency counts from when it was due);
//! 4. **signal writes**: deployments each write their rate limit's worth of 10-signal arrays,
//!    and one more each, which must be refused 429: no other status is allowed. Each
//!    deployment's first write verifies its token, uncached; that phase is timed apart;
//! 5. **the validation cache** fed distinct tokens: how many it keeps and what it costs.
//!
//! The server's clock is fixed, so every write lands in one rate window; requests, counts and
//! durations are bounded, and the server stops when the bench ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::{FixedClock, parse_rfc3339};
use crate::credentials::{ARGON2_PARAMS, Hasher, Pepper, TokenKind, ValidationCache};
use crate::error::Error;
use crate::headers;
use crate::http::RuntimeOptions;
use crate::store::Credential;

use super::client::{Call, Connection, LoadOutcome, Plan, bench_failure, load_planned};
use super::served::Served;
use super::{ms, peak_rss_mb, rss_mb};

#[derive(Clone, Debug)]
pub struct MlBenchOptions {
    pub deployments: usize,
    pub signals_per_write: usize,
    pub connections: usize,
    /// Cached reads per second, and for how long.
    pub read_rate: u32,
    pub read_seconds: u64,
    /// Keys whose first request is timed.
    pub first_use_keys: usize,
    /// Distinct tokens the validation cache is fed.
    pub cache_tokens: usize,
    /// Upper bound on each load phase.
    pub time_limit: Duration,
}

impl Default for MlBenchOptions {
    fn default() -> MlBenchOptions {
        MlBenchOptions {
            deployments: 1_000,
            signals_per_write: 10,
            connections: 8,
            read_rate: 1_000,
            read_seconds: 10,
            first_use_keys: 20,
            cache_tokens: 100_000,
            time_limit: Duration::from_secs(300),
        }
    }
}

/// One line of `bench ml` output.
#[derive(Clone, Debug, Serialize)]
pub struct MlReport {
    pub argon2_params: &'static str,
    /// One `Hasher::verify`, in process: the median and the slowest of `first_use_keys`.
    pub argon2_verify_p50_ms: f64,
    pub argon2_verify_max_ms: f64,
    /// A key's first request over HTTP (one uncached verification), and its second (cached).
    pub first_use_keys: usize,
    pub first_use_p50_ms: f64,
    pub first_use_max_ms: f64,
    pub second_use_p50_ms: f64,
    /// The fixed-rate cached read.
    pub cached_read_target_rps: u32,
    pub cached_reads: usize,
    pub cached_read_rps: f64,
    pub cached_read_p50_ms: f64,
    pub cached_read_p99_ms: f64,
    pub cached_read_max_ms: f64,
    /// Creating the deployments (one argon2id hash each), one after the other.
    pub deployments: usize,
    pub deployments_create_ms: f64,
    /// Every write request: accepted ones, and the refused ones past the limit.
    pub connections: usize,
    pub signal_requests: usize,
    pub signals_written: usize,
    pub rate_limited: usize,
    /// Each deployment's first write (its token verified, uncached).
    pub first_write_ms: f64,
    pub first_write_p99_ms: f64,
    /// The rest, with every token cached: rate and latencies.
    pub cached_write_ms: f64,
    pub cached_signals_per_s: f64,
    pub cached_write_p50_ms: f64,
    pub cached_write_p99_ms: f64,
    /// All the signals over both phases' time.
    pub signals_per_s: f64,
    /// The validation cache fed `cache_tokens_seen` distinct tokens.
    pub cache_capacity: usize,
    pub cache_tokens_seen: usize,
    pub cache_entries: usize,
    pub cache_rss_growth_mb: Option<f64>,
    pub peak_rss_mb: Option<f64>,
}

/// The server's clock, and every signal's timestamp.
const NOW: &str = "2026-03-02T12:00:00Z";

const OPERATOR: [(&str, &str); 3] = [
    (headers::ACTOR_TYPE, "partner"),
    (headers::ACTOR_ID, "operator"),
    (headers::AUTH_SCOPES, "ml:operate ml:read"),
];

pub fn run(options: &MlBenchOptions) -> Result<MlReport, Error> {
    // First, while the process is small: the growth it measures is the cache's.
    let in_process = InProcess {
        cache: cache_fill(options.cache_tokens),
        argon2: argon2_verifications(options.first_use_keys.max(1)),
    };
    let served = Served::start(
        None,
        Arc::new(FixedClock(parse_rfc3339(NOW).expect("a valid constant"))),
        RuntimeOptions::default(),
    )?;
    served.drive_then_stop(|addr| drive(addr, options, in_process))
}

/// What is measured before the server starts.
struct InProcess {
    cache: CacheFill,
    /// Verification times, sorted.
    argon2: Vec<Duration>,
}

struct CacheFill {
    capacity: usize,
    entries: usize,
    rss_growth_mb: Option<f64>,
}

/// `count` verifications of one secret against its hash, sorted.
fn argon2_verifications(count: usize) -> Vec<Duration> {
    let hasher = Hasher::new(Pepper::dev());
    let secret = crate::credentials::issue(TokenKind::VendorKey, "key_000001");
    let (salt, hash) = hasher.hash(secret.secret());
    let mut times: Vec<Duration> = (0..count)
        .map(|_| {
            let started = Instant::now();
            assert!(hasher.verify(secret.secret(), &salt, &hash));
            started.elapsed()
        })
        .collect();
    times.sort_unstable();
    times
}

/// A cache of the runtime's default capacity fed `tokens` distinct validations: what it holds
/// after, and how much the process grew.
fn cache_fill(tokens: usize) -> CacheFill {
    let capacity = RuntimeOptions::default().token_cache_capacity;
    let cache = ValidationCache::new(capacity);
    let before = rss_mb();
    for n in 0..tokens {
        let id = format!("tok_{n:09}");
        let issued = crate::credentials::issue(TokenKind::DeploymentToken, &id);
        let credential = Credential {
            id,
            kind: TokenKind::DeploymentToken,
            vendor_id: "ven_000001".to_owned(),
            deployment_id: Some(format!("dep_{n:09}")),
            scopes: vec!["signals:write".to_owned()],
            salt: String::new(),
            hash: String::new(),
            hash_params: ARGON2_PARAMS.to_owned(),
            last4: issued.token[issued.token.len() - 4..].to_owned(),
            created_at: NOW.to_owned(),
            expires_at: NOW.to_owned(),
            revoked_at: None,
            last_used_at: None,
        };
        cache.put(&issued.token, credential, 0);
    }
    CacheFill {
        capacity,
        entries: cache.len(),
        rss_growth_mb: before
            .zip(rss_mb())
            .map(|(before, after)| ((after - before) * 10.0).round() / 10.0),
    }
}

async fn drive(
    addr: SocketAddr,
    options: &MlBenchOptions,
    in_process: InProcess,
) -> Result<MlReport, Error> {
    let mut control = Connection::open(addr).await?;
    let vendor = data(
        &mut control,
        operator(Call::post(
            "/api/vendors",
            json!({"name": "Bench Quant"}).to_string(),
        )),
        StatusCode::CREATED,
        "creating the vendor",
    )
    .await?;
    let key = text(&vendor, "api_key")?;

    let (first_use, second_use) = first_uses(&mut control, &key, options.first_use_keys).await?;

    let reads =
        usize::try_from(u64::from(options.read_rate) * options.read_seconds).unwrap_or(usize::MAX);
    let reads = {
        let key = key.clone();
        load_planned(
            addr,
            Plan {
                connections: options.connections,
                count: reads,
                deadline: options.time_limit,
                interval: Some(Duration::from_secs(1) / options.read_rate.max(1)),
            },
            move |_| (bearer(Call::get("/api/vendors/me"), &key), StatusCode::OK),
        )
        .await?
    };
    reads.check("cached reads")?;

    let model = data(
        &mut control,
        bearer(
            Call::post(
                "/api/vendors/models",
                json!({"name": "bench", "task": "signal", "version": "1.0.0"}).to_string(),
            ),
            &key,
        ),
        StatusCode::CREATED,
        "registering the model",
    )
    .await?;
    let deploy = json!({"model_id": model["model_id"], "version_id": model["version_id"]});
    let started = Instant::now();
    let mut tokens = Vec::with_capacity(options.deployments);
    for _ in 0..options.deployments {
        let created = data(
            &mut control,
            bearer(Call::post("/api/deployments", deploy.to_string()), &key),
            StatusCode::CREATED,
            "creating a deployment",
        )
        .await?;
        tokens.push(text(&created, "infra_token")?);
    }
    let deployments_create_ms = ms(started.elapsed());

    let writes = signal_writes(addr, options, tokens).await?;
    let signal_requests = writes.first.sent + writes.cached.sent;
    let signals_written = (writes.first.count(StatusCode::CREATED)
        + writes.cached.count(StatusCode::CREATED))
        * options.signals_per_write;
    let cached_signals = writes.cached.count(StatusCode::CREATED) * options.signals_per_write;
    Ok(MlReport {
        argon2_params: ARGON2_PARAMS,
        argon2_verify_p50_ms: ms(in_process.argon2[in_process.argon2.len() / 2]),
        argon2_verify_max_ms: ms(in_process.argon2[in_process.argon2.len() - 1]),
        first_use_keys: first_use.len(),
        first_use_p50_ms: ms(first_use[first_use.len() / 2]),
        first_use_max_ms: ms(first_use[first_use.len() - 1]),
        second_use_p50_ms: ms(second_use[second_use.len() / 2]),
        cached_read_target_rps: options.read_rate,
        cached_reads: reads.sent,
        cached_read_rps: round1(reads.per_second()),
        cached_read_p50_ms: ms(reads.quantile(0.50)),
        cached_read_p99_ms: ms(reads.quantile(0.99)),
        cached_read_max_ms: ms(reads.quantile(1.0)),
        deployments: options.deployments,
        deployments_create_ms,
        connections: options.connections,
        signal_requests,
        signals_written,
        rate_limited: writes.first.count(StatusCode::TOO_MANY_REQUESTS)
            + writes.cached.count(StatusCode::TOO_MANY_REQUESTS),
        first_write_ms: ms(writes.first.elapsed),
        first_write_p99_ms: ms(writes.first.quantile(0.99)),
        cached_write_ms: ms(writes.cached.elapsed),
        cached_signals_per_s: round1(per_second(cached_signals, writes.cached.elapsed)),
        cached_write_p50_ms: ms(writes.cached.quantile(0.50)),
        cached_write_p99_ms: ms(writes.cached.quantile(0.99)),
        signals_per_s: round1(per_second(
            signals_written,
            writes.first.elapsed + writes.cached.elapsed,
        )),
        cache_capacity: in_process.cache.capacity,
        cache_tokens_seen: options.cache_tokens,
        cache_entries: in_process.cache.entries,
        cache_rss_growth_mb: in_process.cache.rss_growth_mb,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// `count` more keys of the vendor, each used twice: its first request's latency and its
/// second's, each sorted.
async fn first_uses(
    control: &mut Connection,
    key: &str,
    count: usize,
) -> Result<(Vec<Duration>, Vec<Duration>), Error> {
    let mut keys = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let issued = data(
            control,
            bearer(Call::post("/api/vendors/me/keys", "{}"), key),
            StatusCode::CREATED,
            "issuing a key",
        )
        .await?;
        keys.push(text(&issued, "api_key")?);
    }
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for uses in [&mut first, &mut second] {
        for key in &keys {
            let started = Instant::now();
            let reply = control
                .send(&bearer(Call::get("/api/vendors/me"), key))
                .await?;
            uses.push(started.elapsed());
            reply.expect(StatusCode::OK, "a key's use")?;
        }
        uses.sort_unstable();
    }
    Ok((first, second))
}

struct SignalWrites {
    first: LoadOutcome,
    cached: LoadOutcome,
}

/// Each deployment's first write, then the rest of its limit and one more, which must be 429.
async fn signal_writes(
    addr: SocketAddr,
    options: &MlBenchOptions,
    tokens: Vec<String>,
) -> Result<SignalWrites, Error> {
    let body = Bytes::from(signal_array(options.signals_per_write).to_string());
    let tokens = Arc::new(tokens);
    let deployments = tokens.len();
    let write = {
        let (tokens, body) = (Arc::clone(&tokens), body.clone());
        move |deployment: usize| {
            bearer(
                Call::post("/api/signals/store", body.clone()),
                &tokens[deployment],
            )
        }
    };
    let plan = |count| Plan {
        connections: options.connections,
        count,
        deadline: options.time_limit,
        interval: None,
    };
    let first = {
        let write = write.clone();
        load_planned(addr, plan(deployments), move |index| {
            (write(index), StatusCode::CREATED)
        })
        .await?
    };
    first.check("first writes")?;
    // Request `index` is deployment `index % n`'s write number `index / n + 2`: the last
    // round is each deployment's one past its limit.
    let rounds = writes_allowed()?;
    let cached = load_planned(addr, plan(deployments * rounds), move |index| {
        let expected = if index / deployments + 1 < rounds {
            StatusCode::CREATED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        (write(index % deployments), expected)
    })
    .await?;
    cached.check("cached writes")?;
    Ok(SignalWrites { first, cached })
}

/// Writes a deployment may make in a window: the manifest's limit of `mlSignals.store`.
fn writes_allowed() -> Result<usize, Error> {
    crate::manifest::Manifest::embedded()
        .operation("mlSignals.store")
        .and_then(|operation| operation.rate_limit.as_ref())
        .map(|limit| limit.limit as usize)
        .ok_or_else(|| bench_failure("mlSignals.store has no rate limit".to_owned()))
}

fn signal_array(count: usize) -> Value {
    let decisions = ["BUY", "SELL", "HOLD"];
    Value::Array(
        (0..count)
            .map(|n| {
                json!({"symbol": format!("SYM{n}"), "timeframe": "1h",
                       "decision": decisions[n % decisions.len()],
                       "confidence": 0.5 + (n % 50) as f64 / 100.0,
                       "model_version": "1.0.0", "timestamp": NOW})
            })
            .collect(),
    )
}

pub(super) fn operator(mut call: Call) -> Call {
    for (name, value) in OPERATOR {
        call = call.header(name, value);
    }
    call
}

pub(super) fn bearer(call: Call, token: &str) -> Call {
    call.header("authorization", format!("Bearer {token}"))
}

/// The `data` of a reply that must have status `status`.
pub(super) async fn data(
    connection: &mut Connection,
    call: Call,
    status: StatusCode,
    what: &str,
) -> Result<Value, Error> {
    let reply = connection.send(&call).await?.expect(status, what)?;
    let mut body: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| bench_failure(format!("{what}: the answer is not JSON: {e}")))?;
    Ok(body["data"].take())
}

pub(super) fn text(data: &Value, field: &str) -> Result<String, Error> {
    data[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| bench_failure(format!("the answer has no {field}")))
}

#[allow(clippy::cast_precision_loss)]
pub(super) fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

pub(super) fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
