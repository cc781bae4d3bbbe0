//! The conformance report's table: where a server's answers differ from what the contract and
//! the milestone say, one row per divergence.
//!
//! A row is a broken contract rule (once, with every answer that broke it), a failed step (its
//! own assertions), a group of failed probes of one kind, or the seed (the dev routes missing,
//! or the run stopped at the seed). Each names its check, the operations where it occurred, an
//! example request with what was expected and what was answered, and says in one line what
//! differs. Rows come in a fixed order (seed, rules, probes, steps), so the table is the same on
//! every run.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::exchange::{Exchange, Phase};
use crate::rules::{Rule, RuleCheck};
use crate::run::MilestoneRun;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Seed,
    ContractRule,
    Probe,
    Step,
}

#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// The check's stable name: a rule (`correlation-id-echo`), a step (`scenario/step`), a
    /// probe kind (`auth refuses-user`, `routing`), `seed-routes` or `seed`.
    pub check: String,
    pub kind: Kind,
    /// False for what is reported only: an advisory rule or step, the dev routes missing when
    /// the API seed took over.
    pub fails_run: bool,
    /// The operations where it occurred, sorted.
    pub operations: Vec<String>,
    /// `scenario/step` of every exchange where it occurred, in run order.
    pub occurrences: Vec<String>,
    pub description: String,
    pub example: Example,
}

/// The first exchange where a divergence occurred.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    pub exchange: String,
    pub request: Value,
    /// What the milestone or the contract expected there.
    pub expected: Value,
    /// What the server answered.
    pub answered: Value,
}

/// Every divergence of `run`, in table order.
pub fn divergences(run: &MilestoneRun) -> Vec<Divergence> {
    let mut rows = Vec::new();
    rows.extend(seed_rows(run));
    for verdict in run.rules.iter().filter(|v| !v.held()) {
        rows.push(rule_row(run, verdict.rule, !verdict.advisory));
    }
    rows.extend(probe_rows(&run.routing, "routing"));
    rows.extend(probe_rows(&run.auth, "auth"));
    // The step the seed stopped at is the `seed` row.
    let stopped_at = stopped_at(run).map(Exchange::label);
    for step in run.steps.iter().filter(|e| !e.passed) {
        if stopped_at.as_ref() == Some(&step.label()) {
            continue;
        }
        rows.push(Divergence {
            check: step.label(),
            kind: Kind::Step,
            fails_run: !step.advisory,
            operations: step.operation_id.iter().cloned().collect(),
            occurrences: vec![step.label()],
            description: describe_step(step),
            example: own_example(step),
        });
    }
    rows
}

fn seed_rows(run: &MilestoneRun) -> Vec<Divergence> {
    let mut rows = Vec::new();
    if let (Some(missing), Some(probe)) = (&run.seed.dev_routes_missing, &run.seed.dev_probe) {
        rows.push(Divergence {
            check: "seed-routes".to_owned(),
            kind: Kind::Seed,
            fails_run: false,
            operations: probe.operation_id.iter().cloned().collect(),
            occurrences: vec![probe.label()],
            description: format!(
                "the server does not offer the seeding routes ({missing}); seeded through the API instead"
            ),
            example: own_example(probe),
        });
    }
    if let Some(stopped) = &run.seed.stopped {
        let last = stopped_at(run);
        rows.push(Divergence {
            check: "seed".to_owned(),
            kind: Kind::Seed,
            fails_run: true,
            operations: last
                .and_then(|e| e.operation_id.clone())
                .into_iter()
                .collect(),
            occurrences: last.map(Exchange::label).into_iter().collect(),
            description: stopped.clone(),
            example: last.map_or_else(
                || Example {
                    exchange: String::new(),
                    request: Value::Null,
                    expected: Value::Null,
                    answered: Value::Null,
                },
                own_example,
            ),
        });
    }
    rows
}

fn rule_row(run: &MilestoneRun, rule: Rule, fails_run: bool) -> Divergence {
    let broke: Vec<(&Exchange, &RuleCheck)> = run
        .exchanges()
        .filter_map(|e| e.broken_rules().find(|c| c.rule == rule).map(|c| (e, c)))
        .collect();
    let judged = run
        .rules
        .iter()
        .find(|v| v.rule == rule)
        .map_or(0, |v| v.judged);
    let (first, check) = broke[0];
    let findings: BTreeSet<&str> = broke
        .iter()
        .filter_map(|(_, c)| c.finding.as_deref())
        .collect();
    let finding = check.finding.as_deref().unwrap_or(rule.requirement());
    let others = if findings.len() > 1 {
        format!("; the first of {} findings", findings.len())
    } else {
        String::new()
    };
    Divergence {
        check: rule.name().to_owned(),
        kind: Kind::ContractRule,
        fails_run,
        operations: operations(broke.iter().map(|(e, _)| *e)),
        occurrences: broke.iter().map(|(e, _)| e.label()).collect(),
        description: format!("{finding} (in {} of {judged} answers{others})", broke.len()),
        example: Example {
            exchange: first.label(),
            request: request(first),
            expected: check.expected.clone(),
            answered: check.actual.clone(),
        },
    }
}

