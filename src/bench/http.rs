//! `marketref bench http`: the runtime as a client sees it. Starts the server in process
//! ([`AppState`] and [`crate::http::run`] on `127.0.0.1:0`, a temporary SQLite store, or with
//! `--db postgres://...` a database made for the bench on that server; `--instances N` starts
//! N instances on the one store), then, over loopback HTTP only:
//!
//! 1. stores the load's asset values (`POST /dev/fixtures`, in chunks under the body limit), or
//!    with `--values hints` puts each value on its offered asset as `estimated_value_usd`;
//! 2. creates the intents one `POST /swap-intents` each, over keep-alive connections (that
//!    many to each instance, the intents dealt out among them);
//! 3. times one `POST /marketplace/matching/runs` end to end;
//! 4. sends a bounded burst of `GET /healthz` (also once before step 1, on the empty store)
//!    and reports its rate (the median of five rounds) and latencies; the store's files are
//!    flushed to disk before it, so that the kernel's write-back of the load stays out of it.
//!
//! Every request count and duration is bounded, and the server stops when the bench ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::{FixedClock, parse_rfc3339};
use crate::error::Error;
use crate::headers;
use crate::json::NonNegativeNumber;
use crate::store::Location;

use super::client::{Call, Connection, LoadOutcome, bench_failure, load};
use super::served::Served;
use super::synthetic::MatchingLoad;
use super::{ms, peak_rss_mb};

/// Where the bench's intents get their values from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueSource {
    /// Stored before the run, as a pricing feed would have left them.
    Stored,
    /// On each offered asset (`estimated_value_usd`): the run derives and stores them.
    Hints,
}

#[derive(Clone, Debug)]
pub struct HttpBenchOptions {
    pub values: ValueSource,
    /// Keep-alive connections that create intents and call `/healthz`.
    pub connections: usize,
    pub healthz_requests: usize,
    /// Upper bound on each load phase.
    pub time_limit: Duration,
    /// The store: a SQLite file, or a Postgres server to make the bench's database on; a
    /// temporary SQLite file when `None`.
    pub db: Option<Location>,
    /// Instances on the one store; the intents are created through all of them.
    pub instances: usize,
}

impl Default for HttpBenchOptions {
    fn default() -> HttpBenchOptions {
        HttpBenchOptions {
            values: ValueSource::Stored,
            connections: 8,
            healthz_requests: 20_000,
            time_limit: Duration::from_secs(120),
            db: None,
            instances: 1,
        }
    }
}

/// One line of `bench http` output.
#[derive(Clone, Debug, Serialize)]
pub struct HttpReport {
    pub n: usize,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub instances: usize,
    pub values: ValueSource,
    pub connections: usize,
    /// Creating the intents: wall time, rate, per-request latencies.
    pub load_ms: f64,
    pub intents_per_s: f64,
    pub load_p50_ms: f64,
    pub load_p99_ms: f64,
    /// The matching run, from the request's first byte to the response's last.
    pub run_ms: f64,
    pub run_id: String,
    pub active_intents_count: u64,
    pub edges: u64,
    pub candidate_cycles: u64,
    pub candidate_proposals: u64,
    pub selected_proposals: u64,
    pub stored_proposals_count: u64,
    /// A second run right after the first: replaces the first's proposals, values unchanged.
    pub second_run_ms: f64,
    /// `GET /healthz` on the empty store, before the load.
    pub healthz_empty_rps: f64,
    pub healthz_empty_p99_ms: f64,
    /// `GET /healthz` with the load and the runs stored: it reads the counters the database
    /// keeps, so it should cost what it costs on the empty store.
    pub healthz_requests: usize,
    pub healthz_rps: f64,
    pub healthz_p50_ms: f64,
    pub healthz_p99_ms: f64,
    pub healthz_max_ms: f64,
    pub peak_rss_mb: Option<f64>,
}

/// The run's clock: fixed, so that two bench runs store the same proposals.
const RECORDED_AT: &str = "2026-02-28T12:00:00Z";
/// Asset values per `/dev/fixtures` request: about 30 bytes each, well under the 1 MiB limit.
const VALUES_PER_FIXTURE_REQUEST: usize = 20_000;

/// Runs the whole HTTP bench over `load`.
pub fn run(load: &MatchingLoad, options: &HttpBenchOptions) -> Result<HttpReport, Error> {
    let clock = parse_rfc3339(RECORDED_AT).expect("a valid constant");
    let served = Served::start_instances(
        options.db.as_ref(),
        options.instances,
        Arc::new(FixedClock(clock)),
        crate::http::RuntimeOptions::default(),
    )?;
    let db = served.db().map(std::path::Path::to_path_buf);
    let backend = served.backend();
    served.drive_all_then_stop(|addrs| async move {
        drive(&addrs, load, options, db.as_deref(), backend).await
    })
}

