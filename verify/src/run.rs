//! One milestone, start to end: target, gates, seed and scenarios, store dump, outcome, floor.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use marketref::headers::IDEMPOTENCY_KEY;
use marketref::manifest::Manifest;
use marketref::reason::Reason;
use serde_json::{Value, json};

use crate::check::{self, Check};
use crate::driver::{self, Driver, Label};
use crate::error::Error;
use crate::exchange::{Exchange, Phase};
use crate::gates::{self, ContractsGate};
use crate::milestone::{Body, Milestone, RequestTarget, Step};
use crate::outcome::{self, OutcomeCheck};
use crate::route;
use crate::target::{self, Incoming, Outgoing, Target};
use crate::template::{self, Captures};
use crate::terminal::Terminal;

/// Everything one milestone run produced.
#[derive(Debug)]
pub struct MilestoneRun {
    pub id: String,
    pub title: String,
    pub relative_path: String,
    pub display_path: String,
    pub in_process: bool,
    pub contracts: ContractsGate,
    pub routing: Vec<Exchange>,
    pub auth: Vec<Exchange>,
    pub steps: Vec<Exchange>,
    /// Scenario names in order, the seed first, for reports.
    pub scenarios: Vec<String>,
    pub store: Option<Value>,
    pub outcome: Value,
    pub outcome_check: OutcomeCheck,
    /// Each floor reason and whether a passing exchange of this milestone carried it.
    pub floor: Vec<(Reason, bool)>,
    pub exercised: Exercised,
    /// Volatile facts for the stamp folder only.
    pub base_url: String,
    pub store_path: Option<String>,
    pub elapsed: Duration,
    /// A failure outside any exchange (dumping the store, stopping the runtime).
    pub runtime_problems: Vec<String>,
}

/// What a milestone run exercised, for the floor and for coverage.
#[derive(Clone, Debug, Default)]
pub struct Exercised {
    /// Operations called by a passing step.
    pub operations: BTreeSet<String>,
    /// Reasons carried by the response of a passing exchange (step or probe): coverage.
    pub reasons: BTreeSet<Reason>,
    /// Reasons carried by the response of a passing step: the floor, which a milestone
    /// exercises on purpose, not through the generated probes.
    pub reasons_by_steps: BTreeSet<Reason>,
    /// Auth rules whose probe passed.
    pub auth_rules: BTreeSet<String>,
}

impl MilestoneRun {
    pub fn exchanges(&self) -> impl Iterator<Item = &Exchange> {
        self.routing.iter().chain(&self.auth).chain(&self.steps)
    }

    /// Steps that passed.
    pub fn steps_passed(&self) -> usize {
        self.steps.iter().filter(|s| s.passed).count()
    }

    /// The generated probes (routing, then auth), and how many of them passed.
    pub fn probe_counts(&self) -> (usize, usize) {
        let probes = self.routing.iter().chain(&self.auth);
        (probes.clone().count(), probes.filter(|p| p.passed).count())
    }

    pub fn floor_passed(&self) -> bool {
        self.floor.iter().all(|(_, covered)| *covered)
    }

    /// Whether everything but the pinned outcome passed.
    pub fn passed_before_outcome(&self) -> bool {
        self.contracts.passed
            && self.exchanges().all(|e| e.passed)
            && self.floor_passed()
            && self.runtime_problems.is_empty()
    }

    pub fn passed(&self) -> bool {
        self.passed_before_outcome() && self.outcome_check.passed()
    }
}

/// Runs one milestone. `contracts` is the drift check of its repository, computed once per
/// repository by the caller.
pub async fn run_milestone(
    milestone: &Milestone,
    contracts: ContractsGate,
    base_url: Option<&str>,
    client: &reqwest::Client,
    terminal: &mut Terminal<'_>,
) -> Result<MilestoneRun, Error> {
    let started = Instant::now();
    let target = match base_url {
        Some(url) => Target::external(url)?,
        None => Target::start_in_process(milestone.clock_instant).await?,
    };
    terminal.milestone_header(milestone, &target);
    let driver = Driver {
        client,
        base_url: &target.base_url,
        manifest: Manifest::embedded(),
    };
    terminal.contracts_gate(&contracts);
    let routing = gates::routing_probes(&driver, milestone).await;
    terminal.probes("routing", &routing);
    let auth = gates::auth_probes(&driver, milestone).await;
    terminal.probes("auth", &auth);

    let mut captures = Captures::new();
    let mut steps = Vec::new();
    for scenario in &milestone.scenarios {
        for step in &scenario.steps {
            let exchange = run_step(&driver, milestone, &scenario.name, step, &mut captures).await;
            terminal.step(milestone, &exchange);
            steps.push(exchange);
        }
    }

    let mut runtime_problems = Vec::new();
    let store = match target.store_dump() {
        None => None,
        Some(Ok(dump)) => Some(dump),
        Some(Err(error)) => {
            runtime_problems.push(error.to_string());
            None
        }
    };
    let store_path = target.store_path().map(str::to_owned);
    let base = target.base_url.clone();
    let in_process = target.is_in_process();
    if let Err(error) = target.stop().await {
        runtime_problems.push(error.to_string());
    }

    let mut run = MilestoneRun {
        id: milestone.id.clone(),
        title: milestone.title.clone(),
        relative_path: milestone.relative_path.clone(),
        display_path: milestone.display_path.clone(),
        in_process,
        contracts,
        routing,
        auth,
        steps,
        scenarios: milestone.scenarios.iter().map(|s| s.name.clone()).collect(),
        store,
        outcome: Value::Null,
        outcome_check: OutcomeCheck::default(),
        floor: Vec::new(),
        exercised: Exercised::default(),
        base_url: base,
        store_path,
        elapsed: Duration::ZERO,
        runtime_problems,
    };
    run.exercised = exercised(&run);
    run.floor = milestone
        .reason_floor
        .iter()
        .map(|reason| (*reason, run.exercised.reasons_by_steps.contains(reason)))
        .collect();
    run.outcome = outcome::outcome(&run);
    run.outcome_check = OutcomeCheck::judge(milestone.expected_outcome.as_ref(), &run.outcome);
    run.elapsed = started.elapsed();
    Ok(run)
}

