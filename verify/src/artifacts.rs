//! The files a run leaves: `<out>/milestones/<id>/<stamp>/` and `<out>/milestones/<id>/latest/`.
//!
//! Both folders get the same deterministic files; the stamp folder also gets `run.json`, the
//! only file with a time, a port, durations and the temporary store path in it. `latest/` is
//! replaced whole (written beside it, then renamed), so it never mixes two runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::coverage::Coverage;
use crate::error::Error;
use crate::exchange::{Exchange, Phase};
use crate::run::MilestoneRun;

/// Pretty JSON, keys sorted, with a final newline.
pub fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A stamp for this invocation's folders: UTC time to the millisecond.
pub fn stamp_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

/// The deterministic files of one milestone run, by file name.
pub fn files(run: &MilestoneRun) -> BTreeMap<&'static str, String> {
    let mut files = BTreeMap::new();
    files.insert("report.json", pretty(&report(run)));
    files.insert("transcript.jsonl", transcript(run));
    files.insert(
        "contract_validation.json",
        pretty(&contract_validation(run)),
    );
    files.insert("auth_validation.json", pretty(&auth_validation(run)));
    if let Some(store) = &run.store {
        files.insert("store.json", pretty(store));
    }
    let outcome = crate::outcome::outcome_file(&run.outcome);
    files.insert(
        "outcome.sha256",
        format!("{}  outcome.json\n", marketref::json::sha256_hex(&outcome)),
    );
    files.insert("outcome.json", outcome);
    files.insert("summary.md", summary(run));
    files.insert("junit.xml", junit(std::slice::from_ref(run)));
    files
}

/// Writes the stamp folder and replaces `latest/`. Returns the `latest/` folder.
pub fn write(out_root: &Path, stamp: &str, run: &MilestoneRun) -> Result<PathBuf, Error> {
    let milestone_dir = out_root.join("milestones").join(&run.id);
    create_dir(&milestone_dir)?;
    let files = files(run);

    let mut stamp_dir = milestone_dir.join(stamp);
    let mut suffix = 2;
    while stamp_dir.exists() {
        stamp_dir = milestone_dir.join(format!("{stamp}-{suffix}"));
        suffix += 1;
    }
    create_dir(&stamp_dir)?;
    for (name, contents) in &files {
        write_file(&stamp_dir.join(name), contents)?;
    }
    write_file(&stamp_dir.join("run.json"), &pretty(&run_facts(run, stamp)))?;

    let staging = milestone_dir.join(format!(".latest-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    create_dir(&staging)?;
    for (name, contents) in &files {
        write_file(&staging.join(name), contents)?;
    }
    let latest = milestone_dir.join("latest");
    if latest.exists() {
        std::fs::remove_dir_all(&latest).map_err(|e| Error::io(&latest, e))?;
    }
    std::fs::rename(&staging, &latest).map_err(|e| Error::io(&latest, e))?;
    Ok(latest)
}

pub fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    std::fs::write(path, contents).map_err(|e| Error::io(path, e))
}

fn create_dir(path: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))
}

/// What only the stamp folder records.
fn run_facts(run: &MilestoneRun, stamp: &str) -> Value {
    let timings: Vec<Value> = run
        .exchanges()
        .map(|e| json!({"phase": e.phase.as_str(), "step": e.label(), "ms": e.elapsed.as_secs_f64() * 1000.0}))
        .collect();
    json!({
        "stamp": stamp,
        "base_url": run.base_url,
        "in_process": run.in_process,
        "store_path": run.store_path,
        "elapsed_ms": run.elapsed.as_secs_f64() * 1000.0,
        "exchanges": timings,
    })
}

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

