//! The commands the documentation shows work as written: the README's two commands come first,
//! and its walk-through runs against the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::root;

/// The fenced `sh` blocks of a markdown text, in order.
pub fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(block.trim_end().to_owned());
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// The part of `markdown` between `<!-- {name}:start -->` and `<!-- {name}:end -->`.
pub fn section<'a>(markdown: &'a str, name: &str) -> &'a str {
    let start = markdown
        .find(&format!("<!-- {name}:start -->"))
        .expect("start marker");
    let end = markdown
        .find(&format!("<!-- {name}:end -->"))
        .expect("end marker");
    &markdown[start..end]
}

/// `marketref serve` on a free loopback port and a temporary database.
pub struct ServedBinary {
    pub child: Child,
    pub port: u16,
    pub _dir: tempfile::TempDir,
}

impl ServedBinary {
    pub fn start(extra: &[&str]) -> ServedBinary {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_marketref"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("marketref.db"))
            .args(extra)
            .env("MARKETREF_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(rest) = line.split("addr=").nth(1) {
                let addr = rest.split_whitespace().next().unwrap();
                break addr.rsplit(':').next().unwrap().parse().unwrap();
            }
        };
        // Keep draining the log so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ServedBinary {
            child,
            port,
            _dir: dir,
        }
    }

    /// Runs a documented shell block against this server.
    pub fn run(&self, block: &str) -> std::process::Output {
        let script = block.replace("localhost:3005", &format!("127.0.0.1:{}", self.port));
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .output()
            .unwrap()
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
    assert_eq!(blocks[0], "cargo run --release -- serve");
    assert_eq!(blocks[1], "cargo test --workspace");
}

#[test]
fn the_readme_walkthrough_runs_as_written_twice() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let blocks = sh_blocks(section(&readme, "walkthrough"));
    assert_eq!(blocks.len(), 4);
    let server = ServedBinary::start(&[]);
    let mut outputs = Vec::new();
    for round in 0..2 {
        for block in &blocks {
            let output = server.run(block);
            assert!(
                output.status.success(),
                "round {round}: {block}\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            outputs.push(String::from_utf8(output.stdout).unwrap());
        }
    }
    let run: serde_json::Value = serde_json::from_str(&outputs[2]).unwrap();
    assert_eq!(run["run"]["stats"]["edges"], 2);
    assert_eq!(run["run"]["selected_proposals_count"], 1);
    let proposals: serde_json::Value = serde_json::from_str(&outputs[3]).unwrap();
    assert_eq!(proposals["proposals"][0]["confidence_score"], 0.8091);
    assert_eq!(proposals["proposals"][0]["value_spread"], 0.0909);
    assert_eq!(
        outputs[6], outputs[2],
        "the second round replays the recorded run"
    );
    assert!(server.terminate().success(), "SIGTERM is a clean stop");
}
