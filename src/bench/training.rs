//! `marketref bench training`: training runs (issue 15) as vendors see them, over loopback HTTP
//! against the runtime in process ([`Served`]) with `--workers` training workers, and the
//! trainer alone, in four parts:
//!
//! 1. **throughput**: [`trainer::train`] in process, no server, on rounds of about 10k, 100k and
//!    1M training rows: samples × epochs per second;
//! 2. **creation under load**: two long runs train (1,000 epochs of batch size 1 on a large
//!    round) while `POST /api/training/runs` is timed; the runs it creates queue behind them;
//! 3. **a default run**: 4,000 bars × 3 symbols, default hyperparameters (20 epochs), timed from
//!    its creation to the first `GET` that shows it succeeded, on an idle server;
//! 4. **a queue** ([`queue`]): one run from each of many vendors on the workers: every run
//!    must succeed once, in creation order, while unrelated reads are timed.
//!
//! Each server part has a server of its own on a temporary store. The server's clock is the
//! wall clock made strictly increasing (each reading at least a millisecond after the last), so
//! that no two runs' `started_at` tie: their order is the order the workers claimed them in.
//! Requests, counts and waits are bounded, and each server stops when its part ends.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::domain::ml_market::trainer::Hyperparams;
use crate::error::Error;
use crate::http::RuntimeOptions;

use super::client::{Call, Connection, Plan, bench_failure, load_planned};
use super::ml::{bearer, data, operator, text};
use super::served::Served;
use super::{ms, peak_rss_mb};

mod queue;
mod throughput;

pub use queue::QueueReport;
pub use throughput::ThroughputReport;

/// The symbols of every round.
const SYMBOLS: [&str; 3] = ["EURUSD", "GBPUSD", "USDJPY"];
/// Runs that train while creation is timed.
const LONG_RUNS: usize = 2;

#[derive(Clone, Debug)]
pub struct TrainingBenchOptions {
    /// Training workers of each server (`serve --training-workers`).
    pub workers: usize,
    /// Bars per symbol of the long runs' round, and their epochs (batch size 1).
    pub long_bars: u32,
    pub long_epochs: u32,
    /// Runs created, and timed, while the long runs train.
    pub creations: usize,
    /// Bars per symbol of the default run's round, and how many default runs are timed.
    pub default_bars: u32,
    pub default_runs: usize,
    /// Training rows of each throughput round, and the epochs trained on each.
    pub throughput_rows: Vec<usize>,
    pub throughput_epochs: u32,
    /// Vendors of the queue, one run each; bars per symbol of its round; epochs of each run.
    pub vendors: usize,
    pub queue_bars: u32,
    pub queue_epochs: u32,
    /// Reads per second of each of `GET /api/catalog` and `GET /healthz` while the queue trains.
    pub read_rate: u32,
    /// How often a run is read while the bench waits for it.
    pub poll_interval: Duration,
    /// Upper bound on each wait and each load.
    pub time_limit: Duration,
}

impl Default for TrainingBenchOptions {
    fn default() -> TrainingBenchOptions {
        TrainingBenchOptions {
            workers: 2,
            long_bars: 66_000,
            long_epochs: 1_000,
            creations: 200,
            default_bars: 4_000,
            default_runs: 5,
            throughput_rows: vec![10_000, 100_000, 1_000_000],
            throughput_epochs: 20,
            vendors: 100,
            queue_bars: 4_000,
            queue_epochs: 20,
            read_rate: 500,
            poll_interval: Duration::from_millis(5),
            time_limit: Duration::from_secs(300),
        }
    }
}

impl TrainingBenchOptions {
    /// Tiny sizes: a few seconds, in a debug build too.
    pub fn quick() -> TrainingBenchOptions {
        TrainingBenchOptions {
            long_bars: 2_000,
            creations: 10,
            default_bars: 300,
            default_runs: 1,
            throughput_rows: vec![1_000],
            throughput_epochs: 2,
            vendors: 3,
            queue_bars: 200,
            queue_epochs: 2,
            read_rate: 100,
            time_limit: Duration::from_secs(120),
            ..TrainingBenchOptions::default()
        }
    }
}

