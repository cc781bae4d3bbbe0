//! What people read on the terminal: one line per step (phase, scenario/step, PASS or FAIL,
//! milliseconds); under a failure, each failed check with expected and actual side by side and
//! a unified diff of their JSON; totals per milestone; and last, `overall=true|false`.
//!
//! Write errors on the terminal are ignored: the artifacts and the exit code carry the verdict.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;
use similar::TextDiff;

use crate::check::Check;
use crate::coverage::{Coverage, Item};
use crate::exchange::Exchange;
use crate::gates::ContractsGate;
use crate::milestone::Milestone;
use crate::run::MilestoneRun;
use crate::seeding::SeedReport;
use crate::target::Target;

const NAME_WIDTH: usize = 48;
const CHECK_WIDTH: usize = 48;
const CELL_WIDTH: usize = 36;
const BODY_LINES: usize = 30;

pub struct Terminal<'w> {
    out: &'w mut dyn Write,
}

macro_rules! say {
    ($terminal:expr, $($arg:tt)*) => {{
        let _ = writeln!($terminal.out, $($arg)*);
    }};
}

impl<'w> Terminal<'w> {
    pub fn new(out: &'w mut dyn Write) -> Terminal<'w> {
        Terminal { out }
    }

    pub fn line(&mut self, text: &str) {
        say!(self, "{text}");
    }

    pub fn milestone_header(&mut self, milestone: &Milestone, target: &Target) {
        let against = if target.is_in_process() {
            format!("the in-process reference runtime at {}", target.base_url)
        } else {
            target.base_url.clone()
        };
        say!(
            self,
            "== {} {} ({}) against {against}",
            milestone.id,
            milestone.title.trim(),
            milestone.display_path
        );
    }

    pub fn contracts_gate(&mut self, gate: &ContractsGate) {
        say!(
            self,
            "{}  gate  contracts ({} generated files, {} examples)",
            verdict(gate.passed),
            gate.files_checked,
            gate.examples_checked
        );
        for problem in &gate.problems {
            say!(
                self,
                "      {}: {}: {}",
                problem.path,
                problem.kind,
                problem.message
            );
            if let Some(diff) = &problem.diff {
                for line in diff.lines() {
                    say!(self, "        {line}");
                }
            }
        }
    }

    /// One line for a gate's probes, then every failed probe in detail.
    pub fn probes(&mut self, gate: &str, probes: &[Exchange]) {
        let passed = probes.iter().filter(|p| p.passed).count();
        let elapsed: Duration = probes.iter().map(|p| p.elapsed).sum();
        say!(
            self,
            "{}  gate  {gate} ({passed}/{} probes){}",
            verdict(passed == probes.len()),
            probes.len(),
            ms(elapsed, 8)
        );
        for probe in probes.iter().filter(|p| !p.passed) {
            say!(self, "FAIL  {gate}  {}", probe.step);
            self.failure(probe);
        }
    }

    pub fn step(&mut self, milestone: &Milestone, exchange: &Exchange) {
        let name = exchange.label();
        let mark = match (exchange.passed, exchange.advisory) {
            (true, _) => "PASS",
            (false, true) => "WARN",
            (false, false) => "FAIL",
        };
        say!(
            self,
            "{mark}  {:<4}  {name:<NAME_WIDTH$}{}",
            exchange.phase.as_str(),
            ms(exchange.elapsed, 8)
        );
        if !exchange.passed {
            if let Some(line) = exchange.line {
                say!(self, "      at {}:{line}", milestone.display_path);
            }
            self.failure(exchange);
        }
    }

    fn failure(&mut self, exchange: &Exchange) {
        if let Some(request) = &exchange.request {
            say!(self, "      request: {} {}", request.method, request.path);
        }
        let failed: Vec<&Check> = exchange.checks.iter().filter(|c| !c.passed).collect();
        say!(
            self,
            "      {:<CHECK_WIDTH$} {:<CELL_WIDTH$} {}",
            "check",
            "expected",
            "actual"
        );
        for check in &failed {
            say!(
                self,
                "      {:<CHECK_WIDTH$} {:<CELL_WIDTH$} {}",
                cell(&check.name, CHECK_WIDTH),
                cell(&compact(&check.expected), CELL_WIDTH),
                cell(&compact(&check.actual), CELL_WIDTH)
            );
        }
        for check in &failed {
            let expected = pretty(&check.expected);
            let actual = pretty(&check.actual);
            let diff = TextDiff::from_lines(&expected, &actual)
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("expected ({})", check.name),
                    &format!("actual ({})", check.name),
                )
                .to_string();
            for line in diff.lines() {
                say!(self, "      {line}");
            }
        }
        if let Some(response) = &exchange.response
            && failed
                .iter()
                .any(|c| c.name == "status" || c.name.starts_with("contract"))
        {
            say!(self, "      response {}:", response.status);
            let body = pretty(&response.body);
            let lines: Vec<&str> = body.lines().collect();
            for line in lines.iter().take(BODY_LINES) {
                say!(self, "        {line}");
            }
            if lines.len() > BODY_LINES {
                say!(
                    self,
                    "        ... {} more lines in report.json",
                    lines.len() - BODY_LINES
                );
            }
        }
    }

    /// How the seed went: its path, why the dev routes were not used, or why it stopped.
    pub fn seed(&mut self, report: &SeedReport) {
        if let Some(missing) = &report.dev_routes_missing {
            say!(
                self,
                "NOTE  seed  the server does not offer the seeding routes ({missing})"
            );
        }
        match (&report.stopped, report.path) {
            (Some(stopped), _) => say!(self, "FAIL  seed  {stopped}"),
            (None, Some(path)) => say!(self, "PASS  seed  {}", path.words()),
            (None, None) => {}
        }
    }