/// Writes the store's files through to the disk, so that the kernel's delayed write-back of
/// the load (hundreds of megabytes, due about 30 s after they were written) does not land in
/// the `/healthz` burst that follows and take the cores it measures.
fn flush_to_disk(db: &std::path::Path) -> Result<(), Error> {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    for path in [db.to_path_buf(), std::path::PathBuf::from(wal)] {
        if let Ok(file) = std::fs::File::open(&path) {
            file.sync_all().map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

async fn drive(
    addrs: &[SocketAddr],
    load: &MatchingLoad,
    options: &HttpBenchOptions,
    db: Option<&std::path::Path>,
    backend: &'static str,
) -> Result<HttpReport, Error> {
    let addr = addrs[0];
    let mut control = Connection::open(addr).await?;
    let empty = healthz_burst(addr, options).await?;
    if options.values == ValueSource::Stored {
        let values: Vec<(&String, &NonNegativeNumber)> = load.asset_values_usd.iter().collect();
        for chunk in values.chunks(VALUES_PER_FIXTURE_REQUEST) {
            let body = json!({"asset_values_usd": chunk
                .iter()
                .map(|(asset_id, value)| ((*asset_id).clone(), Value::Number(value.0.clone())))
                .collect::<serde_json::Map<String, Value>>()});
            control
                .send(&Call::post("/dev/fixtures", body.to_string()))
                .await?
                .expect(StatusCode::OK, "storing asset values")?;
        }
    }

    let bodies = create_bodies(load, options.values)?;
    let bodies = Arc::new(bodies);
    let created = create_intents(addrs, options, &bodies).await?;
    if created.sent < bodies.len() {
        return Err(bench_failure(format!(
            "created {} of {} intents within the time limit of {:?}",
            created.sent,
            bodies.len(),
            options.time_limit
        )));
    }
    created.check("creating intents")?;

    let (run, run_elapsed) = matching_run(&mut control, "bench-run-1").await?;
    let (_, second_elapsed) = matching_run(&mut control, "bench-run-2").await?;
    if let Some(db) = db {
        flush_to_disk(db)?;
    }

    let health = healthz_burst(addr, options).await?;

    let stat = |key: &str| run["stats"][key].as_u64().unwrap_or_default();
    Ok(HttpReport {
        n: load.intents.len(),
        backend,
        instances: addrs.len(),
        values: options.values,
        connections: options.connections,
        load_ms: ms(created.elapsed),
        intents_per_s: created.per_second().round(),
        load_p50_ms: ms(created.quantile(0.5)),
        load_p99_ms: ms(created.quantile(0.99)),
        run_ms: ms(run_elapsed),
        run_id: run["run_id"].as_str().unwrap_or_default().to_owned(),
        active_intents_count: run["active_intents_count"].as_u64().unwrap_or_default(),
        edges: stat("edges"),
        candidate_cycles: stat("candidate_cycles"),
        candidate_proposals: stat("candidate_proposals"),
        selected_proposals: stat("selected_proposals"),
        stored_proposals_count: run["stored_proposals_count"].as_u64().unwrap_or_default(),
        second_run_ms: ms(second_elapsed),
        healthz_empty_rps: empty.rps.round(),
        healthz_empty_p99_ms: ms(empty.all.quantile(0.99)),
        healthz_requests: health.all.sent,
        healthz_rps: health.rps.round(),
        healthz_p50_ms: ms(health.all.quantile(0.5)),
        healthz_p99_ms: ms(health.all.quantile(0.99)),
        healthz_max_ms: ms(health.all.latencies.last().copied().unwrap_or_default()),
        peak_rss_mb: peak_rss_mb(),
    })
}

/// Creates every intent, the `k`th of `n` instances taking every `n`th, all at once; one
/// outcome over all of them (the wall time from the first send to the last answer).
async fn create_intents(
    addrs: &[SocketAddr],
    options: &HttpBenchOptions,
    bodies: &Arc<Vec<(String, Bytes)>>,
) -> Result<LoadOutcome, Error> {
    let instances = addrs.len();
    let phases = addrs.iter().enumerate().map(|(k, &addr)| {
        let bodies = Arc::clone(bodies);
        let count = (bodies.len() + instances - 1 - k) / instances;
        load_phase(addr, options, count, StatusCode::CREATED, move |i| {
            let index = i * instances + k;
            let (actor, body) = &bodies[index];
            Call::post("/swap-intents", body.clone())
                .header(headers::ACTOR_TYPE, "user")
                .header(headers::ACTOR_ID, actor.clone())
                .header(headers::AUTH_SCOPES, "swap_intents:write")
                .header(headers::IDEMPOTENCY_KEY, format!("bench-create-{index}"))
        })
    });
    let mut merged: Option<LoadOutcome> = None;
    for outcome in futures_util::future::join_all(phases).await {
        let outcome = outcome?;
        merged = Some(match merged {
            None => outcome,
            Some(mut all) => {
                all.sent += outcome.sent;
                all.unexpected += outcome.unexpected;
                all.first_unexpected = all.first_unexpected.or(outcome.first_unexpected);
                all.elapsed = all.elapsed.max(outcome.elapsed);
                all.latencies.extend(outcome.latencies);
                for (status, count) in outcome.statuses {
                    *all.statuses.entry(status).or_default() += count;
                }
                all
            }
        });
    }
    let mut all = merged.expect("at least one instance");
    all.latencies.sort_unstable();
    Ok(all)
}

/// `(actor id, request body)` of each intent's create, serialized before the clock starts.
fn create_bodies(load: &MatchingLoad, values: ValueSource) -> Result<Vec<(String, Bytes)>, Error> {
    load.intents
        .iter()
        .map(|intent| {
            let mut intent = intent.clone();
            if values == ValueSource::Hints {
                for asset in &mut intent.offer {
                    asset.estimated_value_usd = load.asset_values_usd.get(&asset.asset_id).cloned();
                }
            }
            let body = serde_json::to_vec(&json!({"intent": intent}))
                .map_err(|e| bench_failure(format!("serializing an intent: {e}")))?;
            Ok((intent.actor.id.clone(), Bytes::from(body)))
        })
        .collect()
}

/// Rounds a `/healthz` burst is cut into.
const HEALTHZ_ROUNDS: usize = 5;

/// A `/healthz` burst: every request's latency, and the median rate of its rounds.
struct HealthzBurst {
    all: LoadOutcome,
    rps: f64,
}

/// `healthz_requests` calls of `GET /healthz` in [`HEALTHZ_ROUNDS`] rounds. The rate is the
/// median round's: on a machine whose other work comes and goes (this one's rates vary by a
/// fifth from one burst to the next), one slow round moves a median, not the figure.
async fn healthz_burst(
    addr: SocketAddr,
    options: &HttpBenchOptions,
) -> Result<HealthzBurst, Error> {
    let per_round = options.healthz_requests.div_ceil(HEALTHZ_ROUNDS).max(1);
    let mut rates = Vec::with_capacity(HEALTHZ_ROUNDS);
    let mut all: Option<LoadOutcome> = None;
    for _ in 0..HEALTHZ_ROUNDS {
        let round = load_phase(addr, options, per_round, StatusCode::OK, |_| {
            Call::get("/healthz")
        })
        .await?;
        round.check("GET /healthz")?;
        rates.push(round.per_second());
        all = Some(match all {
            None => round,
            Some(mut merged) => {
                merged.sent += round.sent;
                merged.elapsed += round.elapsed;
                merged.latencies.extend(round.latencies);
                merged
            }
        });
    }
    let mut all = all.expect("at least one round");
    all.latencies.sort_unstable();
    rates.sort_by(f64::total_cmp);
    Ok(HealthzBurst {
        all,
        rps: rates[rates.len() / 2],
    })
}

async fn load_phase<F>(
    addr: SocketAddr,
    options: &HttpBenchOptions,
    count: usize,
    expect: StatusCode,
    calls: F,
) -> Result<LoadOutcome, Error>
where
    F: Fn(usize) -> Call + Send + Sync + 'static,
{
    load(
        addr,
        options.connections,
        count,
        options.time_limit,
        expect,
        calls,
    )
    .await
}

async fn matching_run(control: &mut Connection, key: &str) -> Result<(Value, Duration), Error> {
    let call = Call::post(
        "/marketplace/matching/runs",
        json!({"recorded_at": RECORDED_AT}).to_string(),
    )
    .header(headers::ACTOR_TYPE, "partner")
    .header(headers::ACTOR_ID, "bench_partner")
    .header(headers::AUTH_SCOPES, "settlement:write")
    .header(headers::IDEMPOTENCY_KEY, key);
    let started = Instant::now();
    let reply = control.send(&call).await?;
    let elapsed = started.elapsed();
    let reply = reply.expect(StatusCode::OK, "the matching run")?;
    let body: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| bench_failure(format!("the matching run answered no JSON: {e}")))?;
    Ok((body["run"].clone(), elapsed))
}
