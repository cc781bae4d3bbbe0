//! Section 8 of the ML guide, "from zero to the catalog with `mp`", runs as written: each shell
//! block in bash, with `mp` on the PATH and a config folder of its own, against a server this
//! process serves on loopback (which `mp` reaches only by HTTP).

use std::process::Command;

use crate::doc_blocks::{bash, section, sh_blocks};
use crate::support::{Server, Terminal};

#[test]
fn the_mp_walk_through_of_the_ml_guide_runs_as_written() {
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/ml-marketplace.md"
    ))
    .unwrap();
    let blocks = sh_blocks(section(&guide, "ml-mp"));
    assert_eq!(blocks.len(), 6, "{blocks:?}");
    assert!(
        blocks.iter().all(|b| b.expect.is_none()),
        "every block of the walk succeeds"
    );
    let server = Server::start();
    let terminal = Terminal::new();
    let _dev = StopsDevOnDrop(terminal.path("dev.pid"));
    let mp_dir = std::path::Path::new(env!("CARGO_BIN_EXE_mp"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        mp_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let mut outputs = Vec::new();
    for block in &blocks {
        let output = bash(&block.text, port, terminal.home.path())
            .env("PATH", &path)
            .env("XDG_CONFIG_HOME", terminal.home.path().join("config"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("MP_API_URL")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{}\n{stdout}{}",
            block.text,
            String::from_utf8_lossy(&output.stderr)
        );
        outputs.push(stdout);
    }
    let key = std::fs::read_to_string(terminal.path("vendor-key")).unwrap();
    assert!(
        outputs[1].contains("Acme Quant (vendor_000001)"),
        "{}",
        outputs[1]
    );
    assert!(
        outputs[1].contains("pulled   data/train.csv"),
        "{}",
        outputs[1]
    );
    assert!(outputs[2].contains("epoch 10/10"), "{}", outputs[2]);
    assert!(
        outputs[2].trim_end().ends_with("run_000001 succeeded"),
        "{}",
        outputs[2]
    );
    for check in [
        "health",
        "ready",
        "infer",
        "infer-same-answer",
        "infer-bad-input",
        "infer-latency",
    ] {
        assert!(
            outputs[3].contains(&format!("PASS  {check}")),
            "{}",
            outputs[3]
        );
    }
    assert!(
        outputs[4].contains("registered model and version 1.0.0 ver_000001"),
        "{}",
        outputs[4]
    );
    assert!(outputs[4].contains("metrics platform"), "{}", outputs[4]);
    let catalog = &outputs[5];
    let entry = catalog
        .lines()
        .find(|l| l.contains("eurusd-lr"))
        .unwrap_or_else(|| panic!("{catalog}"));
    assert!(
        entry.contains("pilot") && entry.contains("ready"),
        "{entry}"
    );
    let predictions: u64 = entry
        .rsplit("predictions ")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(predictions > 0, "{entry}");
    for output in &outputs {
        assert!(
            !output.contains(key.trim()),
            "the key was printed: {output}"
        );
    }
}

/// A walk that fails half-way leaves no `mp dev` (and its model server) running: the pid the
/// guide keeps in `dev.pid` is stopped when the test ends, however it ends.
struct StopsDevOnDrop(std::path::PathBuf);

impl Drop for StopsDevOnDrop {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}