/// The flags of `marketref bench training`: a size not given is the default's, or `--quick`'s.
#[derive(Clone, Debug, clap::Args)]
pub struct TrainingArgs {
    /// Tiny sizes, for a smoke test (seconds, in a debug build too).
    #[arg(long)]
    pub quick: bool,
    /// Training workers of each server [default: 2].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Runs created, and timed, while two long runs train [default: 200; --quick: 10].
    #[arg(long)]
    pub creations: Option<usize>,
    /// Bars per symbol (3 symbols) of the long runs' round [default: 66000; --quick: 2000].
    #[arg(long)]
    pub long_bars: Option<u32>,
    /// Default runs trained and timed one after the other [default: 5; --quick: 1].
    #[arg(long)]
    pub default_runs: Option<usize>,
    /// Training rows of each throughput round [default: 10000,100000,1000000; --quick: 1000].
    #[arg(long, value_delimiter = ',')]
    pub throughput_rows: Option<Vec<usize>>,
    /// Epochs trained on each throughput round [default: 20; --quick: 2].
    #[arg(long)]
    pub throughput_epochs: Option<u32>,
    /// Vendors in the queue, one run each [default: 100; --quick: 3].
    #[arg(long)]
    pub vendors: Option<usize>,
    /// Epochs of each queued run [default: 20; --quick: 2].
    #[arg(long)]
    pub queue_epochs: Option<u32>,
    /// Reads per second of each of GET /api/catalog and GET /healthz while the queue trains
    /// [default: 500; --quick: 100].
    #[arg(long)]
    pub read_rate: Option<u32>,
    /// Upper bound, in seconds, on each wait and each load [default: 300; --quick: 120].
    #[arg(long)]
    pub time_limit: Option<u64>,
}

impl TrainingArgs {
    pub fn options(&self) -> TrainingBenchOptions {
        let base = if self.quick {
            TrainingBenchOptions::quick()
        } else {
            TrainingBenchOptions::default()
        };
        TrainingBenchOptions {
            workers: self.workers.unwrap_or(base.workers),
            creations: self.creations.unwrap_or(base.creations),
            long_bars: self.long_bars.unwrap_or(base.long_bars),
            default_runs: self.default_runs.unwrap_or(base.default_runs),
            throughput_rows: self.throughput_rows.clone().unwrap_or(base.throughput_rows),
            throughput_epochs: self.throughput_epochs.unwrap_or(base.throughput_epochs),
            vendors: self.vendors.unwrap_or(base.vendors),
            queue_epochs: self.queue_epochs.unwrap_or(base.queue_epochs),
            read_rate: self.read_rate.unwrap_or(base.read_rate),
            time_limit: self.time_limit.map_or(base.time_limit, Duration::from_secs),
            ..base
        }
    }
}

/// The output of `bench training`: one JSON document.
#[derive(Clone, Debug, Serialize)]
pub struct TrainingReport {
    pub training_workers: usize,
    pub throughput: Vec<ThroughputReport>,
    pub creation: CreationReport,
    pub default_run: DefaultRunReport,
    pub queue: QueueReport,
    pub peak_rss_mb: Option<f64>,
}

/// `POST /api/training/runs` while the long runs train.
#[derive(Clone, Debug, Serialize)]
pub struct CreationReport {
    pub long_runs: usize,
    pub long_round_bars: u32,
    pub long_round_symbols: usize,
    pub long_train_rows: u64,
    pub long_epochs: u32,
    pub long_batch_size: u32,
    pub creations: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Long runs still `running` when the last creation was answered.
    pub long_runs_running_after: usize,
}

/// Default runs, one after the other, each from its `POST` to the `GET` that shows it succeeded.
#[derive(Clone, Debug, Serialize)]
pub struct DefaultRunReport {
    pub bars: u32,
    pub symbols: usize,
    pub train_rows: u64,
    pub epochs: u32,
    pub batch_size: usize,
    pub poll_interval_ms: f64,
    pub runs: usize,
    pub succeeded: usize,
    pub p50_ms: f64,
    pub max_ms: f64,
    pub runs_ms: Vec<f64>,
}