fn report(run: &MilestoneRun) -> Value {
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
    json!({
        "milestone": {"id": run.id, "title": run.title, "file": run.relative_path},
        "target": if run.in_process { "in-process" } else { "base-url" },
        "passed": run.passed(),
        "totals": totals(run),
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
        "reason_floor": run.floor.iter().map(|(r, covered)| json!({"reason_code": r.code(), "covered": covered})).collect::<Vec<_>>(),
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

fn transcript(run: &MilestoneRun) -> String {
    let mut out = String::new();
    for (seq, exchange) in run.exchanges().enumerate() {
        let line = json!({
            "seq": seq + 1,
            "phase": exchange.phase.as_str(),
            "scenario": exchange.scenario,
            "step": exchange.step,
            "request": exchange.request,
            "response": exchange.response,
            "error": exchange.error,
            "passed": exchange.passed,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

fn contract_validation(run: &MilestoneRun) -> Value {
    let operations: Vec<Value> = run
        .routing
        .iter()
        .map(|probe| {
            json!({
                "operation_id": probe.step,
                "in_manifest": true,
                "routed": probe.passed,
                "probe": probe,
            })
        })
        .collect();
    json!({
        "passed": run.contracts.passed && run.routing.iter().all(|p| p.passed),
        "contracts": run.contracts,
        "operations": operations,
    })
}

fn auth_validation(run: &MilestoneRun) -> Value {
    let mut by_operation: Vec<(String, Vec<&Exchange>)> = Vec::new();
    for probe in &run.auth {
        let operation_id = probe
            .step
            .split_once('/')
            .map_or(probe.step.as_str(), |(op, _)| op);
        match by_operation.last_mut() {
            Some((last, probes)) if last == operation_id => probes.push(probe),
            _ => by_operation.push((operation_id.to_owned(), vec![probe])),
        }
    }
    let manifest = marketref::manifest::Manifest::embedded();
    let operations: Vec<Value> = by_operation
        .into_iter()
        .map(|(operation_id, probes)| {
            json!({
                "operation_id": operation_id,
                "rule": manifest.operation(&operation_id).map(|op| to_value(&op.auth)),
                "passed": probes.iter().all(|p| p.passed),
                "probes": probes,
            })
        })
        .collect();
    json!({
        "passed": run.auth.iter().all(|p| p.passed),
        "operations": operations,
    })
}

fn mark(passed: bool) -> &'static str {
    if passed { "PASS" } else { "**FAIL**" }
}

fn summary(run: &MilestoneRun) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}: {}\n", run.id, run.title.trim());
    let _ = writeln!(
        md,
        "Milestone file `{}`, run against {}. Result: {}.\n",
        run.relative_path,
        if run.in_process {
            "the in-process reference runtime"
        } else {
            "a server given by --base-url"
        },
        mark(run.passed())
    );
    let totals = totals(run);
    let _ = writeln!(md, "## Gates\n\n| gate | result |\n|---|---|");
    let _ = writeln!(
        md,
        "| contracts (drift check) | {} ({} generated files, {} examples, {} problems) |",
        mark(run.contracts.passed),
        run.contracts.files_checked,
        run.contracts.examples_checked,
        run.contracts.problems.len()
    );
    let routed = run.routing.iter().filter(|p| p.passed).count();
    let _ = writeln!(
        md,
        "| routing | {} ({routed}/{} operations) |",
        mark(routed == run.routing.len()),
        run.routing.len()
    );
    let auth = run.auth.iter().filter(|p| p.passed).count();
    let _ = writeln!(
        md,
        "| auth rules | {} ({auth}/{} probes) |\n",
        mark(auth == run.auth.len()),
        run.auth.len()
    );

    let _ = writeln!(
        md,
        "## Steps\n\n{} of {} steps passed.\n\n| scenario | step | operation | status | result |\n|---|---|---|---|---|",
        totals["steps_passed"], totals["steps"]
    );
    for step in &run.steps {
        let status = step
            .response
            .as_ref()
            .map_or_else(|| "-".to_owned(), |r| r.status.to_string());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {status} | {} |",
            step.scenario,
            step.step,
            step.operation_id.as_deref().unwrap_or("(no operation)"),
            mark(step.passed)
        );
    }
    let _ = writeln!(md, "\n## Reason-code floor\n");
    if run.floor.is_empty() {
        let _ = writeln!(md, "This milestone declares no floor.");
    }
    for (reason, covered) in &run.floor {
        let _ = writeln!(
            md,
            "- [{}] `{}`",
            if *covered { "x" } else { " " },
            reason.code()
        );
    }
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
    let failures: Vec<&Exchange> = run.exchanges().filter(|e| !e.passed).collect();
    if !failures.is_empty() || !run.runtime_problems.is_empty() {
        let _ = writeln!(md, "\n## Failures\n");
        for failure in failures {
            let _ = writeln!(md, "### {} {}\n", failure.phase.as_str(), failure.label());
            let _ = writeln!(md, "| check | expected | actual |\n|---|---|---|");
            for check in failure.checks.iter().filter(|c| !c.passed) {
                let _ = writeln!(
                    md,
                    "| {} | `{}` | `{}` |",
                    check.name.replace('|', "\\|"),
                    check.expected.to_string().replace('|', "\\|"),
                    check.actual.to_string().replace('|', "\\|")
                );
            }
            let _ = writeln!(md);
        }
        for problem in &run.runtime_problems {
            let _ = writeln!(md, "- runtime: {problem}");
        }
    }
    md
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

struct Case {
    classname: String,
    name: String,
    failure: Option<String>,
}

fn cases(run: &MilestoneRun) -> Vec<Case> {
    let mut cases = vec![Case {
        classname: format!("{}.gate", run.id),
        name: "contracts".to_owned(),
        failure: (!run.contracts.passed).then(|| {
            run.contracts
                .problems
                .iter()
                .map(|p| format!("{}: {}: {}", p.path, p.kind, p.message))
                .collect::<Vec<_>>()
                .join("\n")
        }),
    }];
    for exchange in run.exchanges() {
        let classname = match exchange.phase {
            Phase::Routing | Phase::Auth => format!("{}.gate.{}", run.id, exchange.phase.as_str()),
            Phase::Step => format!("{}.{}", run.id, exchange.scenario),
        };
        cases.push(Case {
            classname,
            name: exchange.step.clone(),
            failure: (!exchange.passed).then(|| {
                exchange
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{}: expected {} but got {}", c.name, c.expected, c.actual))
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        });
    }
    for (reason, covered) in &run.floor {
        cases.push(Case {
            classname: format!("{}.floor", run.id),
            name: reason.code().to_owned(),
            failure: (!covered).then(|| format!("no passing exchange carried `{}`", reason.code())),
        });
    }
    cases.push(Case {
        classname: format!("{}.outcome", run.id),
        name: "sha256".to_owned(),
        failure: (!run.outcome_check.passed()).then(|| {
            format!(
                "outcome sha256 {} differs from the pinned {}",
                run.outcome_check.actual,
                run.outcome_check.expected.as_deref().unwrap_or("-")
            )
        }),
    });
    for problem in &run.runtime_problems {
        cases.push(Case {
            classname: format!("{}.runtime", run.id),
            name: "runtime".to_owned(),
            failure: Some(problem.clone()),
        });
    }
    cases
}

/// JUnit XML for CI systems: one test suite per milestone, one test case per gate, probe,
/// step, floor reason and the outcome pin. No times, so that the file is deterministic.
pub fn junit(runs: &[MilestoneRun]) -> String {
    let suites: Vec<(String, Vec<Case>)> = runs
        .iter()
        .map(|run| (run.id.clone(), cases(run)))
        .collect();
    let tests: usize = suites.iter().map(|(_, cases)| cases.len()).sum();
    let failures: usize = suites
        .iter()
        .map(|(_, cases)| cases.iter().filter(|c| c.failure.is_some()).count())
        .sum();
    let mut xml = String::new();
    let _ = writeln!(xml, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        xml,
        r#"<testsuites name="verify" tests="{tests}" failures="{failures}" errors="0">"#
    );
    for (id, cases) in &suites {
        let failed = cases.iter().filter(|c| c.failure.is_some()).count();
        let _ = writeln!(
            xml,
            r#"  <testsuite name="{}" tests="{}" failures="{failed}" errors="0" skipped="0">"#,
            xml_escape(id),
            cases.len()
        );
        for case in cases {
            let head = format!(
                r#"    <testcase classname="{}" name="{}""#,
                xml_escape(&case.classname),
                xml_escape(&case.name)
            );
            match &case.failure {
                None => {
                    let _ = writeln!(xml, "{head}/>");
                }
                Some(text) => {
                    let first = text.lines().next().unwrap_or_default();
                    let _ = writeln!(xml, "{head}>");
                    let _ = writeln!(
                        xml,
                        r#"      <failure message="{}">{}</failure>"#,
                        xml_escape(first),
                        xml_escape(text)
                    );
                    let _ = writeln!(xml, "    </testcase>");
                }
            }
        }
        let _ = writeln!(xml, "  </testsuite>");
    }
    let _ = writeln!(xml, "</testsuites>");
    xml
}

/// `coverage.json`, written at the artifacts root by `--coverage`.
pub fn coverage_file(coverage: &Coverage) -> String {
    pretty(&to_value(coverage))
}
