//! The queue part of `bench training`: `--vendors` vendors each create one run (by default a
//! default run: 4,000 bars of 3 symbols, 20 epochs), the workers train them all, and meanwhile
//! `GET /api/catalog` and `GET /healthz` are read at a
//! fixed rate each (an open load, from before the first run is created until the last has
//! finished). Then every run is read once more with its log: each must have succeeded, been
//! trained once (one `started:` line, every epoch, `succeeded:` last), and the runs must have
//! started in the order they were created (`started_at`, which the strictly increasing clock
//! never ties).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;

use crate::clock::parse_rfc3339;
use crate::error::{Error, ErrorKind};

use super::super::client::{Call, Connection, LoadOutcome, Plan, load_until};
use super::super::ml::bearer;
use super::super::ms;
use super::{SYMBOLS, TrainingBenchOptions, create_run, finished, read_run, round, spec, vendor};

/// Many vendors' runs on the workers, and the reads beside them.
#[derive(Clone, Debug, Serialize)]
pub struct QueueReport {
    pub vendors: usize,
    pub runs: usize,
    pub bars: u32,
    pub symbols: usize,
    pub train_rows: u64,
    pub epochs: u32,
    /// Creating the vendors, one after the other (an argon2id hash each, and a first use).
    pub vendors_create_ms: f64,
    /// Creating the runs, one after the other, and from the first creation until the last run
    /// was seen finished.
    pub runs_create_ms: f64,
    pub drain_ms: f64,
    /// Runs per status at the end (`queued` or `running`: not finished within the time limit).
    pub statuses: BTreeMap<String, usize>,
    pub succeeded: usize,
    /// Runs whose log shows one training: one `started:` line, every epoch, `succeeded:` last.
    pub logs_complete: usize,
    /// Consecutive runs (in creation order) whose `started_at` are not in that order.
    pub out_of_order: usize,
    pub started_in_creation_order: bool,
    pub catalog_read_target_rps: u32,
    pub catalog_reads: usize,
    pub catalog_read_p50_ms: f64,
    pub catalog_read_p99_ms: f64,
    pub catalog_read_max_ms: f64,
    pub healthz_read_target_rps: u32,
    pub healthz_reads: usize,
    pub healthz_read_p50_ms: f64,
    pub healthz_read_p99_ms: f64,
    pub healthz_read_max_ms: f64,
}

/// A run and its vendor's key.
struct Queued {
    run_id: String,
    key: String,
}

pub(super) async fn run(
    addr: SocketAddr,
    options: &TrainingBenchOptions,
) -> Result<QueueReport, Error> {
    let mut control = Connection::open(addr).await?;
    let symbols = &SYMBOLS;
    let train_rows = round(&mut control, "queue", options.queue_bars, symbols).await?;
    let started = Instant::now();
    let mut keys = Vec::with_capacity(options.vendors);
    for n in 0..options.vendors {
        keys.push(vendor(&mut control, &format!("Bench Vendor {n}")).await?);
    }
    let vendors_create_ms = ms(started.elapsed());

    let stop = Arc::new(AtomicBool::new(false));
    let catalog = reads(addr, options, "/api/catalog", &stop);
    let healthz = reads(addr, options, "/healthz", &stop);
    let body = spec("queue", json!({ "epochs": options.queue_epochs }));
    let started = Instant::now();
    let mut runs = Vec::with_capacity(keys.len());
    for key in keys {
        let run_id = create_run(&mut control, &key, &body).await?;
        runs.push(Queued { run_id, key });
    }
    let runs_create_ms = ms(started.elapsed());
    drain(&mut control, &runs, options).await?;
    let drain_ms = ms(started.elapsed());
    stop.store(true, Ordering::Relaxed);
    let (catalog, healthz) = (joined(catalog).await?, joined(healthz).await?);
    catalog.check("catalog reads")?;
    healthz.check("healthz reads")?;

    let mut statuses = BTreeMap::<String, usize>::new();
    let mut started_at = Vec::with_capacity(runs.len());
    let mut logs_complete = 0;
    for queued in &runs {
        let run = read_run(&mut control, &queued.key, &queued.run_id).await?;
        let status = run["status"].as_str().unwrap_or_default().to_owned();
        *statuses.entry(status).or_default() += 1;
        started_at.push(run["started_at"].as_str().and_then(parse_rfc3339));
        if log_complete(&log(&mut control, queued).await?, options.queue_epochs) {
            logs_complete += 1;
        }
    }
    let out_of_order = started_at
        .windows(2)
        .filter(|pair| !matches!(pair, [Some(a), Some(b)] if a < b))
        .count();
    Ok(QueueReport {
        vendors: options.vendors,
        runs: runs.len(),
        bars: options.queue_bars,
        symbols: symbols.len(),
        train_rows,
        epochs: options.queue_epochs,
        vendors_create_ms,
        runs_create_ms,
        drain_ms,
        succeeded: statuses.get("succeeded").copied().unwrap_or(0),
        statuses,
        logs_complete,
        out_of_order,
        started_in_creation_order: out_of_order == 0,
        catalog_read_target_rps: options.read_rate,
        catalog_reads: catalog.sent,
        catalog_read_p50_ms: ms(catalog.quantile(0.50)),
        catalog_read_p99_ms: ms(catalog.quantile(0.99)),
        catalog_read_max_ms: ms(catalog.quantile(1.0)),
        healthz_read_target_rps: options.read_rate,
        healthz_reads: healthz.sent,
        healthz_read_p50_ms: ms(healthz.quantile(0.50)),
        healthz_read_p99_ms: ms(healthz.quantile(0.99)),
        healthz_read_max_ms: ms(healthz.quantile(1.0)),
    })
}

