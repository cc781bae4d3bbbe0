//! The throughput part of `bench training`: [`trainer::train`] in process, no server, on a
//! generated round of about `rows` training rows, every epoch scored on the validation file as a
//! run's is. The round is generated and its two files parsed as a worker reads them
//! (`prepare_s`); only the training is timed.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::domain::ml_market::dataset::{self, HISTORY, Recipe};
use crate::domain::ml_market::trainer::{self, Hyperparams, Outcome, Split};
use crate::domain::ml_market::types::Timeframe;
use crate::error::Error;

use super::super::client::bench_failure;
use super::SYMBOLS;

/// `trainer::train` on one round, in process.
#[derive(Clone, Debug, Serialize)]
pub struct ThroughputReport {
    /// Rows of the training file, and of the validation file each epoch is scored on.
    pub rows: usize,
    pub validation_rows: usize,
    pub epochs: u32,
    /// Generating the round and parsing its two files; then training alone.
    pub prepare_s: f64,
    pub seconds: f64,
    pub samples_x_epochs_per_s: f64,
}

/// The trainer on a generated round of about `rows` training rows (60% of the round).
pub(super) fn run(rows: usize, epochs: u32) -> Result<ThroughputReport, Error> {
    let started = Instant::now();
    let bars_of_each = (rows * 10).div_ceil(6 * SYMBOLS.len()) + HISTORY + 1;
    let recipe = Recipe {
        seed: 1,
        symbols: SYMBOLS.map(str::to_owned).to_vec(),
        bars: bars_of_each,
        timeframe: Timeframe::H1,
    };
    let (files, _) = dataset::files(&recipe);
    let split = |kind: &str| -> Result<Split, Error> {
        let file = files
            .iter()
            .find(|file| file.kind == kind)
            .ok_or_else(|| bench_failure(format!("the round has no {kind} file")))?;
        Split::parse(&String::from_utf8_lossy(&file.bytes))
            .map_err(|e| bench_failure(format!("the {kind} file: {}", e.0)))
    };
    let (train, validation) = (split("train")?, split("validation")?);
    drop(files);
    let prepared = started.elapsed();
    let params = Hyperparams {
        epochs,
        ..Hyperparams::default()
    };
    let started = Instant::now();
    let outcome = trainer::train(&train, &validation, params, 1, |_| true);
    let elapsed = started.elapsed();
    if !matches!(std::hint::black_box(&outcome), Outcome::Trained { .. }) {
        return Err(bench_failure("the trainer stopped early".to_owned()));
    }
    #[allow(clippy::cast_precision_loss)]
    let samples = train.labels.len() as f64 * f64::from(epochs);
    Ok(ThroughputReport {
        rows: train.labels.len(),
        validation_rows: validation.labels.len(),
        epochs,
        prepare_s: seconds(prepared),
        seconds: seconds(elapsed),
        samples_x_epochs_per_s: (samples / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)).round(),
    })
}

fn seconds(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1000.0).round() / 1000.0
}