fn exercised(run: &MilestoneRun) -> Exercised {
    let mut exercised = Exercised::default();
    for exchange in run.exchanges().filter(|e| e.passed) {
        let reason = exchange.reason_code().and_then(Reason::from_code);
        exercised.reasons.extend(reason);
        match exchange.phase {
            Phase::Step => {
                exercised.reasons_by_steps.extend(reason);
                if let Some(operation_id) = &exchange.operation_id {
                    exercised.operations.insert(operation_id.clone());
                }
            }
            Phase::Auth => {
                let (operation_id, probe) = exchange
                    .step
                    .split_once('/')
                    .unwrap_or((&exchange.step, ""));
                exercised
                    .auth_rules
                    .insert(gates::auth_rule_name(operation_id, probe));
            }
            Phase::Routing => {}
        }
    }
    exercised
}

async fn run_step(
    driver: &Driver<'_>,
    milestone: &Milestone,
    scenario: &str,
    step: &Step,
    captures: &mut Captures,
) -> Exchange {
    let correlation_id = Step::correlation_id(&milestone.id, scenario, &step.name);
    let label = Label {
        phase: Phase::Step,
        scenario,
        step: &step.name,
        line: Some(step.line),
        correlation_id: &correlation_id,
    };
    let request = match build_request(driver.manifest, milestone, step, &correlation_id, captures) {
        Ok(request) => request,
        Err(why) => return driver::unsent(&label, step.request.operation_id.clone(), why),
    };
    let extra_headers: Vec<String> = step
        .expect
        .headers
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let captured = std::cell::RefCell::new(Vec::new());
    let known: &Captures = captures;
    let judge = |incoming: &Incoming, body: &Value| {
        let mut checks = check::expectation_checks(&step.expect, incoming, body, known);
        for (name, pointer) in &step.captures {
            match body.pointer(pointer) {
                Some(value) => captured.borrow_mut().push((name.clone(), value.clone())),
                None => checks.push(Check::judged(
                    format!("capture {name}"),
                    false,
                    json!(format!("a value at {pointer}")),
                    check::absent(),
                )),
            }
        }
        checks
    };
    let exchange = driver
        .exchange(&label, request, &extra_headers, &judge)
        .await;
    captures.extend(captured.into_inner());
    exchange
}

/// The concrete request of a step, with captures substituted and the verifier's own headers.
fn build_request(
    manifest: &Manifest,
    milestone: &Milestone,
    step: &Step,
    correlation_id: &str,
    captures: &Captures,
) -> Result<Outgoing, String> {
    let spec = &step.request;
    let (method, path) = match &spec.target {
        RequestTarget::Operation {
            operation_id,
            params,
        } => {
            let operation = manifest
                .operation(operation_id)
                .ok_or_else(|| format!("unknown operation `{operation_id}`"))?;
            let mut filled = std::collections::BTreeMap::new();
            for (name, value) in params {
                filled.insert(name.clone(), template::substitute(value, captures)?);
            }
            (
                operation.method.as_str().to_owned(),
                route::fill(&operation.path, &filled),
            )
        }
        RequestTarget::Raw { method, path } => {
            (method.clone(), template::substitute(path, captures)?)
        }
    };
    let mut query = Vec::new();
    for (name, value) in &spec.query {
        query.push((name.clone(), template::substitute(value, captures)?));
    }
    let path = if query.is_empty() {
        path
    } else {
        let encoded = serde_urlencoded::to_string(&query).map_err(|e| e.to_string())?;
        format!("{path}?{encoded}")
    };

    let clock = template::substitute(&spec.clock, captures)?;
    let mut headers = target::base_headers(correlation_id, &clock);
    if let Some(name) = &spec.actor {
        let actor = milestone
            .actors
            .get(name)
            .ok_or_else(|| format!("unknown actor `{name}`"))?;
        target::identify(&mut headers, actor.kind.as_str(), &actor.id, &actor.scopes);
    }
    if let Some(key) = &spec.idempotency_key {
        headers.push((
            IDEMPOTENCY_KEY.to_owned(),
            template::substitute(key, captures)?,
        ));
    }
    let body = match &spec.body {
        Body::None => None,
        Body::Json(value) => {
            let value = template::substitute_value(value, captures)?;
            Some(serde_json::to_vec(&value).map_err(|e| e.to_string())?)
        }
        Body::Raw(text) => Some(template::substitute(text, captures)?.into_bytes()),
        Body::Repeat { text, times } => Some(text.repeat(*times).into_bytes()),
    };
    if body.is_some() {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    for (name, value) in &spec.headers {
        let value = template::substitute(value, captures)?;
        headers.retain(|(existing, _)| existing != name);
        headers.push((name.clone(), value));
    }
    Ok(Outgoing {
        method,
        path,
        headers,
        body,
    })
}
