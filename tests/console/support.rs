//! What every browser test uses: the browser and its driver, the served binary, direct calls to
//! the server, and the page as a person works it (fill, click, wait for what it shows).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::docs::ServedBinary;
use crate::support::root;

/// How long one condition may take to show before the test fails.
const WAIT: Duration = Duration::from_secs(20);
/// How often a condition is looked at while waiting for it.
const POLL: Duration = Duration::from_millis(50);
/// The whole of one browser test.
const BUDGET: Duration = Duration::from_secs(300);

/// Flags that work as root on a machine without a network but loopback: no sandbox (root), no
/// GPU, and none of Chromium's own background connections.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
];

/// The actor headers of a role: `x-actor-type`, `x-actor-id`, `x-auth-scopes`.
pub(super) type Actor = (&'static str, &'static str, &'static str);

pub(super) const PROVIDER: Actor = ("agent", "node_alpha", "offers:write marketplace:read");
pub(super) const OWNER: Actor = ("user", "owner_ada", "round_intents:write marketplace:read");
pub(super) const OPERATOR: Actor = (
    "partner",
    "operator_main",
    "marketplace:operate marketplace:read",
);

/// Installs Chromium and chromedriver with the project's own script when they are missing, once
/// per test run, so that `cargo test --workspace` works as written on a fresh machine. When the
/// install cannot happen (no root, no mirror), [`program`] fails the tests with the way to do it.
fn install_browser_if_missing() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let on_path = |name: &str| std::env::split_paths(&path).any(|dir| dir.join(name).is_file());
        if std::env::var_os("MARKETREF_CHROMEDRIVER").is_some()
            || (on_path("chromium") && on_path("chromedriver"))
        {
            return;
        }
        let script = root().join("scripts/install-browser.sh");
        match Command::new("bash").arg(&script).status() {
            Ok(status) if status.success() => {}
            outcome => eprintln!(
                "{} did not install the browser: {outcome:?}",
                script.display()
            ),
        }
    });
}

/// A program from `$env`, else the first of `names` on `PATH`; a missing one fails the test
/// with the way to install it.
pub(super) fn program(env: &str, names: &[&str]) -> PathBuf {
    install_browser_if_missing();
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the console's browser tests need {} and none is on PATH (nor named by ${env}); \
         install Chromium and chromedriver with scripts/install-browser.sh",
        names.join(" or ")
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// chromedriver in a process group of its own, with the browser it starts; dropping it ends
/// that group, so a failing test leaves no browser behind.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    async fn start() -> Driver {
        let binary = program("MARKETREF_CHROMEDRIVER", &["chromedriver"]);
        let port = free_port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let driver = Driver { child, port };
        let status = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(reply) = reqwest::get(&status).await
                && let Ok(body) = reply.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not get ready in {WAIT:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// `marketref serve` that is stopped when the test ends, however it ends.
struct Served(Option<ServedBinary>);

impl Served {
    fn start(args: &[&str]) -> Served {
        Served(Some(ServedBinary::start(args)))
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.as_ref().unwrap().port)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut served) = self.0.take() {
            let _ = served.child.kill();
            let _ = served.child.wait();
        }
    }
}

/// Runs one browser test: a `marketref serve` of its own, the console open on it, and `test`
/// given the page and the server's base URL; the test fails when it outruns [`BUDGET`].
pub(super) async fn in_browser(what: &str, test: impl AsyncFnOnce(&Console, &str)) {
    in_browser_serving(what, &[], test).await;
}

/// [`in_browser`] against `marketref serve` with `args`.
pub(super) async fn in_browser_serving(
    what: &str,
    args: &[&str],
    test: impl AsyncFnOnce(&Console, &str),
) {
    let served = Served::start(args);
    let base = served.base();
    let run = async {
        let page = Console::open(&base).await;
        test(&page, &base).await;
        page.close().await;
    };
    tokio::time::timeout(BUDGET, run)
        .await
        .unwrap_or_else(|_| panic!("{what} outran its time budget"));
}

/// A direct call to the server, for what happens behind the page's back.
pub(super) async fn api(
    base: &str,
    method: &str,
    path: &str,
    actor: Actor,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .header("x-actor-type", actor.0)
        .header("x-actor-id", actor.1)
        .header("x-auth-scopes", actor.2);
    if method != "GET" {
        static KEYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        request = request.header("Idempotency-Key", format!("console-test-{n}"));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let reply = request.send().await.unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap())
}

/// The ML operator's gateway headers (`docs/ml-marketplace.md`).
pub(super) const ML_OPERATOR: Actor = ("partner", "operator_main", "ml:operate ml:read");