pub fn run(options: &TrainingBenchOptions) -> Result<TrainingReport, Error> {
    let throughput = options
        .throughput_rows
        .iter()
        .map(|&rows| throughput::run(rows, options.throughput_epochs))
        .collect::<Result<Vec<_>, _>>()?;
    let creation = serve(options, |addr| creation(addr, options))?;
    let default_run = serve(options, |addr| default_runs(addr, options))?;
    let queue = serve(options, |addr| queue::run(addr, options))?;
    Ok(TrainingReport {
        training_workers: options.workers,
        throughput,
        creation,
        default_run,
        queue,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// Drives a server of its own with `options.workers` training workers.
fn serve<T, F: Future<Output = Result<T, Error>>>(
    options: &TrainingBenchOptions,
    drive: impl FnOnce(SocketAddr) -> F,
) -> Result<T, Error> {
    let runtime = RuntimeOptions {
        training_workers: options.workers,
        ..RuntimeOptions::default()
    };
    Served::start(None, Arc::new(StrictClock::default()), runtime)?.drive_then_stop(drive)
}

/// The wall clock, each reading at least a millisecond after the one before: two instants the
/// server writes (at millisecond precision) never tie, and their order is the order it read
/// them in. It runs ahead of the wall by at most a millisecond a reading.
#[derive(Debug)]
struct StrictClock(Mutex<OffsetDateTime>);

impl Default for StrictClock {
    fn default() -> StrictClock {
        StrictClock(Mutex::new(OffsetDateTime::UNIX_EPOCH))
    }
}

impl Clock for StrictClock {
    fn now(&self) -> OffsetDateTime {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *last = OffsetDateTime::now_utc().max(*last + time::Duration::MILLISECOND);
        *last
    }
}

async fn creation(
    addr: SocketAddr,
    options: &TrainingBenchOptions,
) -> Result<CreationReport, Error> {
    let mut control = Connection::open(addr).await?;
    let key = vendor(&mut control, "Bench Trainer").await?;
    let long_train_rows = round(&mut control, "long", options.long_bars, &SYMBOLS).await?;
    let long = spec(
        "long",
        json!({"epochs": options.long_epochs, "batch_size": 1}),
    );
    let mut long_runs = Vec::with_capacity(LONG_RUNS);
    for _ in 0..LONG_RUNS {
        long_runs.push(create_run(&mut control, &key, &long).await?);
    }
    // Both claimed before the clock starts: every timed creation queues behind them.
    for run_id in &long_runs {
        let run = wait_for(&mut control, &key, run_id, options, |status| {
            status != "queued"
        })
        .await?;
        if run["status"] != "running" {
            return Err(bench_failure(format!("a long run did not train: {run}")));
        }
    }
    let queued = spec("long", json!({}));
    let created = {
        let key = key.clone();
        let plan = Plan {
            connections: 1,
            count: options.creations,
            deadline: options.time_limit,
            interval: None,
        };
        load_planned(addr, plan, move |_| {
            let call = Call::post("/api/training/runs", queued.clone());
            (bearer(call, &key), StatusCode::CREATED)
        })
        .await?
    };
    created.check("creating runs behind the long ones")?;
    let mut long_runs_running_after = 0;
    for run_id in &long_runs {
        if read_run(&mut control, &key, run_id).await?["status"] == "running" {
            long_runs_running_after += 1;
        }
    }
    Ok(CreationReport {
        long_runs: LONG_RUNS,
        long_round_bars: options.long_bars,
        long_round_symbols: SYMBOLS.len(),
        long_train_rows,
        long_epochs: options.long_epochs,
        long_batch_size: 1,
        creations: created.sent,
        p50_ms: ms(created.quantile(0.50)),
        p99_ms: ms(created.quantile(0.99)),
        max_ms: ms(created.quantile(1.0)),
        long_runs_running_after,
    })
}

async fn default_runs(
    addr: SocketAddr,
    options: &TrainingBenchOptions,
) -> Result<DefaultRunReport, Error> {
    let mut control = Connection::open(addr).await?;
    let key = vendor(&mut control, "Bench Default").await?;
    let train_rows = round(&mut control, "default", options.default_bars, &SYMBOLS).await?;
    let body = spec("default", json!({}));
    let mut times = Vec::with_capacity(options.default_runs);
    for _ in 0..options.default_runs.max(1) {
        let started = Instant::now();
        let run_id = create_run(&mut control, &key, &body).await?;
        let run = wait_for(&mut control, &key, &run_id, options, finished).await?;
        let elapsed = started.elapsed();
        if run["status"] != "succeeded" {
            return Err(bench_failure(format!(
                "a default run did not succeed: {run}"
            )));
        }
        times.push(elapsed);
    }
    let runs_ms = times.iter().copied().map(ms).collect();
    times.sort_unstable();
    let defaults = Hyperparams::default();
    Ok(DefaultRunReport {
        bars: options.default_bars,
        symbols: SYMBOLS.len(),
        train_rows,
        epochs: defaults.epochs,
        batch_size: defaults.batch_size,
        poll_interval_ms: ms(options.poll_interval),
        runs: times.len(),
        succeeded: times.len(),
        p50_ms: ms(times[times.len() / 2]),
        max_ms: ms(times[times.len() - 1]),
        runs_ms,
    })
}

/// A vendor, created by the operator, and its key, used once: its first use verifies the hash
/// (argon2id, uncached), which no timing should include.
async fn vendor(control: &mut Connection, name: &str) -> Result<String, Error> {
    let body = json!({ "name": name }).to_string();
    let created = data(
        control,
        operator(Call::post("/api/vendors", body)),
        StatusCode::CREATED,
        "creating a vendor",
    )
    .await?;
    let key = text(&created, "api_key")?;
    let me = bearer(Call::get("/api/vendors/me"), &key);
    data(control, me, StatusCode::OK, "a key's first use").await?;
    Ok(key)
}

/// Generates the round `round_id` (`bars` of each symbol, hourly); its training rows.
async fn round(
    control: &mut Connection,
    round_id: &str,
    bars: u32,
    symbols: &[&str],
) -> Result<u64, Error> {
    let body = json!({"round_id": round_id, "name": round_id,
                      "generate": {"bars": bars, "seed": 1, "symbols": symbols, "timeframe": "1h"}});
    let round = data(
        control,
        operator(Call::post("/api/rounds", body.to_string())),
        StatusCode::CREATED,
        "creating a round",
    )
    .await?;
    // As `dataset::files` splits: 60% of the bars with history, whole bars of every symbol.
    let symbols = symbols.len().max(1) as u64;
    let samples = round["metadata"]["samples_count"]
        .as_u64()
        .ok_or_else(|| bench_failure(format!("the round has no samples_count: {round}")))?;
    Ok(samples / symbols * 6 / 10 * symbols)
}

/// A `local` run's spec on `round_id`.
fn spec(round_id: &str, hyperparams: Value) -> Bytes {
    let spec = json!({"round_id": round_id, "task": "signal", "hyperparams": hyperparams,
                      "seed": 1, "provider": "local"});
    Bytes::from(spec.to_string())
}

async fn create_run(control: &mut Connection, key: &str, spec: &Bytes) -> Result<String, Error> {
    let call = bearer(Call::post("/api/training/runs", spec.clone()), key);
    let run = data(control, call, StatusCode::CREATED, "creating a run").await?;
    text(&run, "run_id")
}

async fn read_run(control: &mut Connection, key: &str, run_id: &str) -> Result<Value, Error> {
    let call = bearer(Call::get(&format!("/api/training/runs/{run_id}")), key);
    data(control, call, StatusCode::OK, "reading a run").await
}

fn finished(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "cancelled")
}

/// Reads the run every `poll_interval` until its status is `done`; the run as last read.
async fn wait_for(
    control: &mut Connection,
    key: &str,
    run_id: &str,
    options: &TrainingBenchOptions,
    done: impl Fn(&str) -> bool,
) -> Result<Value, Error> {
    let started = Instant::now();
    loop {
        let run = read_run(control, key, run_id).await?;
        if done(run["status"].as_str().unwrap_or_default()) {
            return Ok(run);
        }
        if started.elapsed() > options.time_limit {
            return Err(bench_failure(format!("waiting for {run_id}: {run}")));
        }
        tokio::time::sleep(options.poll_interval).await;
    }
}
