//! docs/deploying.md runs as written: two instances on one database of the test cluster,
//! HAProxy in front with its health probe, one key through the proxy executed once, and an
//! instance killed under the proxy.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::doc_blocks::{section, sh_blocks};
use crate::postgres_cluster::Cluster;
use crate::support::root;

/// Stops what the guide started, however the test ends: the instances (in the script's
/// process group) and HAProxy (which leaves it as a daemon; its pid file says where it went).
struct Started<'a> {
    group: Option<u32>,
    dir: &'a Path,
}

impl Drop for Started<'_> {
    fn drop(&mut self) {
        if let Some(group) = self.group {
            let _ = Command::new("kill")
                .args(["-9", "--", &format!("-{group}")])
                .status();
        }
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("haproxy.pid")) {
            for pid in pid.split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap()
}

fn install_haproxy_if_missing() {
    let found = Command::new("sh")
        .args(["-c", "command -v haproxy"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        let script = root().join("scripts/install-haproxy.sh");
        let outcome = Command::new("bash").arg(&script).output();
        assert!(
            matches!(&outcome, Ok(output) if output.status.success()),
            "{} did not install HAProxy: {outcome:?}",
            script.display()
        );
    }
}

#[test]
fn the_deploying_guide_runs_as_written() {
    install_haproxy_if_missing();
    let guide = std::fs::read_to_string(root().join("docs/deploying.md")).unwrap();
    let mut script: String = sh_blocks(section(&guide, "deploying"))
        .iter()
        .map(|block| block.text.clone() + "\n")
        .collect();
    // The guide's ports, free ones here (each named nowhere else in the guide's blocks).
    for port in ["3005", "3006", "8080"] {
        script = script.replace(port, &free_port().to_string());
    }
    let dir = tempfile::tempdir().unwrap();
    let url = Cluster::get().database();
    let bin = Path::new(env!("CARGO_BIN_EXE_marketref")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut started = Started {
        group: None,
        dir: dir.path(),
    };
    let child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("DATABASE_URL", &url)
        .env_remove("MARKETREF_TOKEN_PEPPER")
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    started.group = Some(child.id());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let logs: String = ["instance-1.log", "instance-2.log"]
        .iter()
        .map(|log| std::fs::read_to_string(dir.path().join(log)).unwrap_or_default())
        .collect();
    assert!(
        output.status.success(),
        "{script}\n{stdout}\n{}\n{logs}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created = stdout.matches("HTTP/1.1 201").count();
    assert_eq!(created, 2, "{stdout}");
    assert_eq!(
        stdout
            .to_lowercase()
            .matches("idempotent-replayed: true")
            .count(),
        1,
        "{stdout}"
    );
    assert!(stdout.contains(r#""backend":"postgres""#), "{stdout}");
    assert!(stdout.contains(r#""intents":1"#), "{stdout}");
    assert!(stdout.contains("the proxy still answers"), "{stdout}");
}
