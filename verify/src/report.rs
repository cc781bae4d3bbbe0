//! The conformance report of one milestone run: `report.json` for programs and `report.md` for
//! people. Both open with the divergences (see [`crate::divergence`]), then the seed, the
//! contract rules, the gates, the steps, the reason floor and the outcome. Neither carries a
//! time, a port or a temporary path.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::divergence::{self, Divergence, short};
use crate::exchange::Exchange;
use crate::run::MilestoneRun;

/// Table cells are cut to this many characters; `report.json` has every value whole.
const CELL: usize = 90;

fn totals(run: &MilestoneRun) -> Value {
    let steps_passed = run.steps_passed();
    let (probes, probes_passed) = run.probe_counts();
    json!({
        "steps": run.steps.len(),
        "steps_passed": steps_passed,
        "steps_failed": run.steps.len() - steps_passed,
        "probes": probes,
        "probes_passed": probes_passed,
        "probes_failed": probes - probes_passed,
    })
}

/// `report.json`. Its keys are sorted, so `divergences` comes first.
pub fn json(run: &MilestoneRun) -> Value {
    let scenarios: Vec<Value> = run
        .scenarios
        .iter()
        .map(|name| {
            let steps: Vec<&Exchange> = run.steps.iter().filter(|s| s.scenario == *name).collect();
            json!({
                "name": name,
                "passed": steps.iter().all(|s| s.passed),
                "steps": steps,
            })
        })
        .collect();
    let mut seed = crate::artifacts::to_value(&run.seed);
    if let Some(probe) = &run.seed.dev_probe {
        seed["dev_probe"] = crate::artifacts::to_value(probe);
    }
    json!({
        "divergences": divergence::divergences(run),
        "milestone": {"id": run.id, "title": run.title, "file": run.relative_path},
        "target": if run.in_process { "in-process" } else { "base-url" },
        "passed": run.passed(),
        "totals": totals(run),
        "seed": seed,
        "rules": run.rules,
        "gates": {
            "contracts": {
                "passed": run.contracts.passed,
                "files_checked": run.contracts.files_checked,
                "examples_checked": run.contracts.examples_checked,
                "problems": run.contracts.problems.len(),
            },
            "routing": {"passed": run.routing.iter().all(|p| p.passed), "probes": run.routing.len()},
            "auth": {"passed": run.auth.iter().all(|p| p.passed), "probes": run.auth.len()},
        },
        "reason_floor": run.floor.iter().map(|reason| json!({
            "reason_code": reason.reason.code(),
            "returned": reason.returned(),
            "returned_by": reason.returned_by,
            "passed_by": reason.passed_by,
        })).collect::<Vec<_>>(),
        "outcome": {
            "sha256": run.outcome_check.actual,
            "expected_sha256": run.outcome_check.expected,
            "state": run.outcome_check.state(),
            "passed": run.outcome_check.passed(),
        },
        "runtime_problems": run.runtime_problems,
        "scenarios": scenarios,
    })
}

fn mark(passed: bool) -> &'static str {
    if passed { "PASS" } else { "**FAIL**" }
}

/// A check that may be advisory: a break of an advisory one is reported, not failing.
fn state(passed: bool, advisory: bool) -> &'static str {
    match (passed, advisory) {
        (true, _) => "PASS",
        (false, true) => "advisory",
        (false, false) => "**FAIL**",
    }
}

/// Text for a table cell: one line, `|` escaped, cut to `width`.
fn cell(text: &str, width: usize) -> String {
    let one_line = text.replace('\n', " ");
    let cut = if one_line.chars().count() > width {
        let mut cut: String = one_line.chars().take(width - 1).collect();
        cut.push('…');
        cut
    } else {
        one_line
    };
    cut.replace('|', "\\|")
}

fn code_cell(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    format!(
        "`{}`",
        cell(&short(value, CELL), CELL + 2).replace('`', "'")
    )
}

/// `report.md`.
pub fn markdown(run: &MilestoneRun) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}: {}\n", run.id, run.title.trim());
    let target = if run.in_process {
        "the in-process reference runtime"
    } else {
        "a server given by --base-url"
    };
    let seeded = run
        .seed
        .path
        .map_or(String::new(), |path| format!(", seeded {}", path.words()));
    let _ = writeln!(
        md,
        "Milestone file `{}`, run against {target}{seeded}. Result: {}.\n",
        run.relative_path,
        mark(run.passed())
    );
    divergences_section(&mut md, &divergence::divergences(run));
    seed_section(&mut md, run);
    rules_section(&mut md, run);
    gates_section(&mut md, run);
    steps_section(&mut md, run);
    floor_section(&mut md, run);
    let _ = writeln!(
        md,
        "\n## Outcome\n\nSHA-256 of `outcome.json`: `{}` ({}).",
        run.outcome_check.actual,
        run.outcome_check.state()
    );
    if let Some(expected) = &run.outcome_check.expected
        && !run.outcome_check.passed()
    {
        let _ = writeln!(md, "Pinned: `{expected}`.");
    }
    failures_section(&mut md, run);
    md
}