    /// The contract rules over the run: one line each that broke, with where.
    fn rules(&mut self, run: &MilestoneRun) {
        let broken: Vec<_> = run.rules.iter().filter(|v| !v.held()).collect();
        if broken.is_empty() {
            let judged: usize = run.rules.iter().map(|v| v.judged).sum();
            say!(
                self,
                "PASS  rules  {} contract rules held ({judged} judgements)",
                run.rules.len()
            );
        }
        for verdict in broken {
            say!(
                self,
                "{}  rule  {} broken in {} of {} answers{}",
                if verdict.advisory { "WARN" } else { "FAIL" },
                verdict.rule.name(),
                verdict.broken_by.len(),
                verdict.judged,
                if verdict.advisory { " (advisory)" } else { "" }
            );
            let shown: Vec<&str> = verdict
                .broken_by
                .iter()
                .take(5)
                .map(String::as_str)
                .collect();
            let more = verdict.broken_by.len().saturating_sub(shown.len());
            say!(
                self,
                "      at {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
    }

    pub fn milestone_totals(&mut self, run: &MilestoneRun) {
        let steps = run.steps.len();
        let passed = run.steps_passed();
        let (probes, probes_passed) = run.probe_counts();
        self.rules(run);
        let returned = run.floor.iter().filter(|r| r.returned()).count();
        say!(
            self,
            "{}  floor  {returned}/{} reason codes returned{}",
            verdict(run.floor_passed()),
            run.floor.len(),
            floor_notes(run)
        );
        let outcome = &run.outcome_check;
        say!(
            self,
            "{}  outcome sha256 {} ({})",
            verdict(outcome.passed()),
            outcome.actual,
            outcome.state()
        );
        if let (Some(expected), "differs") = (&outcome.expected, outcome.state()) {
            say!(self, "      expected {expected}");
            say!(
                self,
                "      the server's answers changed; compare latest/outcome.json with the previous run, and if the change is intended run `verify --update-expected {}`",
                run.display_path
            );
        }
        for problem in &run.runtime_problems {
            say!(self, "FAIL  runtime  {problem}");
        }
        say!(
            self,
            "{}: {steps} steps, {passed} passed, {} failed; probes {probes_passed}/{probes} passed; contracts {}; {:.0} ms",
            run.id,
            steps - passed,
            verdict(run.contracts.passed),
            run.elapsed.as_secs_f64() * 1000.0
        );
        say!(
            self,
            "{}: {}",
            run.id,
            if run.passed() { "PASS" } else { "FAIL" }
        );
    }

    pub fn coverage(&mut self, coverage: &Coverage) {
        say!(self, "== coverage of {}", coverage.milestones.join(", "));
        self.coverage_section("operations", &coverage.operations);
        self.coverage_section("reason codes", &coverage.reason_codes);
        self.coverage_section("auth rules", &coverage.auth_rules);
        for floor in &coverage.floors {
            let missing: Vec<&str> = floor
                .reasons
                .iter()
                .filter(|r| !r.covered)
                .map(|r| r.reason_code.as_str())
                .collect();
            say!(
                self,
                "{}  floor of {}: {}/{}{}",
                verdict(missing.is_empty()),
                floor.milestone,
                floor.reasons.len() - missing.len(),
                floor.reasons.len(),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" (missing: {})", missing.join(", "))
                }
            );
        }
        say!(
            self,
            "coverage: {}",
            if coverage.passed { "PASS" } else { "FAIL" }
        );
    }

    fn coverage_section(&mut self, title: &str, items: &[Item]) {
        let required = items.iter().filter(|i| i.required).count();
        let covered = items
            .iter()
            .filter(|i| i.required && !i.exercised_by.is_empty())
            .count();
        say!(
            self,
            "{}  {title}: {covered}/{required} exercised",
            verdict(covered == required)
        );
        for item in items {
            let mark = match (item.exercised_by.is_empty(), item.required) {
                (false, _) => "+",
                (true, true) => "-",
                (true, false) => " ",
            };
            let by = if item.exercised_by.is_empty() {
                if item.required {
                    "NOT EXERCISED".to_owned()
                } else {
                    "excluded (not a contract)".to_owned()
                }
            } else {
                item.exercised_by.join(", ")
            };
            say!(self, "      {mark} {:<60} {by}", item.name);
        }
    }

    pub fn overall(&mut self, passed: bool) {
        say!(self, "overall={passed}");
    }
}

fn floor_notes(run: &MilestoneRun) -> String {
    let codes = |keep: &dyn Fn(&crate::run::FloorReason) -> bool| -> Vec<&str> {
        run.floor
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.reason.code())
            .collect()
    };
    let missing = codes(&|r| !r.returned());
    let by_failing = codes(&|r| r.returned() && r.passed_by.is_empty());
    let mut notes = Vec::new();
    if !missing.is_empty() {
        notes.push(format!("not returned: {}", missing.join(", ")));
    }
    if !by_failing.is_empty() {
        notes.push(format!(
            "returned only by failing steps: {}",
            by_failing.join(", ")
        ));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}

fn verdict(passed: bool) -> &'static str {
    if passed { "PASS" } else { "FAIL" }
}

fn ms(elapsed: Duration, width: usize) -> String {
    format!("{:>width$.1} ms", elapsed.as_secs_f64() * 1000.0)
}

fn compact(value: &Value) -> String {
    value.to_string()
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn cell(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}