type Reads = tokio::task::JoinHandle<Result<LoadOutcome, Error>>;

/// `GET path` at `read_rate` a second over two connections, until `stop` (or the time limit).
fn reads(
    addr: SocketAddr,
    options: &TrainingBenchOptions,
    path: &'static str,
    stop: &Arc<AtomicBool>,
) -> Reads {
    let rate = options.read_rate.max(1);
    let plan = Plan {
        connections: 2,
        count: usize::try_from(u64::from(rate) * options.time_limit.as_secs().max(1))
            .unwrap_or(usize::MAX),
        deadline: options.time_limit,
        interval: Some(Duration::from_secs(1) / rate),
    };
    tokio::spawn(load_until(addr, plan, Some(Arc::clone(stop)), move |_| {
        (Call::get(path), StatusCode::OK)
    }))
}

async fn joined(reads: Reads) -> Result<LoadOutcome, Error> {
    reads
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("bench client task failed: {e}")))?
}

/// Waits until every run has finished or the time limit has passed: the newest first, and then
/// each older one (the workers take them in order, so most are finished by then).
async fn drain(
    control: &mut Connection,
    runs: &[Queued],
    options: &TrainingBenchOptions,
) -> Result<(), Error> {
    let started = Instant::now();
    let mut pending = runs.len();
    while let Some(queued) = pending.checked_sub(1).map(|last| &runs[last]) {
        let run = read_run(control, &queued.key, &queued.run_id).await?;
        if finished(run["status"].as_str().unwrap_or_default()) {
            pending -= 1;
        } else if started.elapsed() > options.time_limit {
            break;
        } else {
            tokio::time::sleep(options.poll_interval).await;
        }
    }
    Ok(())
}

async fn log(control: &mut Connection, queued: &Queued) -> Result<String, Error> {
    let path = format!("/api/training/runs/{}/logs", queued.run_id);
    let reply = control
        .send(&bearer(Call::get(&path), &queued.key))
        .await?
        .expect(StatusCode::OK, "reading a run's log")?;
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// One training, whole: one `started:` line, `epochs` epoch lines, `succeeded:` last.
fn log_complete(log: &str, epochs: u32) -> bool {
    let count = |prefix: &str| log.lines().filter(|line| line.starts_with(prefix)).count();
    count("started:") == 1
        && count("epoch ") == epochs as usize
        && log
            .lines()
            .last()
            .is_some_and(|line| line.starts_with("succeeded:"))
}