fn divergences_section(md: &mut String, rows: &[Divergence]) {
    let _ = writeln!(md, "## Divergences\n");
    if rows.is_empty() {
        let _ = writeln!(md, "None: every check held.\n");
        return;
    }
    let _ = writeln!(
        md,
        "{} found, {} of which fail the run.\n",
        rows.len(),
        divergence::failing(rows)
    );
    let _ = writeln!(
        md,
        "| # | check | where | what differs | example request | expected | answered | fails the run |\n|---|---|---|---|---|---|---|---|"
    );
    for (index, row) in rows.iter().enumerate() {
        let mut place = row.operations.join(", ");
        if row.occurrences.len() > 1 {
            let _ = write!(place, " ({} times)", row.occurrences.len());
        }
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {} | {} | {} | {} |",
            index + 1,
            row.check,
            cell(&place, CELL),
            cell(&row.description, 2 * CELL),
            code_cell(&row.example.request),
            code_cell(&row.example.expected),
            code_cell(&row.example.answered),
            if row.fails_run {
                "yes"
            } else {
                "no (reported)"
            }
        );
    }
    let _ = writeln!(md);
}

fn seed_section(md: &mut String, run: &MilestoneRun) {
    let seed = &run.seed;
    if seed.path.is_none() && seed.stopped.is_none() {
        return;
    }
    let _ = writeln!(md, "## Seed\n");
    if let Some(path) = seed.path {
        let _ = writeln!(md, "Seeded {}.", path.words());
    }
    if let Some(missing) = &seed.dev_routes_missing {
        let _ = writeln!(
            md,
            "The server does not offer the seeding routes: {missing}."
        );
    }
    if let Some(stopped) = &seed.stopped {
        let _ = writeln!(md, "**Stopped at the seed**: {stopped}.");
    }
    let _ = writeln!(md);
}

fn rules_section(md: &mut String, run: &MilestoneRun) {
    let _ = writeln!(
        md,
        "## Contract rules\n\n| rule | what every answer keeps | answers | broken in | |\n|---|---|---|---|---|"
    );
    for verdict in &run.rules {
        let state = state(verdict.held(), verdict.advisory);
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {state} |",
            verdict.rule.name(),
            cell(verdict.rule.requirement(), 2 * CELL),
            verdict.judged,
            verdict.broken_by.len()
        );
    }
    let _ = writeln!(md);
}

fn gates_section(md: &mut String, run: &MilestoneRun) {
    let _ = writeln!(md, "## Gates\n\n| gate | result |\n|---|---|");
    let _ = writeln!(
        md,
        "| contracts (drift check) | {} ({} generated files, {} examples, {} problems) |",
        mark(run.contracts.passed),
        run.contracts.files_checked,
        run.contracts.examples_checked,
        run.contracts.problems.len()
    );
    for (gate, probes) in [("routing", &run.routing), ("auth rules", &run.auth)] {
        let passed = probes.iter().filter(|p| p.passed).count();
        let _ = writeln!(
            md,
            "| {gate} | {} ({passed}/{} probes) |",
            mark(passed == probes.len()),
            probes.len()
        );
    }
    let _ = writeln!(md);
}

fn steps_section(md: &mut String, run: &MilestoneRun) {
    let _ = writeln!(
        md,
        "## Steps\n\n{} of {} steps passed.\n\n| scenario | step | operation | status | result |\n|---|---|---|---|---|",
        run.steps_passed(),
        run.steps.len()
    );
    for step in &run.steps {
        let status = step
            .response
            .as_ref()
            .map_or_else(|| "-".to_owned(), |r| r.status.to_string());
        let result = state(step.passed, step.advisory);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {status} | {result} |",
            step.scenario,
            step.step,
            step.operation_id.as_deref().unwrap_or("(no operation)"),
        );
    }
}

fn floor_section(md: &mut String, run: &MilestoneRun) {
    let _ = writeln!(md, "\n## Reason-code floor\n");
    if run.floor.is_empty() {
        let _ = writeln!(md, "This milestone declares no floor.");
    }
    for reason in &run.floor {
        let by = if !reason.returned() {
            "not returned by any step".to_owned()
        } else if reason.passed_by.is_empty() {
            format!(
                "returned by {} (which failed)",
                reason.returned_by.join(", ")
            )
        } else {
            format!("returned by {}", reason.returned_by.join(", "))
        };
        let _ = writeln!(
            md,
            "- [{}] `{}`: {by}",
            if reason.returned() { "x" } else { " " },
            reason.reason.code()
        );
    }
}

fn failures_section(md: &mut String, run: &MilestoneRun) {
    let failures: Vec<&Exchange> = run.exchanges().filter(|e| !e.passed).collect();
    if failures.is_empty() && run.runtime_problems.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## Failed checks\n");
    for failure in failures {
        let _ = writeln!(md, "### {} {}\n", failure.phase.as_str(), failure.label());
        let _ = writeln!(md, "| check | expected | actual |\n|---|---|---|");
        for check in failure.checks.iter().filter(|c| !c.passed) {
            let _ = writeln!(
                md,
                "| {} | `{}` | `{}` |",
                cell(&check.name, CELL),
                cell(&check.expected.to_string(), 4 * CELL),
                cell(&check.actual.to_string(), 4 * CELL)
            );
        }
        let _ = writeln!(md);
    }
    for problem in &run.runtime_problems {
        let _ = writeln!(md, "- runtime: {problem}");
    }
}