/// Failed probes of one gate, grouped by kind (`refuses-user`, across operations).
fn probe_rows(probes: &[Exchange], gate: &str) -> Vec<Divergence> {
    let kind_of = |probe: &Exchange| match probe.step.split_once('/') {
        Some((_, kind)) => format!("{gate} {kind}"),
        None => gate.to_owned(),
    };
    let mut kinds: Vec<String> = Vec::new();
    for probe in probes.iter().filter(|p| !p.passed) {
        let kind = kind_of(probe);
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
        .into_iter()
        .map(|kind| {
            let failed: Vec<&Exchange> = probes
                .iter()
                .filter(|p| !p.passed && kind_of(p) == kind)
                .collect();
            let first = failed[0];
            Divergence {
                description: format!(
                    "the `{kind}` probe of {} {}",
                    plural(failed.len(), "operation"),
                    what_differs(first)
                ),
                check: kind,
                kind: Kind::Probe,
                fails_run: true,
                operations: operations(failed.iter().copied()),
                occurrences: failed.iter().map(|p| p.label()).collect(),
                example: own_example(first),
            }
        })
        .collect()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn operations<'e>(exchanges: impl Iterator<Item = &'e Exchange>) -> Vec<String> {
    let set: BTreeSet<String> = exchanges.filter_map(|e| e.operation_id.clone()).collect();
    set.into_iter().collect()
}

/// A failed step in one line: its subject (the milestone's words, or its operation and label)
/// and what the server did instead.
fn describe_step(step: &Exchange) -> String {
    let subject = step
        .subject
        .clone()
        .unwrap_or_else(|| match &step.operation_id {
            Some(op) => format!("`{op}` ({})", step.label()),
            None => format!("`{}` ({})", step.request_words(), step.label()),
        });
    format!("{subject} {}", what_differs(step))
}

/// What the server did instead of what the step or probe expected, from its failed checks:
/// `accepted (answered 200)`, `refused with 404 route_not_found`, `answered 200 with ...`.
pub fn what_differs(exchange: &Exchange) -> String {
    let Some(response) = &exchange.response else {
        return format!("got {}", exchange.answer_words());
    };
    let failed: Vec<_> = exchange.checks.iter().filter(|c| !c.passed).collect();
    let expected_status = exchange
        .checks
        .iter()
        .find(|c| c.name == "status")
        .and_then(|c| c.expected.as_u64());
    let reason = exchange.reason_code();
    if let Some(expected) = expected_status.filter(|s| *s != u64::from(response.status)) {
        return match (expected >= 400, response.status) {
            (true, 200..=299) => format!("accepted (answered {})", response.status),
            (false, 400..) => format!("refused with {}", exchange.answer_words()),
            _ => format!("answered {} instead of {expected}", exchange.answer_words()),
        };
    }
    let more = |shown: usize| {
        if failed.len() > shown {
            format!(" (and {} more)", plural(failed.len() - shown, "check"))
        } else {
            String::new()
        }
    };
    match failed.first() {
        Some(check) if check.name == "details.reason_code" => format!(
            "answered `{}` instead of `{}`{}",
            reason.unwrap_or("no reason"),
            check.expected.as_str().unwrap_or_default(),
            more(1)
        ),
        Some(check) => format!(
            "answered {} with `{}` = {} instead of {}{}",
            response.status,
            check.name,
            short(&check.actual, 60),
            short(&check.expected, 60),
            more(1)
        ),
        None => format!("answered {}", exchange.answer_words()),
    }
}

fn request(exchange: &Exchange) -> Value {
    match &exchange.request {
        Some(request) => {
            let mut value = json!({"method": request.method, "path": request.path});
            if let Some(body) = &request.body {
                value["body"] = body.clone();
            }
            value
        }
        None => Value::Null,
    }
}

/// The example of a failed step or probe: its failed checks' expected values against the
/// status and body the server answered.
fn own_example(exchange: &Exchange) -> Example {
    let expected: Map<String, Value> = exchange
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| (c.name.clone(), c.expected.clone()))
        .collect();
    let answered = match &exchange.response {
        Some(response) => json!({"status": response.status, "body": response.body}),
        None => json!({"error": exchange.error}),
    };
    Example {
        exchange: exchange.label(),
        request: request(exchange),
        expected: Value::Object(expected),
        answered,
    }
}

/// Compact JSON, cut to about `width` characters.
pub fn short(value: &Value, width: usize) -> String {
    let text = value.to_string();
    if text.chars().count() <= width {
        text
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// How many rows fail the run.
pub fn failing(rows: &[Divergence]) -> usize {
    rows.iter().filter(|row| row.fails_run).count()
}

/// The failed loading request the run stopped at, when it stopped at one.
fn stopped_at(run: &MilestoneRun) -> Option<&Exchange> {
    run.seed.stopped.as_ref()?;
    run.steps
        .last()
        .filter(|e| !e.passed && e.phase == Phase::Seed)
}
