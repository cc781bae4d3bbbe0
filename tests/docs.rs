//! The commands the documentation shows work as written: the README's two commands come first,
//! and its walk-through runs against the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub use crate::doc_blocks::{ShBlock, bash, section, sh_blocks};
use crate::support::root;

/// Runs every block against `server` and checks each: exit 0, and the expected reason code for
/// a documented failure. Returns the outputs.
pub fn run_documented(server: &ServedBinary, blocks: &[ShBlock]) -> Vec<String> {
    blocks
        .iter()
        .filter(|block| !block.text.starts_with("cargo "))
        .map(|block| {
            let output = server.run(&block.text);
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            assert!(
                output.status.success(),
                "{}\n{stdout}{}",
                block.text,
                String::from_utf8_lossy(&output.stderr)
            );
            if let Some(code) = &block.expect {
                assert!(
                    stdout.contains(&format!("\"code\":\"{code}\""))
                        || stdout.contains(&format!("\"reason_code\":\"{code}\"")),
                    "expected {code}:\n{stdout}"
                );
            } else {
                assert!(!stdout.contains("\"error\":"), "{}\n{stdout}", block.text);
            }
            stdout
        })
        .collect()
}

/// `marketref serve` on a free loopback port and a temporary database.
pub struct ServedBinary {
    pub child: Child,
    pub port: u16,
    /// Every line the server has logged so far.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub _dir: tempfile::TempDir,
}

/// A test that fails before `terminate` must not leave its server running (it would hold the
/// test's output open).
impl Drop for ServedBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServedBinary {
    pub fn start(extra: &[&str]) -> ServedBinary {
        ServedBinary::start_logging(extra, "info")
    }

    /// A server whose log keeps `filter` (`MARKETREF_LOG`).
    pub fn start_logging(extra: &[&str], filter: &str) -> ServedBinary {
        ServedBinary::start_in(tempfile::tempdir().unwrap(), extra, filter)
    }

    /// SIGKILL, as a crash: nothing is flushed or settled. Then a new server on the same files.
    pub fn kill_and_restart(mut self, extra: &[&str]) -> ServedBinary {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let dir = tempfile::TempDir::new_in(self._dir.path().parent().unwrap()).unwrap();
        // The folder moves into the new server; the old value keeps an empty one to drop.
        let kept = std::mem::replace(&mut self._dir, dir);
        ServedBinary::start_in(kept, extra, "info")
    }

