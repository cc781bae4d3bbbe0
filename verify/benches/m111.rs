//! How long `verify milestones/M111.yaml` takes in process, everything included: loading the
//! milestone, the async runtime, the contracts gate (schema generation and example
//! validation), starting the reference runtime on a fresh SQLite file, the routing and auth
//! probes, every step, the store dump and writing the artifacts.
//!
//! `cargo bench -p verify --bench m111` prints one JSON object. `VERIFY_BENCH_RUNS` sets the
//! number of measured runs (default 20), after one warm-up run.

use std::time::{Duration, Instant};

fn main() {
    let runs: usize = std::env::var("VERIFY_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|runs| *runs > 0)
        .unwrap_or(20);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("verify/ has a parent")
        .to_path_buf();
    let out = tempfile::tempdir().expect("a temporary artifacts folder");
    let options = verify::Options {
        paths: vec![root.join("milestones/M111.yaml")],
        out: Some(out.path().to_path_buf()),
        ..verify::Options::default()
    };

    let once = || {
        let mut sink = Vec::new();
        let started = Instant::now();
        let verdict = verify::verify(&options, &mut sink).expect("M111 loads");
        let elapsed = started.elapsed();
        assert!(
            verdict.passed(),
            "M111 must pass to be measured:\n{}",
            String::from_utf8_lossy(&sink)
        );
        (elapsed, verdict)
    };
    let (_, warm) = once();
    let exchanges: usize = warm.runs.iter().map(|run| run.exchanges().count()).sum();

    let mut times: Vec<Duration> = (0..runs).map(|_| once().0).collect();
    times.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    let total: Duration = times.iter().sum();
    let mean = total / u32::try_from(runs).unwrap_or(u32::MAX);
    let report = serde_json::json!({
        "bench": "verify milestones/M111.yaml, in process",
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "runs": runs,
        "exchanges_per_run": exchanges,
        "min_ms": ms(times[0]),
        "median_ms": ms(times[runs / 2]),
        "mean_ms": ms(mean),
        "max_ms": ms(times[runs - 1]),
    });
    println!("{report}");
}
