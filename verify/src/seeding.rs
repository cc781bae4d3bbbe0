//! How a run reaches the state its scenarios start from.
//!
//! A seed may offer two paths to one state: the dev routes (`POST /dev/reset`, then each fixture
//! through `POST /dev/fixtures`) and the public operations (`seed: api:`). By default the
//! verifier takes the dev routes when the seed has them and the server offers them: the first
//! dev request tells, and when it is refused the API seed is used instead and the report says
//! why. `--seed dev` and `--seed api` choose a path. When no path is possible, or a loading
//! request fails, the run stops at the seed with one message naming the step and its
//! operation: every later step would run on the wrong state.
//!
//! The order is: the reset (before the gates' probes, so that they too see the empty store),
//! the scenarios that run `before_seed`, the loading, then the seed's own `steps`.

use marketref::headers::IDEMPOTENT_REPLAYED;
use serde::Serialize;

use crate::exchange::{Exchange, Phase};
use crate::milestone::{SEED_SCENARIO, Scenario, Seed, Step};
use crate::rules::Rule;
use crate::session::Session;

/// The path a run is told to take (`--seed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SeedChoice {
    /// The dev routes when the seed has them and the server offers them, else the API seed.
    #[default]
    Auto,
    /// The dev routes, or stop.
    Dev,
    /// The API seed, or stop.
    Api,
}

/// The path a seed took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeedPath {
    DevRoutes,
    Api,
}

impl SeedPath {
    pub fn words(self) -> &'static str {
        match self {
            SeedPath::DevRoutes => "through the dev routes",
            SeedPath::Api => "through the API",
        }
    }
}

/// What the seed did, for the terminal and the reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SeedReport {
    /// The path taken; `None` without a seed, or when it stopped before choosing.
    pub path: Option<SeedPath>,
    /// Why the dev routes were not used although the seed has them: the server's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_routes_missing: Option<String>,
    /// Why the run stopped at the seed; nothing after it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The request that found the dev routes missing, when the API seed was used instead. It
    /// is reported, and no part of the verdict.
    #[serde(skip)]
    pub dev_probe: Option<Exchange>,
}

/// A seed under way: what its first part decided.
pub struct Seeding<'m> {
    seed: &'m Seed,
    report: SeedReport,
    path: SeedPath,
    /// The API seed may take over when the dev routes are missing.
    fallback: bool,
    /// No dev request went out yet: the first fixture load will tell.
    dev_probe_pending: bool,
}

/// The first part of the seed, before the gates' probes: the path, and the reset, so that the
/// probes (which may read the store, like `/healthz`) see the empty store on every server.
pub async fn start<'m>(
    session: &mut Session<'_, '_, '_>,
    seed: &'m Seed,
    choice: SeedChoice,
) -> Seeding<'m> {
    let use_dev = match choice {
        SeedChoice::Api => false,
        SeedChoice::Dev | SeedChoice::Auto => seed.has_dev(),
    };
    let mut seeding = Seeding {
        seed,
        report: SeedReport::default(),
        path: if use_dev {
            SeedPath::DevRoutes
        } else {
            SeedPath::Api
        },
        fallback: choice == SeedChoice::Auto && seed.api.is_some(),
        dev_probe_pending: use_dev,
    };
    if !use_dev && seed.api.is_none() {
        seeding.report.stopped =
            Some("--seed api: this milestone declares no API seed (`seed: api:`)".to_owned());
        session.terminal.seed(&seeding.report);
    } else if let (SeedPath::DevRoutes, Some(reset)) = (seeding.path, &seed.reset) {
        seeding.dev_probe_pending = false;
        seeding.first_dev_request(session, reset).await;
    }
    seeding
}

