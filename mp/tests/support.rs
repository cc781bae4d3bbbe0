//! A marketref server for `mp` to talk to, in this test process on a runtime of its own (so
//! `mp`, run as the binary, reaches it only by HTTP and never sees its store), and `mp` run
//! with a config folder of its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use marketref::clock::SystemClock;
use marketref::http::{AppState, RuntimeConfig, RuntimeOptions};
use marketref::store::SqliteStore;
use serde_json::{Value, json};

pub struct Server {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), marketref::Error>>>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A server on a fresh store in dev mode, on the wall clock (heartbeats carry this
    /// machine's time), with one training worker.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("marketref.db")).unwrap());
        let state = AppState::new(RuntimeConfig {
            store,
            clock: Arc::new(SystemClock),
            dev: true,
            options: RuntimeOptions {
                data_dir: Some(dir.path().to_path_buf()),
                ..RuntimeOptions::default()
            },
        })
        .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(marketref::http::run(listener, state, async {
            let _ = stopped.await;
        }));
        Server {
            url,
            shutdown: Some(shutdown),
            task: Some(task),
            runtime,
            _dir: dir,
        }
    }

    /// A call as the operator (the gateway's identity headers), its `data`.
    pub fn operator(&self, method: &str, path: &str, body: &Value) -> Value {
        let client = reqwest::blocking::Client::new();
        let request = client
            .request(method.parse().unwrap(), format!("{}{path}", self.url))
            .header("x-actor-type", "partner")
            .header("x-actor-id", "operator")
            .header("x-auth-scopes", "ml:operate ml:read")
            .header("content-type", "application/json")
            .body(body.to_string());
        let response = request.send().unwrap();
        let status = response.status();
        let body: Value = response.json().unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body["data"].clone()
    }

    /// A new vendor's key.
    pub fn vendor(&self, name: &str) -> String {
        let created = self.operator("POST", "/api/vendors", &json!({ "name": name }));
        created["api_key"].as_str().unwrap().to_owned()
    }

    /// The round `round_id` generated from a seed (`bars` of EURUSD and GBPUSD, hourly).
    pub fn round(&self, round_id: &str, bars: u32) -> Value {
        self.operator(
            "POST",
            "/api/rounds",
            &json!({"round_id": round_id, "name": round_id,
                    "generate": {"bars": bars, "seed": 3, "symbols": ["EURUSD", "GBPUSD"], "timeframe": "1h"}}),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = self.runtime.block_on(task);
        }
    }
}

/// What `mp` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as the one JSON document `--json` promises.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A vendor's terminal: a config folder of its own, and the working folder `mp` runs in.
pub struct Terminal {
    pub home: tempfile::TempDir,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join("config/mp")
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.home.path().join(relative)
    }

    /// `mp ARGS` with this terminal's config and working folder, and nothing of the test
    /// process's own MP_* settings.
    pub fn mp(&self, args: &[&str]) -> Run {
        self.mp_with(args, &[], None)
    }

    pub fn mp_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mp"));
        command
            .args(args)
            .current_dir(self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("HOME", self.home.path())
            .env_remove("MP_API_URL")
            .env_remove("MP_DEPLOYMENT_TOKEN")
            .env_remove("MP_DEPLOYMENT_ID")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        } else {
            drop(child.stdin.take());
        }
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `mp register --name NAME --version 1.0.0 --run run_000001`, and the version promoted to
    /// `pilot` by the operator; what `register --json` printed.
    pub fn registered_in_pilot(&self, server: &Server, name: &str) -> Value {
        let registered = self
            .mp(&[
                "register",
                "--name",
                name,
                "--version",
                "1.0.0",
                "--run",
                "run_000001",
                "--json",
            ])
            .ok()
            .json();
        let (model_id, version_id) = (
            &registered["model_id"],
            &registered["version"]["version_id"],
        );
        server.operator(
            "POST",
            &format!(
                "/api/models/{}/versions/{}/stage",
                model_id.as_str().unwrap(),
                version_id.as_str().unwrap()
            ),
            &json!({"stage": "pilot"}),
        );
        registered
    }

    /// Logged in to `server` with a new vendor's key; the key.
    pub fn logged_in(&self, server: &Server, vendor: &str) -> String {
        let key = server.vendor(vendor);
        self.mp(&["login", "--api-url", &server.url, "--key", &key])
            .ok();
        key
    }
}

/// The permission bits of a file or folder.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A stand-in server (a broken model server, a fake API) on loopback, served by a runtime of its
/// own until dropped.
pub struct Fake {
    pub url: String,
    _runtime: tokio::runtime::Runtime,
}

impl Fake {
    pub fn serve(router: axum::Router) -> Fake {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, router).await });
        Fake {
            url,
            _runtime: runtime,
        }
    }
}
