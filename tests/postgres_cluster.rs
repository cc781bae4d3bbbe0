//! A throwaway Postgres cluster for the tests: Debian's server binaries, `initdb` in a
//! temporary folder (as the `postgres` user when the tests run as root, since Postgres refuses
//! to run as root), listening on a free loopback port, one database per test. Installed with
//! `scripts/install-postgres.sh` when the binaries are missing, as the browser tests install
//! Chromium, so that `cargo test --workspace` stays the only command.
//!
//! The server runs under a shell that waits on a pipe from this process: when the test
//! process ends, however it ends, the pipe closes, and the shell stops the server and removes
//! its folder. Shared by the integration tests and the verifier's (`#[path]`).

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The one cluster of this test process.
pub struct Cluster {
    port: u16,
    /// The cluster's own certificate authority, which a client trusts as its root.
    certificate: PathBuf,
    /// The shell that owns the server; its stdin is the pipe whose end stops it.
    _keeper: Mutex<Child>,
    databases: AtomicUsize,
}

/// How long the server may take to accept connections.
const READY: Duration = Duration::from_secs(60);

impl Cluster {
    /// The cluster, started on first use.
    pub fn get() -> &'static Cluster {
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        CLUSTER.get_or_init(Cluster::start)
    }

    /// A URL of a new, empty database of its own.
    pub fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}_{n}", std::process::id());
        let mut admin = self.client("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        self.url(&name)
    }

    /// The authority that signed the certificate the cluster's TLS presents (for 127.0.0.1):
    /// what a client names as `sslrootcert`.
    pub fn certificate(&self) -> &Path {
        &self.certificate
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://marketref@127.0.0.1:{}/{database}", self.port)
    }

    /// A client of `database`, for tests that look at the database itself. Call it from a
    /// thread outside the async runtime (a plain test, or `spawn_blocking`).
    pub fn client(&self, database: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(database), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test cluster: {e}"))
    }

    fn start() -> Cluster {
        // Started from a thread of its own: the blocking client must not run on an async
        // test's runtime thread, and `get` may be called from one.
        std::thread::spawn(Cluster::start_here)
            .join()
            .expect("starting the test cluster")
    }

    fn start_here() -> Cluster {
        let bin = server_binaries();
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("marketref-pg-")
            .tempdir()
            .expect("a folder for the test cluster")
            .keep();
        let data = dir.join("data");
        std::fs::create_dir(&data).unwrap();
        // TLS beside plain connections: a certificate authority of this cluster's own, and
        // the server's certificate for 127.0.0.1 signed by it (webpki takes no CA as a server).
        let certificate = dir.join("ca.crt");
        let key = dir.join("server.key");
        let made = Command::new("sh")
            .arg("-c")
            .arg(
                "set -e
                 openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj /CN=marketref-test-ca \
                     -keyout ca.key -out ca.crt
                 openssl req -new -nodes -newkey rsa:2048 -subj /CN=127.0.0.1 \
                     -keyout server.key -out server.csr
                 printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > server.ext
                 openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                     -days 2 -extfile server.ext -out server.crt",
            )
            .current_dir(&dir)
            .output()
            .expect("running openssl");
        assert!(
            made.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(owned.success(), "chown of the test cluster's folder failed");
        }
        let initdb = as_user(as_postgres, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "marketref",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .output()
            .expect("running initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let port = free_port();
        // A test cluster: nothing here must survive a power cut, so no fsync; enough
        // connections for many servers of a few pooled connections each.
        let server = as_user(as_postgres, &bin.join("postgres"));
        let mut command_line: Vec<String> = std::iter::once(server.get_program())
            .chain(server.get_args())
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        command_line.extend(
            [
                "-D",
                &data.display().to_string(),
                "-p",
                &port.to_string(),
                "-h",
                "127.0.0.1",
                "-k",
                &dir.display().to_string(),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=400",
                "-c",
                "shared_buffers=64MB",
                "-c",
                "ssl=on",
                "-c",
                &format!("ssl_cert_file={}", dir.join("server.crt").display()),
                "-c",
                &format!("ssl_key_file={}", key.display()),
            ]
            .map(str::to_owned),
        );
        let quoted: Vec<String> = command_line.iter().map(|part| shell_quote(part)).collect();
        // The keeper: starts the server, waits for its stdin to close (this process ended),
        // then stops the server at once and removes the folder.
        let script = format!(
            "{} >{log} 2>&1 & pid=$!; cat >/dev/null; kill -QUIT $pid 2>/dev/null; \
             wait $pid 2>/dev/null; rm -rf {dir}",
            quoted.join(" "),
            log = shell_quote(&dir.join("server.log").display().to_string()),
            dir = shell_quote(&dir.display().to_string()),
        );
        let keeper = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the test cluster");
        let cluster = Cluster {
            port,
            certificate,
            _keeper: Mutex::new(keeper),
            databases: AtomicUsize::new(0),
        };
        let started = Instant::now();
        loop {
            match postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls) {
                Ok(_) => break,
                Err(error) if started.elapsed() > READY => {
                    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                    panic!("the test cluster did not start in {READY:?}: {error}\n{log}");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        // The pipe stays open while this process lives: nothing is ever written to it.
        let _ = cluster
            ._keeper
            .lock()
            .unwrap()
            .stdin
            .as_mut()
            .map(|stdin| stdin.flush());
        cluster
    }
}

/// The folder of Debian's Postgres server binaries (the newest version), installed first
/// when missing.
fn server_binaries() -> PathBuf {
    if let Some(found) = find_binaries() {
        return found;
    }
    static INSTALL: OnceLock<()> = OnceLock::new();
    INSTALL.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("scripts/install-postgres.sh"))
            .find(|script| script.exists())
            .expect("scripts/install-postgres.sh");
        let outcome = Command::new("bash").arg(&script).output();
        assert!(
            matches!(&outcome, Ok(output) if output.status.success()),
            "{} did not install Postgres: {outcome:?}",
            script.display()
        );
    });
    find_binaries().expect(
        "no Postgres server binaries under /usr/lib/postgresql after scripts/install-postgres.sh",
    )
}

fn find_binaries() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// `program`, run as the `postgres` user when `as_postgres` (setpriv executes it in place, so
/// the process is the program itself).
fn as_user(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--reset-env",
            ])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
