//! One milestone, start to end: target, gates, seed and scenarios, store dump, the contract
//! rules over the whole run, outcome, floor.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use marketref::reason::Reason;
use serde::Serialize;
use serde_json::Value;

use crate::driver::Driver;
use crate::error::Error;
use crate::exchange::{Exchange, Phase};
use crate::gates::{self, ContractsGate};
use crate::milestone::{Milestone, Scenario};
use crate::outcome::{self, OutcomeCheck};
use crate::rules::{self, RuleVerdict};
use crate::seeding::{self, SeedChoice, SeedReport};
use crate::session::Session;
use crate::target::Target;
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
    /// The seed's and the scenarios' exchanges, in order.
    pub steps: Vec<Exchange>,
    /// Scenario names in run order, for reports.
    pub scenarios: Vec<String>,
    pub seed: SeedReport,
    /// Each contract rule over every exchange of the run.
    pub rules: Vec<RuleVerdict>,
    pub store: Option<Value>,
    pub outcome: Value,
    pub outcome_check: OutcomeCheck,
    /// Each floor reason, with the steps that returned it.
    pub floor: Vec<FloorReason>,
    pub exercised: Exercised,
    /// Volatile facts for the stamp folder only.
    pub base_url: String,
    pub store_path: Option<String>,
    pub elapsed: Duration,
    /// A failure outside any exchange (dumping the store, stopping the runtime).
    pub runtime_problems: Vec<String>,
}

/// A reason of the milestone's floor, and the steps whose answers carried it: it is exercised
/// when the server returned it, whether or not the step passed.
#[derive(Clone, Debug, Serialize)]
pub struct FloorReason {
    #[serde(serialize_with = "reason_code")]
    pub reason: Reason,
    /// `scenario/step` of every step whose answer carried it.
    pub returned_by: Vec<String>,
    /// Those of them that passed.
    pub passed_by: Vec<String>,
}

fn reason_code<S: serde::Serializer>(reason: &Reason, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(reason.code())
}

impl FloorReason {
    pub fn returned(&self) -> bool {
        !self.returned_by.is_empty()
    }
}

/// What a milestone run exercised, for the floor and for coverage.
#[derive(Clone, Debug, Default)]
pub struct Exercised {
    /// Operations called by a passing step.
    pub operations: BTreeSet<String>,
    /// Reasons carried by the response of a passing exchange (step or probe): coverage.
    pub reasons: BTreeSet<Reason>,
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
        self.floor.iter().all(FloorReason::returned)
    }

    pub fn rules_passed(&self) -> bool {
        self.rules.iter().all(|verdict| !verdict.fails_run())
    }

    /// Whether everything but the pinned outcome passed.
    pub fn passed_before_outcome(&self) -> bool {
        self.contracts.passed
            && self.seed.stopped.is_none()
            && self.exchanges().all(|e| !e.fails_run())
            && self.rules_passed()
            && self.floor_passed()
            && self.runtime_problems.is_empty()
    }

    pub fn passed(&self) -> bool {
        self.passed_before_outcome() && self.outcome_check.passed()
    }
}

/// Where and how one milestone runs.
pub struct RunSetting<'a> {
    /// `None`: the reference runtime, started in process.
    pub base_url: Option<&'a str>,
    /// In process: a Postgres server to make each milestone's database on, else SQLite.
    pub postgres: Option<&'a str>,
    pub seed: SeedChoice,
    pub client: &'a reqwest::Client,
}

/// Runs one milestone. `contracts` is the drift check of its repository, computed once per
/// repository by the caller.
pub async fn run_milestone(
    milestone: &Milestone,
    contracts: ContractsGate,
    setting: &RunSetting<'_>,
    terminal: &mut Terminal<'_>,
) -> Result<MilestoneRun, Error> {
    let started = Instant::now();
    let target = match setting.base_url {
        Some(url) => Target::external(url)?,
        None => Target::start_in_process(milestone.clock_instant, setting.postgres).await?,
    };
    terminal.milestone_header(milestone, &target);
    let driver = Driver::new(setting.client, &target.base_url);
    let mut session = Session::new(&driver, milestone, terminal);
    session.terminal.contracts_gate(&contracts);
    let seeding = match &milestone.seed {
        Some(seed) => Some(seeding::start(&mut session, seed, setting.seed).await),
        None => None,
    };
    let routing = gates::routing_probes(&driver, milestone).await;
    session.terminal.probes("routing", &routing);
    let auth = gates::auth_probes(&driver, milestone).await;
    session.terminal.probes("auth", &auth);

    let (before, after): (Vec<&Scenario>, Vec<&Scenario>) =
        milestone.scenarios.iter().partition(|s| s.before_seed);
    let seed = match seeding {
        Some(seeding) => seeding.finish(&mut session, &before).await,
        None => SeedReport::default(),
    };
    if seed.stopped.is_none() {
        for scenario in after {
            session.scenario(scenario).await;
        }
    }
    let steps = std::mem::take(&mut session.exchanges);
    drop(session);

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
        scenarios: scenario_names(&steps),
        steps,
        seed,
        rules: Vec::new(),
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
    let all: Vec<&Exchange> = run.exchanges().collect();
    run.rules = rules::verdicts(&all, &milestone.advisory);
    run.floor = floor(milestone, &run.steps);
    run.outcome = outcome::outcome(&run);
    run.outcome_check = OutcomeCheck::judge(milestone.expected_outcome.as_ref(), &run.outcome);
    run.elapsed = started.elapsed();
    Ok(run)
}

/// Scenario names in the order their first exchange ran.
fn scenario_names(steps: &[Exchange]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for exchange in steps {
        if !names.contains(&exchange.scenario) {
            names.push(exchange.scenario.clone());
        }
    }
    names
}

/// The floor: which steps returned each reason (probes and the seed's loading do not count: a
/// floor is exercised on purpose), and which of them passed.
fn floor(milestone: &Milestone, steps: &[Exchange]) -> Vec<FloorReason> {
    milestone
        .reason_floor
        .iter()
        .map(|reason| {
            let returning = steps.iter().filter(|exchange| {
                exchange.phase == Phase::Step && exchange.reason_code() == Some(reason.code())
            });
            FloorReason {
                reason: *reason,
                returned_by: returning.clone().map(Exchange::label).collect(),
                passed_by: returning
                    .filter(|e| e.passed)
                    .map(Exchange::label)
                    .collect(),
            }
        })
        .collect()
}

fn exercised(run: &MilestoneRun) -> Exercised {
    let mut exercised = Exercised::default();
    for exchange in run.exchanges().filter(|e| e.passed) {
        let reason = exchange.reason_code().and_then(Reason::from_code);
        exercised.reasons.extend(reason);
        match exchange.phase {
            Phase::Step | Phase::Seed => {
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
