//! The web console, in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver) by fantoccini, against the real `marketref serve` binary. The journey walks
//! the six steps of the loop and its failure views the way a person would, asserts on what the
//! page shows, and saves a screenshot of each step under `artifacts/console/`.
//!
//! A machine without Chromium or chromedriver gets them from `scripts/install-browser.sh`, which
//! the tests run themselves (and `.ci/run` before them); where that cannot install them, the
//! tests fail, they do not skip.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::docs::ServedBinary;
use crate::support::{TestServer, root};

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
type Actor = (&'static str, &'static str, &'static str);

const PROVIDER: Actor = ("agent", "node_alpha", "offers:write marketplace:read");
const OWNER: Actor = ("user", "owner_ada", "round_intents:write marketplace:read");
const OPERATOR: Actor = (
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
fn program(env: &str, names: &[&str]) -> PathBuf {
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
    fn start() -> Served {
        Served(Some(ServedBinary::start(&[])))
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

/// A direct call to the server, for what happens behind the page's back.
async fn api(
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

/// One browser on the console.
struct Console {
    client: Client,
    shots: PathBuf,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Console {
    async fn open(base: &str) -> Console {
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

    async fn close(self) {
        let Console { client, .. } = self;
        client.close().await.unwrap();
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// The element, once it is in the page.
    async fn el(&self, css: &str) -> Element {
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
    async fn wait_text(&self, css: &str, needle: &str) -> String {
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

    /// Waits until a script returns true.
    async fn wait_until(&self, what: &str, script: &str) {
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

    async fn text(&self, css: &str) -> String {
        self.on(css, "read", |e| async move { e.text().await })
            .await
    }

    async fn fill(&self, css: &str, value: &str) {
        let element = self.el(css).await;
        element.clear().await.unwrap();
        if !value.is_empty() {
            element.send_keys(value).await.unwrap();
        }
    }

    async fn click(&self, css: &str) {
        self.on(css, "click", |e| async move { e.click().await })
            .await;
    }

    async fn choose(&self, css: &str, value: &str) {
        self.el(css).await.select_by_value(value).await.unwrap();
    }

    async fn disabled(&self, css: &str) -> bool {
        self.on(css, "read", |e| async move { e.attr("disabled").await })
            .await
            .is_some()
    }

    /// Acts as one of the three roles, through the page's selector.
    async fn act_as(&self, role: &str, actor_type: &str) {
        self.choose("#actor-role", role).await;
        self.wait_text("#actor-summary", &format!("x-actor-type: {actor_type}"))
            .await;
    }

    /// Waits for the dashboard refresh that follows the action named `operation_id`.
    async fn refreshed_after(&self, operation_id: &str) {
        self.wait_text("#dash-updated", &format!("after {operation_id}"))
            .await;
    }

    /// Scrolls `css` into the window (to its top for a whole step, else to its middle) and
    /// saves what the window shows.
    async fn shot(&self, name: &str, css: &str) {
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

#[test]
#[should_panic(expected = "install Chromium and chromedriver with scripts/install-browser.sh")]
fn a_missing_browser_fails_the_browser_tests() {
    program(
        "MARKETREF_TEST_NO_SUCH_VARIABLE",
        &["no-such-browser-anywhere"],
    );
}

#[tokio::test]
async fn the_console_is_served_at_the_root_without_auth() {
    let server = TestServer::start().await;
    let reply = reqwest::get(format!("{}/", server.base)).await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers()["content-type"],
        "text/html; charset=utf-8",
        "the manifest's response_media_type"
    );
    let page = reply.text().await.unwrap();
    assert!(page.starts_with("<!doctype html>"));
    let contract = page
        .split(r#"<script type="application/json" id="marketref-contract">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the contract document is in the page");
    let contract: Value = serde_json::from_str(contract).unwrap();
    assert_eq!(
        contract["schemas"]["OfferCreateRequest"],
        marketref::contracts::schemas::named("OfferCreateRequest").unwrap(),
        "the page validates with the runtime's own schema"
    );
    assert_eq!(
        contract["operations"]["escrow.release"]["path"],
        "/marketplace/escrow/release"
    );
    server.stop().await;
}

/// The six steps of the loop, the forbidden action, and the failure views: a rule broken in
/// the page, a rule only the server checks, no match, a lost status race, a second release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_in_a_browser() {
    let served = Served::start();
    let base = served.base();
    tokio::time::timeout(BUDGET, journey(&base))
        .await
        .expect("the browser journey outran its time budget");
}

async fn journey(base: &str) {
    let page = Console::open(base).await;

    // Step 1, first a value the page refuses itself: nothing is sent.
    page.act_as("provider", "agent").await;
    page.fill("#offer-dataset_fingerprint", "sha256:9f86d081884c7d65")
        .await;
    page.fill("#offer-title", "Clinic vitals").await;
    page.choose("#offer-modality", "tabular").await;
    page.fill("#offer-sample_count", "1200").await;
    page.fill("#offer-quality_score", "1.5").await;
    page.fill("#offer-allowed_tasks", "classification").await;
    page.fill("#offer-price_per_round", "12.5000001").await;
    let at_field = page
        .wait_text("#offer-quality_score-error", "Must be at most 1.")
        .await;
    assert!(
        at_field.contains("maximum") && at_field.contains("invalid_quality_score"),
        "{at_field}"
    );
    page.click("#offer-submit").await;
    page.wait_text("#offer-summary", "nothing was sent").await;
    let (_, offers) = api(base, "GET", "/marketplace/offers", PROVIDER, None).await;
    assert_eq!(offers["offers"], json!([]), "the page sent nothing");
    page.shot("01-offer-checked-in-the-page", "#offer-quality_score")
        .await;

    // A rule only the server checks (at most 6 decimals): its 400 is shown at its field.
    page.fill("#offer-quality_score", "0.92").await;
    page.wait_until(
        "the quality error to clear",
        "return document.getElementById('offer-quality_score-error').textContent === ''",
    )
    .await;
    page.click("#offer-submit").await;
    let at_price = page
        .wait_text("#offer-price_per_round-error", "Server answered 400")
        .await;
    assert!(
        at_price.contains("max_6_decimals") && at_price.contains("invalid_price_per_round"),
        "{at_price}"
    );
    page.wait_text("#offer-result", "refused at price_per_round")
        .await;
    page.shot("02-offer-refused-by-the-server", "#offer-price_per_round")
        .await;

    page.fill("#offer-price_per_round", "12.5").await;
    page.click("#offer-submit").await;
    page.wait_text("#offer-result", "offer_000001").await;
    page.refreshed_after("dataOffers.create").await;
    page.wait_text("#offers-list", "Clinic vitals").await;
    page.wait_text("[data-metric=offers_total]", "1").await;
    page.shot("03-step1-offer-created", "#offer-result").await;

    // The provider may not post an intent: the server's 403 is shown.
    page.click("#intent-example").await;
    page.wait_text("#step-intent .needs", "the server will answer 403")
        .await;
    page.click("#intent-submit").await;
    let refused = page.wait_text("#intent-result", "403").await;
    assert!(refused.contains("auth_scope_missing"), "{refused}");
    page.shot("04-forbidden-for-the-provider", "#intent-result")
        .await;

    // Step 2: the model owner posts the intent.
    page.act_as("owner", "user").await;
    assert_eq!(
        page.el("#intent-model_owner_id")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("owner_ada")
    );
    page.click("#intent-submit").await;
    page.wait_text("#intent-result", "intent_000001").await;
    page.wait_text("#intents-list", "intent_000001").await;
    page.shot("05-step2-intent-posted", "#intent-result").await;

    // Step 3: the operator previews; each offer's score breakdown is drawn.
    page.act_as("operator", "partner").await;
    page.click("#preview-submit").await;
    page.wait_text("#preview-result", "A match would select 1 offer")
        .await;
    let selected = page.text("#preview-selected").await;
    for part in [
        "quality", "0.46", "cost", "0.022222", "trust", "0.1", "total", "0.582222",
    ] {
        assert!(selected.contains(part), "{part} in {selected}");
    }
    page.shot("06-step3-preview", "#preview-result").await;

    // A preview under a smaller budget shows the budget rejection, and changes nothing.
    page.fill("#preview-policy_overrides-budget_total", "10")
        .await;
    page.click("#preview-submit").await;
    page.wait_text("#preview-result", "would select 0 offers")
        .await;
    assert_eq!(
        page.text("#preview-result [data-count=budget_rejected]")
            .await,
        "1"
    );
    page.fill("#preview-policy_overrides-budget_total", "")
        .await;

    // A match that cannot select anything: why, per reason, in words and counts.
    page.act_as("owner", "user").await;
    page.fill("#intent-budget_total", "5").await;
    page.fill("#intent-round_id", "small-budget").await;
    page.click("#intent-submit").await;
    page.wait_text("#intent-result", "intent_000002").await;
    page.act_as("operator", "partner").await;
    page.click("#match-submit").await;
    let no_match = page
        .wait_text("#no-match", "no_compatible_offers_found")
        .await;
    assert!(
        no_match.contains("no offer matched intent_000002")
            && no_match.contains(
                "1 compatible offer was skipped because its price would have pushed the total over the intent's budget"
            ),
        "{no_match}"
    );
    assert_eq!(
        page.text("#no-match [data-count=budget_rejected]").await,
        "1"
    );
    assert_eq!(
        page.text("#no-match [data-count=offers_evaluated]").await,
        "1"
    );
    page.wait_text("[data-metric=match_failures]", "1").await;
    page.shot("07-no-match-diagnostics", "#no-match").await;

    // Step 4: the match.
    page.fill("#match-round_intent_id", "intent_000001").await;
    page.click("#match-submit").await;
    page.wait_text("#match-result", "contract_000001").await;
    page.wait_text("#contracts-list", "contract_000001").await;
    page.shot("08-step4-contract-created", "#match-result")
        .await;

    // The status controls offer what the table allows; a move that lost a race shows the 409.
    page.act_as("owner", "user").await;
    page.el("#intent-intent_000002-to-closed").await;
    let (status, _) = api(
        base,
        "PATCH",
        "/marketplace/round_intents/intent_000002",
        OWNER,
        Some(json!({"status": "cancelled"})),
    )
    .await;
    assert_eq!(status, 200, "cancelled behind the page's back");
    page.click("#intent-intent_000002-to-closed").await;
    let lost = page
        .wait_text("#intent-intent_000002-error", "invalid_status_transition")
        .await;
    assert!(lost.contains("409"), "{lost}");
    page.wait_text(
        "#intent-row-intent_000002",
        "the status table allows no move",
    )
    .await;
    assert!(
        page.disabled("#intent-intent_000001-to-closed").await,
        "a matched intent closes only after its release"
    );
    page.shot("09-intent-status-race-lost", "#intents-list")
        .await;

    // The contract page before any round: release disabled, with the server's reason.
    page.act_as("operator", "partner").await;
    page.click("#open-contract_000001").await;
    page.wait_text("#contract-detail", "contract_000001").await;
    assert!(page.disabled("#release-button").await);
    page.wait_text("#release-reason", "contract_round_not_completed")
        .await;
    page.shot("10-contract-waiting-for-a-round", "#contract-detail")
        .await;

    // Step 5: a training round binds the contract; accuracy and loss, and the chart.
    page.click("#round-submit").await;
    page.wait_text("#round-result", "round_000001").await;
    page.wait_text("#round-bound", "contract_000001").await;
    let accuracy = page.text("#round-accuracy").await;
    assert!(accuracy.parse::<f64>().is_ok(), "{accuracy}");
    page.wait_text("#accuracy-values", &format!("round 1: accuracy {accuracy}"))
        .await;
    page.wait_until(
        "the release button to be enabled",
        "const b = document.getElementById('release-button'); return !!b && !b.disabled",
    )
    .await;
    page.shot("11-step5-training-round", "#round-result").await;

    // Step 6: release asks first; Escape says no, and nothing is released.
    page.click("#release-button").await;
    page.wait_until(
        "the confirmation dialog",
        "return document.getElementById('release-dialog').open",
    )
    .await;
    page.wait_text("#release-dialog-text", "12.5 USD").await;
    page.shot("12-release-asks-first", "#step-contracts").await;
    page.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Escape.to_string())
        .await
        .unwrap();
    page.wait_until(
        "the dialog to close",
        "return !document.getElementById('release-dialog').open",
    )
    .await;
    let (_, contract) = api(
        base,
        "GET",
        "/marketplace/contracts/contract_000001",
        OPERATOR,
        None,
    )
    .await;
    assert_eq!(contract["contract"]["state"], "bound_to_round");

    page.click("#release-button").await;
    page.wait_until(
        "the confirmation dialog",
        "return document.getElementById('release-dialog').open",
    )
    .await;
    page.click("#release-confirm").await;
    page.wait_text("#contract-title", "escrow_released").await;
    let events = page
        .js("return Array.from(document.querySelectorAll('#contract-timeline li')).map(li => li.dataset.event)")
        .await;
    assert_eq!(
        events,
        json!(["contract_created", "bound_to_round", "escrow_released"])
    );
    assert!(page.disabled("#release-button").await);
    page.wait_text("#release-reason", "contract_already_released")
        .await;
    page.wait_text("#dash-pending-count", "0").await;
    page.wait_text("[data-metric=released_payout_total]", "12.5 USD")
        .await;
    page.wait_text("#dash-operations", "escrow.release").await;
    assert!(
        !page.disabled("#intent-intent_000001-to-closed").await,
        "the released contract lets its intent close"
    );
    page.shot("13-step6-escrow-released", "#contract-detail")
        .await;

    // A second release is refused by the server: a contract released by someone else while
    // this page still offered the button.
    let (status, _) = api(
        base,
        "POST",
        "/marketplace/round_intents",
        OWNER,
        Some(json!({"model_owner_id": "owner_ada", "task_type": "classification", "budget_total": 40})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = api(
        base,
        "POST",
        "/marketplace/match",
        OPERATOR,
        Some(json!({"round_intent_id": "intent_000003"})),
    )
    .await;
    assert_eq!(status, 201, "contract_000002");
    page.click("#round-submit").await;
    page.wait_text("#round-result", "round_000002").await;
    page.wait_text("#accuracy-values", "round 2: accuracy")
        .await;
    page.click("#open-contract_000002").await;
    page.wait_text("#contract-title", "contract_000002").await;
    page.wait_until(
        "the release button to be enabled",
        "const b = document.getElementById('release-button'); return !!b && !b.disabled",
    )
    .await;
    let (status, _) = api(
        base,
        "POST",
        "/marketplace/escrow/release",
        OPERATOR,
        Some(json!({"contract_id": "contract_000002"})),
    )
    .await;
    assert_eq!(status, 200, "released behind the page's back");
    page.click("#release-button").await;
    page.wait_until(
        "the confirmation dialog",
        "return document.getElementById('release-dialog').open",
    )
    .await;
    page.click("#release-confirm").await;
    let refused = page
        .wait_text("#release-error", "contract_already_released")
        .await;
    assert!(refused.contains("409"), "{refused}");
    page.wait_text("#release-reason", "contract_already_released")
        .await;
    page.wait_text("#dash-operations", "contract_already_released")
        .await;
    page.shot("14-second-release-refused", "#release-error")
        .await;
    page.shot("15-dashboard", "#dashboard").await;

    // A phone's width: nothing wider than the screen.
    page.client.set_window_size(375, 812).await.unwrap();
    page.wait_until("a phone-wide window", "return window.innerWidth <= 400")
        .await;
    let overflow = page
        .js("return document.documentElement.scrollWidth - window.innerWidth")
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page is {overflow} px wider than a phone"
    );
    page.shot("16-phone-width", "#step-offer").await;

    page.close().await;
}

/// Every input has a label and every control is reachable from the keyboard; and the page's
/// own checks give, for a table of broken bodies, the field, rule and reason the server gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_checks_fields_as_the_server_does() {
    let served = Served::start();
    let base = served.base();
    tokio::time::timeout(BUDGET, same_rules(&base))
        .await
        .expect("the browser check outran its time budget");
}

async fn same_rules(base: &str) {
    let page = Console::open(base).await;

    let unlabelled = page
        .js("return Array.from(document.querySelectorAll('input, select, textarea')).filter(e => e.labels.length === 0).map(e => e.id)")
        .await;
    assert_eq!(unlabelled, json!([]), "inputs without a label");
    let unreachable = page
        .js("return Array.from(document.querySelectorAll('a[href], button, input, select, textarea, summary')).filter(e => e.tabIndex < 0).map(e => e.id || e.outerHTML.slice(0, 60))")
        .await;
    assert_eq!(unreachable, json!([]), "controls the keyboard cannot reach");

    // The keyboard alone: Tab from the fingerprint reaches the next field, Enter submits.
    page.click("#offer-dataset_fingerprint").await;
    page.el("#offer-dataset_fingerprint")
        .await
        .send_keys(&Key::Tab.to_string())
        .await
        .unwrap();
    let focused = page.js("return document.activeElement.id").await;
    assert_eq!(focused, "offer-title");
    page.el("#offer-title")
        .await
        .send_keys(&format!("x{}", Key::Enter))
        .await
        .unwrap();
    page.wait_text("#offer-summary", "nothing was sent").await;

    let cases: Vec<(&str, &str, Actor, Value)> = vec![
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            json!({}),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"quality_score": 1.5})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"quality_score": "0.9"})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"price_per_round": -1})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"sample_count": 1.5})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"min_rounds": 0})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"modality": "video"})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"title": ""})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"title": "t".repeat(121)})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"dataset_fingerprint": "sha256:xyz"})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"allowed_tasks": ["a", "a"]})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"allowed_tasks": [""]})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"expires_at": "tomorrow"})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"expires_at": -5})),
        ),
        (
            "dataOffers.create",
            "/marketplace/offers",
            PROVIDER,
            offer(json!({"attestation_status": "gold", "colour": "red"})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"budget_total": 0})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"min_quality_score": 2})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"required_modalities": ["tabular", "tabular"]})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"required_modalities": ["video"]})),
        ),
        (
            "roundIntents.create",
            "/marketplace/round_intents",
            OWNER,
            intent(json!({"deadline_ts": "2030-02-30T00:00:00Z", "task_type": ""})),
        ),
        (
            "dataMarketplace.preview",
            "/marketplace/policy/preview",
            OPERATOR,
            json!({"round_intent_id": "intent_000001", "max_offers": 26}),
        ),
        (
            "dataMarketplace.preview",
            "/marketplace/policy/preview",
            OPERATOR,
            json!({"round_intent_id": "intent_000001", "policy_overrides": {"budget_total": 0}}),
        ),
        (
            "dataMarketplace.match",
            "/marketplace/match",
            OPERATOR,
            json!({"round_intent_id": "", "max_offers": 0}),
        ),
    ];
    for (operation_id, path, actor, body) in cases {
        let script = format!(
            "const e = window.marketrefConsole.validate({}, {})[0]; return e ? [e.field, e.rule, e.reason_code] : null;",
            Value::String(operation_id.to_owned()),
            body
        );
        let in_page = page.js(&script).await;
        let (status, answer) = api(base, "POST", path, actor, Some(body.clone())).await;
        assert_eq!(status, 400, "{operation_id} {body}: {answer}");
        let details = &answer["error"]["details"];
        assert_eq!(
            in_page,
            json!([details["field"], details["rule"], details["reason_code"]]),
            "{operation_id} {body}: the page and the server disagree"
        );
    }
    let valid = page
        .js(&format!(
            "return window.marketrefConsole.validate('dataOffers.create', {}).length",
            offer(json!({}))
        ))
        .await;
    assert_eq!(valid, 0, "a valid offer passes the page's checks");

    page.close().await;
}

fn offer(changes: Value) -> Value {
    let mut body = json!({"seller_node_id": "node_alpha", "dataset_fingerprint": "sha256:9f86d081884c7d65",
        "modality": "tabular", "quality_score": 0.9, "price_per_round": 1});
    for (key, value) in changes.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn intent(changes: Value) -> Value {
    let mut body =
        json!({"model_owner_id": "owner_ada", "task_type": "classification", "budget_total": 10});
    for (key, value) in changes.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}