/// A direct call with a bearer credential (a vendor key, a deployment token): what a vendor's
/// own tools or its model server do behind the page's back.
pub(super) async fn bearer(
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .header("authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let reply = request.send().await.unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap())
}

/// One browser on the console.
pub(super) struct Console {
    pub(super) client: Client,
    shots: PathBuf,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Console {
    pub(super) async fn open(base: &str) -> Console {
        let chromium = program(
            "MARKETREF_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let driver = Driver::start().await;
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "goog:chromeOptions": {"binary": chromium, "args": args}
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("no browser session from chromedriver: {e}"));
        let shots = root().join("artifacts/console");
        std::fs::create_dir_all(&shots).unwrap();
        let console = Console {
            client,
            shots,
            _driver: driver,
            _profile: profile,
        };
        console.client.goto(&format!("{base}/")).await.unwrap();
        console.wait_text("#dash-updated", "page load").await;
        let contract_error = console
            .js("return document.getElementById('contract-error').hidden ? '' : document.getElementById('contract-error').textContent")
            .await;
        assert_eq!(contract_error, "", "the page reads its contract");
        console
    }

    pub(super) async fn close(self) {
        let Console { client, .. } = self;
        client.close().await.unwrap();
    }

    pub(super) async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// The element, once it is in the page.
    pub(super) async fn el(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            assert!(Instant::now() < deadline, "no element {css} after {WAIT:?}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element shows `needle`; returns its whole text.
    pub(super) async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = String::from("(no such element)");
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if text.contains(needle) {
                    return text;
                }
                last = text;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {css} to show {needle:?}; it shows {last:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Fails the test unless `css` shows no text; `why` says what it would wrongly show.
    pub(super) async fn shows_nothing(&self, css: &str, why: &str) {
        let text = self.text(css).await;
        assert!(text.is_empty(), "{css} shows {text:?}: {why}");
    }

    /// Waits until a script returns true.
    pub(super) async fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.client.execute(script, vec![]).await.ok() == Some(Value::Bool(true)) {
                return;
            }
            assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// One element operation, done again when the page re-rendered the element in between
    /// (it refreshes its lists and the open contract after every action).
    async fn on<T, F, Fut>(&self, css: &str, what: &str, operation: F) -> T
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            let error = match self.client.find(Locator::Css(css)).await {
                Ok(element) => match operation(element).await {
                    Ok(value) => return value,
                    Err(error) => error.to_string(),
                },
                Err(error) => error.to_string(),
            };
            assert!(
                Instant::now() < deadline,
                "could not {what} {css} in {WAIT:?}: {error}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    pub(super) async fn text(&self, css: &str) -> String {
        self.on(css, "read", |e| async move { e.text().await })
            .await
    }

    pub(super) async fn fill(&self, css: &str, value: &str) {
        let element = self.el(css).await;
        element.clear().await.unwrap();
        if !value.is_empty() {
            element.send_keys(value).await.unwrap();
        }
    }

    pub(super) async fn click(&self, css: &str) {
        self.on(css, "click", |e| async move { e.click().await })
            .await;
    }

    pub(super) async fn choose(&self, css: &str, value: &str) {
        self.el(css).await.select_by_value(value).await.unwrap();
    }

    pub(super) async fn disabled(&self, css: &str) -> bool {
        self.on(css, "read", |e| async move { e.attr("disabled").await })
            .await
            .is_some()
    }

    /// Acts as one of the three roles, through the page's selector.
    pub(super) async fn act_as(&self, role: &str, actor_type: &str) {
        self.choose("#actor-role", role).await;
        self.wait_text("#actor-summary", &format!("x-actor-type: {actor_type}"))
            .await;
    }

    /// Waits for the dashboard refresh that follows the action named `operation_id`.
    pub(super) async fn refreshed_after(&self, operation_id: &str) {
        self.wait_text("#dash-updated", &format!("after {operation_id}"))
            .await;
    }

    /// Opens the ML model marketplace's tab and waits for its first refresh.
    pub(super) async fn open_ml(&self) {
        self.click("#tab-ml").await;
        self.refreshed_ml_after("the ML section").await;
    }

    /// Waits for the ML section's refresh that follows `what`.
    pub(super) async fn refreshed_ml_after(&self, what: &str) {
        self.wait_text("#ml-updated", &format!("after {what}"))
            .await;
    }

    /// A screenshot for the guide: `css` scrolled to the top of the window, saved with the
    /// others under `artifacts/console/`, and under `docs/console/` as well when
    /// `MARKETREF_WRITE_SCREENSHOTS=1` (the committed ones come from such a run).
    pub(super) async fn doc_shot(&self, name: &str, css: &str) {
        let script = format!(
            "document.querySelector({}).scrollIntoView({{block: 'start'}}); return true;",
            Value::String(css.to_owned())
        );
        self.js(&script).await;
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), &png).unwrap();
        if std::env::var_os("MARKETREF_WRITE_SCREENSHOTS").is_some_and(|v| v == "1") {
            std::fs::write(root().join(format!("docs/console/{name}.png")), &png).unwrap();
        }
    }

    /// Scrolls `css` into the window (to its top for a whole step, else to its middle) and
    /// saves what the window shows.
    pub(super) async fn shot(&self, name: &str, css: &str) {
        let block = if css.starts_with("#step-")
            || css.ends_with("-result")
            || css.ends_with("-detail")
            || css == "#no-match"
        {
            "start"
        } else {
            "center"
        };
        let script = format!(
            "document.querySelector({}).scrollIntoView({{block: '{block}'}}); return true;",
            Value::String(css.to_owned())
        );
        self.js(&script).await;
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }
}
