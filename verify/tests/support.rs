//! Helpers shared by the test modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (the workspace root above `verify/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("verify/ has a parent")
        .to_path_buf()
}

pub fn milestone(name: &str) -> PathBuf {
    repo_root().join("milestones").join(name)
}

/// What one run of the `verify` binary printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }

    /// Fails, showing what was printed, unless stdout holds `text`.
    #[track_caller]
    pub fn assert_printed(&self, text: &str) {
        assert!(
            self.stdout.contains(text),
            "stdout lacks `{text}`:\n{}\n{}",
            self.stdout,
            self.stderr
        );
    }
}

/// Runs the `verify` binary with `args` from the repository root.
pub fn verify(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_verify"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("the verify binary runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A milestone of one step that reads `/healthz` and expects `ok` at `/ok`, with `extra`
/// top-level lines (like `advisory: [...]`).
pub fn health_milestone(id: &str, extra: &str, ok: &str) -> String {
    format!(
        "milestone: {id}\ntitle: Health only\nclock: \"2026-02-28T20:00:00Z\"\noperations: [system.health]\n{extra}\nscenarios:\n  - name: health\n    steps:\n      - name: health\n        operation: system.health\n        expect:\n          json:\n            - {{at: /ok, equals: {ok}}}\n"
    )
}

/// A copy of the repository's contract files (`schemas/`, `fixtures/`) and milestones in a
/// temporary folder, to edit without touching the real ones.
pub struct RepoCopy {
    pub dir: tempfile::TempDir,
}

impl RepoCopy {
    pub fn new() -> RepoCopy {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for folder in ["schemas", "fixtures", "milestones"] {
            copy_dir(&repo_root().join(folder), &dir.path().join(folder));
        }
        RepoCopy { dir }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).expect("the copied file reads")
    }

    pub fn write(&self, relative: &str, contents: &str) {
        std::fs::write(self.path(relative), contents).expect("the copied file writes");
    }

    /// Replaces exactly one occurrence of `from` in a copied file.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` must occur once in {relative}"
        );
        self.write(relative, &text.replacen(from, to, 1));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("read a folder") {
        let path = entry.expect("a folder entry").path();
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy a file");
        }
    }
}

/// Every file under `dir`, by relative path, with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("read a folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .to_string_lossy()
                    .into_owned();
                files.insert(relative, std::fs::read(&path).expect("read a file"));
            }
        }
    }
    files
}

/// A server on 127.0.0.1:0, served by its own Tokio runtime until dropped.
pub struct Served {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
    runtime: tokio::runtime::Runtime,
}

impl Served {
    pub fn start(
        router_or_runtime: impl FnOnce(
            tokio::net::TcpListener,
            tokio::sync::oneshot::Receiver<()>,
        ) -> tokio::task::JoinHandle<()>,
    ) -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let handle = {
            let _guard = runtime.enter();
            router_or_runtime(listener, stopped)
        };
        Served {
            url,
            shutdown: Some(shutdown),
            handle: Some(handle),
            runtime,
        }
    }
}

impl Served {
    /// Serves `router` until dropped.
    pub fn router(router: axum::Router) -> Served {
        Served::start(|listener, stopped| {
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("the test server stops cleanly");
            })
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = self.runtime.block_on(handle);
        }
    }
}