    fn start_in(dir: tempfile::TempDir, extra: &[&str], filter: &str) -> ServedBinary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_marketref"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("marketref.db"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(extra)
            .env("MARKETREF_LOG", filter)
            .env_remove("MARKETREF_TOKEN_PEPPER")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let port = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            log.lock().unwrap().push(line.clone());
            if let Some(rest) = line.split("addr=").nth(1) {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.rsplit(':').next().unwrap().parse().unwrap();
            }
        };
        // Keep draining the log so that the server never blocks on a full pipe.
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        ServedBinary {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    /// Runs a documented shell block against this server. Files a block writes (a saved key,
    /// a download) land in the server's temporary folder.
    pub fn run(&self, block: &str) -> std::process::Output {
        bash(block, self.port, self._dir.path()).output().unwrap()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

#[test]
fn the_readme_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    assert_eq!(blocks[0].text, "cargo run --release -- serve");
    assert_eq!(blocks[1].text, "cargo test --workspace");
}

/// `cargo run` with the README's arguments must pick the server binary by itself: the workspace
/// has two (`marketref`, `verify`), and without `default-run` cargo refuses to choose. The dev
/// profile stands in for `--release`, which changes how it is built, not which binary runs.
#[test]
fn the_readme_server_command_picks_the_server_binary() {
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--", "--version"])
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.starts_with("marketref "),
        "cargo run -- --version: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_readme_walkthrough_runs_as_written_twice() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks = sh_blocks(section(&readme, "walkthrough"));
    assert_eq!(blocks.len(), 5);
    let server = ServedBinary::start(&[]);
    let mut outputs = run_documented(&server, &blocks);
    outputs.extend(run_documented(&server, &blocks));
    let run: serde_json::Value = serde_json::from_str(&outputs[2]).unwrap();
    assert_eq!(run["run"]["stats"]["edges"], 2);
    assert_eq!(run["run"]["selected_proposals_count"], 1);
    let proposals: serde_json::Value = serde_json::from_str(&outputs[3]).unwrap();
    assert_eq!(proposals["proposals"][0]["confidence_score"], 0.8091);
    assert_eq!(proposals["proposals"][0]["value_spread"], 0.0909);
    let optimal: serde_json::Value = serde_json::from_str(&outputs[4]).unwrap();
    assert_eq!(
        optimal["run"]["diagnostics"]["selection"],
        serde_json::json!({"strategy": "optimal", "objective": "score", "value": 0.8091,
            "upper_bound": 0.8091, "gap": 0, "proven_optimal": true,
            "solve_ms": optimal["run"]["diagnostics"]["selection"]["solve_ms"]})
    );
    assert_eq!(
        outputs[7], outputs[2],
        "the second round replays the recorded run"
    );
    assert_eq!(outputs[9], outputs[4], "and the optimal one");
    assert!(server.terminate().success(), "SIGTERM is a clean stop");
}

#[test]
fn the_first_ten_minutes_guide_runs_as_written() {
    let guide = std::fs::read_to_string(root().join("docs/first-ten-minutes.md")).unwrap();
    let whole = sh_blocks(&guide);
    assert_eq!(
        whole[0].text, "cargo run --release -- serve",
        "the guide starts the default server"
    );
    let blocks = sh_blocks(section(&guide, "first-ten-minutes"));
    let expected: Vec<&str> = blocks.iter().filter_map(|b| b.expect.as_deref()).collect();
    assert_eq!(
        expected,
        [
            "no_compatible_offers_found",
            "round_intent_not_open",
            "contract_already_released"
        ]
    );
    let server = ServedBinary::start(&[]);
    let outputs = run_documented(&server, &blocks);
    let contract: serde_json::Value = serde_json::from_str(&outputs[3]).unwrap();
    assert_eq!(contract["contract"]["contract_id"], "contract_000001");
    let released: serde_json::Value = serde_json::from_str(&outputs[5]).unwrap();
    assert_eq!(released["contract"]["state"], "escrow_released");
    let timeline: serde_json::Value = serde_json::from_str(&outputs[6]).unwrap();
    let events: Vec<&str> = timeline["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["contract_created", "bound_to_round", "escrow_released"]
    );
    let recovered = outputs[11].lines().last().unwrap_or_default().to_owned();
    assert!(
        outputs[11].contains("contract_000002"),
        "the recovery matched: {recovered}"
    );
    assert!(server.terminate().success());
}

#[test]
fn the_ml_marketplace_guide_runs_as_written() {
    let guide = std::fs::read_to_string(root().join("docs/ml-marketplace.md")).unwrap();
    assert_eq!(sh_blocks(&guide)[0].text, "cargo run --release -- serve");
    let blocks = sh_blocks(section(&guide, "ml-marketplace"));
    let expected: Vec<&str> = blocks.iter().filter_map(|b| b.expect.as_deref()).collect();
    assert_eq!(
        expected,
        ["attribution_mismatch", "token_inactive", "token_malformed"]
    );
    let server = ServedBinary::start(&[]);
    let outputs = run_documented(&server, &blocks);
    let body = |at: usize| -> serde_json::Value {
        let line = outputs[at].lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {}", outputs[at]))
    };
    assert_eq!(body(0)["data"]["vendor_id"], "vendor_000001");
    assert_eq!(body(1)["data"]["name"], "Acme Quant");
    assert!(outputs[3].contains("train.csv: OK"), "{}", outputs[3]);
    assert!(outputs[3].contains("timestamp,symbol,open,high,low,close,volume"));
    assert_eq!(body(5)["data"]["stage"], "pilot");
    assert_eq!(
        body(6)["data"]["infra_token"].as_str().unwrap()[..4],
        *"sit_"
    );
    assert!(
        outputs[7].contains("ratelimit-remaining: 59"),
        "{}",
        outputs[7]
    );
    assert_eq!(body(8)["data"]["stored"], 1);
    assert_eq!(body(10)["data"]["decision"], "BUY");
    let catalog = body(11);
    let entry = &catalog["data"]["items"][0];
    assert_eq!(
        (&entry["name"], &entry["stage"], &entry["status"]),
        (&"eurusd-momentum".into(), &"pilot".into(), &"ready".into())
    );
    assert_eq!(entry["total_predictions"], 1);
    assert!(
        !outputs[12].contains(
            &std::fs::read_to_string(server._dir.path().join("vendor-key"))
                .unwrap()
                .trim()[14..]
        ),
        "the key listing shows no secret"
    );
    // The walk leaves its keys in files: the scanner finds them.
    let scan = Command::new(env!("CARGO_BIN_EXE_marketref"))
        .args(["secrets", "scan"])
        .arg(server._dir.path().join("vendor-key"))
        .output()
        .unwrap();
    assert_eq!(scan.status.code(), Some(1), "{scan:?}");

    // Managed training, on the same server with the new key.
    let blocks = sh_blocks(section(&guide, "ml-training"));
    let outputs = run_documented(&server, &blocks);
    let created: serde_json::Value = serde_json::from_str(&outputs[0]).unwrap();
    assert_eq!(created["data"]["status"], "queued");
    assert_eq!(created["data"]["spec"]["round_id"], "2026-w49");
    assert!(
        outputs[1].contains("data: epoch 20/20 loss="),
        "{}",
        outputs[1]
    );
    assert!(
        outputs[1]
            .trim_end()
            .ends_with("event: end\ndata: {\"status\":\"succeeded\"}"),
        "{}",
        outputs[1]
    );
    let trained: serde_json::Value = serde_json::from_str(&outputs[2]).unwrap();
    assert!(
        trained["data"]["metrics"]["val_sharpe"].is_number(),
        "{trained}"
    );
    assert!(outputs[3].contains("model.json: OK"), "{}", outputs[3]);
    let version: serde_json::Value = serde_json::from_str(&outputs[4]).unwrap();
    assert_eq!(version["data"]["metrics_source"], "platform");
    assert_eq!(version["data"]["metrics"], trained["data"]["metrics"]);
    assert!(server.terminate().success());
}