impl Seeding<'_> {
    pub fn stopped(&self) -> bool {
        self.report.stopped.is_some()
    }

    /// The rest of the seed: the scenarios that run before it, the loading, the seed's steps.
    pub async fn finish(
        mut self,
        session: &mut Session<'_, '_, '_>,
        before: &[&Scenario],
    ) -> SeedReport {
        if self.stopped() {
            return self.report;
        }
        for scenario in before {
            session.scenario(scenario).await;
        }
        let seed = self.seed;
        let api = seed.api.as_deref().unwrap_or_default();
        let mut loading = match self.path {
            SeedPath::DevRoutes => seed.dev_loading().iter(),
            SeedPath::Api => api.iter(),
        };
        if self.dev_probe_pending
            && !seed.fixtures.is_empty()
            && let Some(first) = loading.next()
        {
            self.first_dev_request(session, first).await;
            if self.stopped() {
                return self.report;
            }
            if self.path == SeedPath::Api {
                loading = api.iter();
            }
        }
        self.report.path = Some(self.path);
        session.terminal.seed(&self.report);
        for step in loading {
            let exchange = session.send(Phase::Seed, SEED_SCENARIO, step).await;
            let stop = if !exchange.passed {
                Some(loading_failed(&exchange))
            } else if replayed_from_before(&exchange) {
                Some(format!(
                    "the seed's step `{}` was answered as a replay of a request this run did not send: the server holds this seed from an earlier run, and seeding through the API needs one that starts empty; nothing after the seed ran",
                    exchange.step
                ))
            } else {
                None
            };
            let failed = stop.is_some();
            self.report.stopped = stop;
            session.keep(exchange);
            if failed {
                session.terminal.seed(&self.report);
                return self.report;
            }
        }
        for step in &seed.steps {
            let exchange = session.send(Phase::Step, SEED_SCENARIO, step).await;
            session.keep(exchange);
        }
        self.report
    }

    /// Sends the first request of the dev path: a success keeps it as the seed's first step;
    /// a refusal hands over to the API seed when there is one, or stops the run.
    async fn first_dev_request(&mut self, session: &mut Session<'_, '_, '_>, step: &Step) {
        let mut exchange = session.send(Phase::Seed, SEED_SCENARIO, step).await;
        if exchange.passed {
            session.keep(exchange);
            return;
        }
        // The answer says the server has no such route, which the seed's row says once; how
        // it words that (an auth refusal before routing, say) is no divergence of its own.
        exchange.rules.clear();
        let refused = format!(
            "`{}` (`{}`) answered {}",
            exchange.operation_id.as_deref().unwrap_or("(no operation)"),
            exchange.request_words(),
            exchange.answer_words()
        );
        if self.fallback {
            self.report.dev_routes_missing = Some(refused);
            self.report.dev_probe = Some(exchange);
            self.path = SeedPath::Api;
            return;
        }
        let remedy = if self.seed.api.is_some() {
            "--seed dev needs them; drop it to seed through the API"
        } else {
            "this milestone declares no API seed (`seed: api:`); start the server with its dev routes (`marketref serve --dev`), or give the milestone an API seed"
        };
        self.report.stopped = Some(format!(
            "the server does not offer the seeding routes ({refused}): {remedy}"
        ));
        session.keep(exchange);
        session.terminal.seed(&self.report);
    }
}

/// The server replayed a request this run sends for the first time: it recorded it in an
/// earlier run, so its state is not the empty store the API seed starts from.
fn replayed_from_before(exchange: &Exchange) -> bool {
    let replayed = exchange
        .response
        .as_ref()
        .and_then(|r| r.headers.get(IDEMPOTENT_REPLAYED))
        .is_some_and(|value| value == "true");
    replayed
        && exchange
            .broken_rules()
            .any(|check| check.rule == Rule::IdempotentReplay)
}

/// Why a loading step stops the run, naming the step and its operation.
fn loading_failed(exchange: &Exchange) -> String {
    let operation = exchange.operation_id.as_deref().unwrap_or("(no operation)");
    let reason = exchange.reason_code();
    let unrouted = matches!(reason, Some("route_not_found" | "method_not_allowed"))
        || exchange.response.as_ref().is_some_and(|r| r.status == 404) && reason.is_none();
    let verdict = if unrouted {
        format!(": the server does not implement `{operation}`")
    } else {
        String::new()
    };
    format!(
        "the seed's step `{}` (`{operation}`, `{}`) {}{verdict}; nothing after the seed ran",
        exchange.step,
        exchange.request_words(),
        crate::divergence::what_differs(exchange)
    )
}
