//! How long each `mp` command that does not wait on training takes, as a vendor runs it: the
//! whole process (start, config, request, answer), against a server on loopback in this
//! process; and `mp data pull`'s throughput on a round file of about 100 MB.
//!
//! `cargo bench -p mp --bench commands` prints one JSON object. `MP_BENCH_RUNS` sets the runs
//! of each command (default 20); `MP_BENCH_PULL_BARS` the bars per symbol of the big round
//! (default 420,000 of 3 symbols: a train.csv of about 100 MB).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use marketref::clock::SystemClock;
use marketref::domain::ml_market::dataset::Recipe;
use marketref::domain::ml_market::types::Timeframe;
use marketref::domain::ml_market::{admin, files};
use marketref::http::{AppState, RuntimeConfig, RuntimeOptions};
use marketref::store::SqliteStore;
use serde_json::{Value, json};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

struct Vendor<'a> {
    home: &'a Path,
}

impl Vendor<'_> {
    /// `mp ARGS` as this vendor; its stdout, and how long the process took.
    fn mp(&self, args: &[&str]) -> (String, Duration) {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_mp"))
            .args(args)
            .current_dir(self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env_remove("MP_API_URL")
            .output()
            .expect("mp runs");
        let elapsed = started.elapsed();
        assert!(
            output.status.success(),
            "mp {args:?}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            elapsed,
        )
    }
}

fn operator(url: &str, path: &str, body: &Value) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(format!("{url}{path}"))
        .header("x-actor-type", "partner")
        .header("x-actor-id", "operator")
        .header("x-auth-scopes", "ml:operate ml:read")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("the server answers");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json::<Value>().expect("JSON")["data"].clone()
}

/// The arguments of a command's `i`th run.
type Arguments = Box<dyn Fn(usize) -> Vec<String>>;

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

