//! Benchmarks of the matching engine and of the runtime over HTTP (issue 4, `BENCHMARKS.md`).
//!
//! - [`synthetic`]: the seeded load of `swap-matching.md` section 10, and its file format.
//! - [`matching`]: the engine over a load, exactly as a matching run calls it, timed by phase.
//! - [`http`]: the runtime on a temporary store, loaded and matched over loopback HTTP.
//! - [`ml`]: the ML marketplace's credentials and signal writes over loopback HTTP.
//! - [`training`]: training runs over loopback HTTP (creation, a run's wall time, a queue of
//!   many vendors' runs), and the trainer's throughput in process.
//! - [`served`]: the runtime a bench drives, in process on loopback.
//! - [`client`]: the small keep-alive HTTP/1.1 load generator [`http`] drives it with.
//!
//! Timings appear only in bench reports; nothing here feeds a clock into the engine or the
//! runtime's answers.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, ErrorKind};

use synthetic::MatchingLoad;

pub mod client;
pub mod http;
pub mod matching;
pub mod ml;
pub mod served;
pub mod synthetic;
pub mod training;

/// Where a matching bench takes its load from.
#[derive(Clone, Debug)]
pub enum LoadSource {
    /// The section-10 load for `intents` and `seed`.
    Synthetic { intents: usize, seed: u64 },
    /// A `{asset_values_usd, intents}` file.
    File(PathBuf),
}

impl LoadSource {
    pub fn load(&self) -> Result<MatchingLoad, Error> {
        match self {
            LoadSource::Synthetic { intents, seed } => Ok(synthetic::generate(*intents, *seed)),
            LoadSource::File(path) => {
                let file = File::open(path).map_err(|e| io_error(path, "opening", e))?;
                serde_json::from_reader(BufReader::new(file)).map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!(
                            "{}: not a {{asset_values_usd, intents}} load: {e}",
                            path.display()
                        ),
                    )
                })
            }
        }
    }
}

/// Writes `load` as JSON to `path`, so that `--input` and other implementations can replay it.
pub fn write_load(load: &MatchingLoad, path: &Path) -> Result<(), Error> {
    let file = File::create(path).map_err(|e| io_error(path, "creating", e))?;
    let mut out = BufWriter::new(file);
    serde_json::to_writer(&mut out, load)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| io_error(path, "writing", e))
}

/// Runs `f` on a rayon pool of `threads` workers, or on the global pool (one worker per core)
/// when `None`.
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, Error> {
    match threads {
        None => Ok(f()),
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map(|pool| pool.install(f))
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("starting {threads} threads: {e}"),
                )
            }),
    }
}

pub(crate) fn io_error(path: &Path, doing: &str, error: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{doing} {}: {error}", path.display()),
    )
    .with_source(error)
}

/// Milliseconds, to 0.1 ms.
pub(crate) fn ms(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 10_000.0).round() / 10.0
}

/// The process's peak resident set in MiB, from `VmHWM` in `/proc/self/status`; `None` where
/// the kernel does not tell (not Linux).
pub fn peak_rss_mb() -> Option<f64> {
    status_mb("VmHWM:")
}

/// The process's resident set now, in MiB (`VmRSS`).
pub fn rss_mb() -> Option<f64> {
    status_mb("VmRSS:")
}

fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}
