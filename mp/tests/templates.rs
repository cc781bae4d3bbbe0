//! The templates: their own Python tests pass on the copy `mp init` writes; the byoc script
//! reproduces the platform's metrics; and a model server from `mp init --from-run`, run by
//! `mp dev` with the env file of `mp link-infra`, passes `mp validate`, beats and writes its
//! signals, so the catalog shows it ready with its predictions counted.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, Terminal, mode};

fn python_tests(dir: &std::path::Path) {
    let output = Command::new("python3")
        .args(["-m", "unittest", "-v"])
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}:\n{report}", dir.display());
    assert!(report.contains("\nOK"), "{report}");
    let ran: usize = report
        .lines()
        .find_map(|line| line.strip_prefix("Ran ")?.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(
        ran >= 3,
        "{}: only {ran} tests ran:\n{report}",
        dir.display()
    );
}

#[test]
fn each_templates_own_tests_pass_on_the_copy_mp_init_writes() {
    let terminal = Terminal::new();
    for template in ["signal-http", "signal-train"] {
        let run = terminal
            .mp(&["init", "--template", template, template, "--json"])
            .ok()
            .json();
        assert!(run["files"].as_array().unwrap().len() >= 3, "{run}");
        assert!(
            run["files"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| !f.as_str().unwrap().contains("__pycache__")),
            "{run}"
        );
        python_tests(&terminal.path(template));
    }
    let again = terminal.mp(&["init", "--template", "signal-http", "signal-http"]);
    assert_eq!(
        again.code, 2,
        "a folder that is not empty is refused: {again:?}"
    );
    let unknown = terminal.mp(&["init", "--template", "nope", "x"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("signal-http, signal-train"),
        "{}",
        unknown.stderr
    );
}

/// A vendor logged in, a round, and a local run trained to the end: its spec is `hyperparams`.
fn trained(server: &Server, terminal: &Terminal, hyperparams: &[&str], seed: &str) -> Value {
    terminal.logged_in(server, "Template Vendor");
    server.round("r1", 400);
    let mut args = vec!["train", "start", "--round", "r1", "--seed", seed];
    for hp in hyperparams {
        args.extend(["--hp", hp]);
    }
    terminal.mp(&args).ok();
    terminal
        .mp(&["train", "logs", "run_000001", "--follow", "--quiet"])
        .ok();
    terminal
        .mp(&["train", "status", "run_000001", "--json"])
        .ok()
        .json()
}

#[test]
fn the_byoc_script_reproduces_the_platforms_metrics() {
    let server = Server::start();
    let terminal = Terminal::new();
    let run = trained(
        &server,
        &terminal,
        &["epochs=7", "batch_size=16", "lr=0.2", "l2=0.001"],
        "3",
    );
    terminal
        .mp(&["data", "pull", "--round", "r1", "--out", "data"])
        .ok();
    terminal
        .mp(&["init", "--template", "signal-train", "train"])
        .ok();
    let output = Command::new("python3")
        .args([
            "train/train.py",
            "--train",
            "data/train.csv",
            "--validation",
            "data/validation.csv",
            "--epochs",
            "7",
            "--batch-size",
            "16",
            "--lr",
            "0.2",
            "--l2",
            "0.001",
            "--seed",
            "3",
            "--out",
            "out",
        ])
        .current_dir(terminal.home.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("mp train report"), "{printed}");
    let ours: Value =
        serde_json::from_str(&std::fs::read_to_string(terminal.path("out/metrics.json")).unwrap())
            .unwrap();
    let platform = &run["metrics"];
    for name in [
        "train_loss",
        "val_loss",
        "val_accuracy",
        "val_sharpe",
        "win_rate",
        "trades",
    ] {
        let (a, b) = (
            ours[name].as_f64().unwrap(),
            platform[name].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 1e-9, "{name}: byoc {a} platform {b}");
    }
}

/// `mp dev DIR` started, with the URL it printed.
struct Dev {
    child: std::process::Child,
    url: String,
}

/// A test that fails before `stop` stops `mp dev` all the same, and with it its server.
impl Drop for Dev {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            let _ = self.child.wait();
        }
    }
}

impl Dev {
    fn start(terminal: &Terminal, dir: &str) -> Dev {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mp"))
            .args(["dev", dir])
            .current_dir(terminal.home.path())
            .env("XDG_CONFIG_HOME", terminal.home.path().join("config"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Only the URL is read, then the pipe is closed, as a script that wants the URL does:
        // `mp dev` must go on (and still stop its server) when nobody reads its output.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "mp dev printed {first:?}"
        );
        Dev { child, url }
    }

    /// SIGTERM to `mp` alone: it stops the server it started.
    fn stop(mut self) {
        Command::new("kill")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "mp dev stopped by its handler");
    }
}

#[test]
fn a_model_server_from_a_run_passes_validate_beats_and_shows_in_the_catalog() {
    let server = Server::start();
    let terminal = Terminal::new();
    let run = trained(&server, &terminal, &["epochs=5"], "11");
    let init = terminal
        .mp(&[
            "init",
            "--template",
            "signal-http",
            "model",
            "--from-run",
            "run_000001",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        init["artifact"]["sha256"], run["artifacts"]["sha256"],
        "{init}"
    );
    let bytes = std::fs::read(terminal.path("model/model.json")).unwrap();
    use sha2::Digest;
    assert_eq!(
        json!(hex::encode(sha2::Sha256::digest(&bytes))),
        run["artifacts"]["sha256"]
    );

    terminal.registered_in_pilot(&server, "eurusd-lr");
    let deployed = terminal
        .mp(&[
            "deploy",
            "--model",
            "eurusd-lr",
            "--version",
            "1.0.0",
            "--env-file",
            "deploy.env",
            "--json",
        ])
        .ok()
        .json();
    let deployment_id = deployed["deployment_id"].as_str().unwrap().to_owned();
    let linked = terminal
        .mp(&[
            "link-infra",
            "--deployment",
            &deployment_id,
            "--env-file",
            "model/mp.env",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(mode(&terminal.path("model/mp.env")), 0o600, "{linked}");

    let dev = Dev::start(&terminal, "model");
    let validated = terminal.mp(&["validate", "--url", &dev.url, "--json"]);
    let report = validated.json();
    assert_eq!(validated.code, 0, "{report}");
    assert_eq!(report["passed"], true);

    // The server beat at start and wrote a signal for each /infer that validate sent.
    let deadline = Instant::now() + Duration::from_secs(20);
    let entry = loop {
        let catalog = terminal.mp(&["catalog", "--json"]).ok().json();
        let entry = catalog["items"][0].clone();
        if (entry["status"] == "ready" && entry["total_predictions"].as_u64().unwrap_or(0) > 0)
            || Instant::now() > deadline
        {
            break entry;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(entry["name"], "eurusd-lr", "{entry}");
    assert_eq!(entry["status"], "ready", "{entry}");
    assert!(entry["total_predictions"].as_u64().unwrap() > 0, "{entry}");

    let url = dev.url.clone();
    dev.stop();
    let gone = reqwest::blocking::Client::new()
        .get(format!("{url}/health"))
        .send();
    assert!(gone.is_err(), "stopping mp dev stopped the model server");
}