fn main() {
    let runs = setting("MP_BENCH_RUNS", 20);
    let pull_bars = setting("MP_BENCH_PULL_BARS", 420_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data_dir = dir.path().join("data");
    let store = Arc::new(SqliteStore::open(&dir.path().join("marketref.db")).expect("a store"));

    // The big round, published as `marketref rounds publish` does (the API generates at most
    // 200,000 bars).
    let folder = dir.path().join("big-round");
    let recipe = Recipe {
        seed: 1,
        symbols: vec!["EURUSD".into(), "GBPUSD".into(), "USDJPY".into()],
        bars: pull_bars,
        timeframe: Timeframe::H1,
    };
    let written = files::write_folder(&folder, &recipe, "big").expect("the big round is written");
    let train_bytes = written
        .iter()
        .find(|f| f.name == "train.csv")
        .map_or(0, |f| f.size_bytes);
    admin::publish_round(
        &*store,
        &data_dir,
        &folder,
        "big",
        false,
        time::OffsetDateTime::now_utc(),
    )
    .expect("the big round is published");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let state = AppState::new(RuntimeConfig {
        store,
        clock: Arc::new(SystemClock),
        dev: true,
        // No training: a started run stays queued, so no command here waits on one.
        options: RuntimeOptions {
            data_dir: Some(data_dir),
            training_workers: 0,
            ..RuntimeOptions::default()
        },
    })
    .expect("the manifest binds");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(marketref::http::run(listener, state, async {
        let _ = stopped.await;
    }));

    let key = operator(&url, "/api/vendors", &json!({"name": "Bench Vendor"}))["api_key"]
        .as_str()
        .expect("a key")
        .to_owned();
    let home = dir.path().join("vendor");
    std::fs::create_dir_all(&home).expect("a home");
    let vendor = Vendor { home: &home };
    vendor.mp(&["login", "--api-url", &url, "--key", &key]);
    vendor.mp(&["train", "start", "--round", "big", "--hp", "epochs=3"]);
    vendor.mp(&["register", "--name", "bench-model", "--version", "0.0.0"]);
    let deployed: Value = serde_json::from_str(
        &vendor
            .mp(&[
                "deploy",
                "--model",
                "bench-model",
                "--version",
                "0.0.0",
                "--env-file",
                "deploy.env",
                "--json",
            ])
            .0,
    )
    .expect("JSON");
    let deployment = deployed["deployment_id"]
        .as_str()
        .expect("a deployment")
        .to_owned();

    // Each command `runs` times; the ones that create take a new name each time.
    let mut commands: Vec<(String, Arguments)> = Vec::new();
    let fixed = |args: &[&str]| -> Arguments {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        Box::new(move |_| args.clone())
    };
    commands.push((
        "login".into(),
        fixed(&["login", "--api-url", &url, "--key", &key]),
    ));
    commands.push(("whoami".into(), fixed(&["whoami"])));
    commands.push(("doctor".into(), fixed(&["doctor"])));
    commands.push(("data list".into(), fixed(&["data", "list"])));
    commands.push((
        "data info".into(),
        fixed(&["data", "info", "--round", "big"]),
    ));
    commands.push((
        "train start".into(),
        fixed(&["train", "start", "--round", "big", "--hp", "epochs=3"]),
    ));
    commands.push((
        "train status".into(),
        fixed(&["train", "status", "run_000001"]),
    ));
    commands.push(("train logs".into(), fixed(&["train", "logs", "run_000001"])));
    commands.push(("train list".into(), fixed(&["train", "list"])));
    commands.push((
        "train stop".into(),
        Box::new(|i| vec!["train".into(), "stop".into(), format!("run_{:06}", i + 2)]),
    ));
    commands.push((
        "register".into(),
        Box::new(|i| {
            vec![
                "register".into(),
                "--name".into(),
                "bench-model".into(),
                "--version".into(),
                format!("1.0.{i}"),
            ]
        }),
    ));
    commands.push((
        "deploy".into(),
        Box::new(|i| {
            vec![
                "deploy".into(),
                "--model".into(),
                "bench-model".into(),
                "--version".into(),
                format!("1.0.{i}"),
                "--env-file".into(),
                format!("d{i}.env"),
            ]
        }),
    ));
    commands.push((
        "heartbeat".into(),
        fixed(&["heartbeat", "--status", "ready", "--env-file", "deploy.env"]),
    ));
    let link = format!("link-infra --deployment {deployment} --env-file linked.env");
    commands.push((
        "link-infra".into(),
        Box::new(move |_| link.split(' ').map(str::to_owned).collect()),
    ));
    commands.push(("catalog".into(), fixed(&["catalog"])));
    commands.push((
        "init".into(),
        Box::new(|i| {
            vec![
                "init".into(),
                "--template".into(),
                "signal-http".into(),
                format!("t{i}"),
            ]
        }),
    ));

    let mut measured = Vec::new();
    for (name, args) in &commands {
        let mut times: Vec<Duration> = (0..runs)
            .map(|i| {
                let args = args(i);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                vendor.mp(&args).1
            })
            .collect();
        times.sort_unstable();
        measured.push(json!({"command": name, "runs": runs, "median_ms": ms(times[times.len() / 2]), "max_ms": ms(times[times.len() - 1])}));
    }
    let slowest = measured
        .iter()
        .map(|m| m["max_ms"].as_f64().unwrap_or(0.0))
        .fold(0.0, f64::max);

    let mut pulls = Vec::new();
    for n in 0..3 {
        let out = format!("pull{n}");
        let (_, elapsed) = vendor.mp(&[
            "data",
            "pull",
            "--round",
            "big",
            "--file",
            "train.csv",
            "--out",
            &out,
            "--quiet",
        ]);
        #[allow(clippy::cast_precision_loss)]
        let mb = train_bytes as f64 / 1_000_000.0;
        pulls.push(json!({"seconds": (elapsed.as_secs_f64() * 1000.0).round() / 1000.0, "mb_per_s": (mb / elapsed.as_secs_f64() * 10.0).round() / 10.0}));
        std::fs::remove_dir_all(home.join(&out)).ok();
    }

    let _ = stop.send(());
    let _ = runtime.block_on(server);
    println!(
        "{}",
        json!({
            "commands": measured,
            "slowest_max_ms": slowest,
            "pull": {"file": "train.csv", "bytes": train_bytes, "bars_per_symbol": pull_bars, "symbols": 3, "runs": pulls},
        })
    );
}
