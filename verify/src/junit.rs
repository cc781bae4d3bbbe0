//! JUnit XML for CI systems: one test suite per milestone, one test case per gate, probe,
//! seed and scenario step, contract rule, floor reason and the outcome pin. No times, so that
//! the file is deterministic.

use std::fmt::Write as _;

use crate::exchange::Phase;
use crate::run::MilestoneRun;

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
    /// What is reported without failing (an advisory break), as `<system-out>`.
    note: Option<String>,
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
        note: None,
    }];
    if let Some(stopped) = &run.seed.stopped {
        cases.push(Case {
            classname: format!("{}.seed", run.id),
            name: "seed".to_owned(),
            failure: Some(stopped.clone()),
            note: None,
        });
    }
    for exchange in run.exchanges() {
        let classname = match exchange.phase {
            Phase::Routing | Phase::Auth => format!("{}.gate.{}", run.id, exchange.phase.as_str()),
            Phase::Seed | Phase::Step => format!("{}.{}", run.id, exchange.scenario),
        };
        let failed = (!exchange.passed).then(|| {
            exchange
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{}: expected {} but got {}", c.name, c.expected, c.actual))
                .collect::<Vec<_>>()
                .join("\n")
        });
        let (failure, note) = if exchange.advisory {
            (None, failed.map(|text| format!("advisory: {text}")))
        } else {
            (failed, None)
        };
        cases.push(Case {
            classname,
            name: exchange.step.clone(),
            failure,
            note,
        });
    }
    for verdict in &run.rules {
        let broke = (!verdict.held()).then(|| {
            format!(
                "broken in {} of {} answers: {}",
                verdict.broken_by.len(),
                verdict.judged,
                verdict.broken_by.join(", ")
            )
        });
        let (failure, note) = if verdict.advisory {
            (None, broke.map(|text| format!("advisory: {text}")))
        } else {
            (broke, None)
        };
        cases.push(Case {
            classname: format!("{}.rule", run.id),
            name: verdict.rule.name().to_owned(),
            failure,
            note,
        });
    }
    for reason in &run.floor {
        cases.push(Case {
            classname: format!("{}.floor", run.id),
            name: reason.reason.code().to_owned(),
            failure: (!reason.returned())
                .then(|| format!("no step's answer carried `{}`", reason.reason.code())),
            note: None,
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
        note: None,
    });
    for problem in &run.runtime_problems {
        cases.push(Case {
            classname: format!("{}.runtime", run.id),
            name: "runtime".to_owned(),
            failure: Some(problem.clone()),
            note: None,
        });
    }
    cases
}

/// The JUnit document of `runs`.
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
            match (&case.failure, &case.note) {
                (None, None) => {
                    let _ = writeln!(xml, "{head}/>");
                }
                (failure, note) => {
                    let _ = writeln!(xml, "{head}>");
                    if let Some(text) = failure {
                        let first = text.lines().next().unwrap_or_default();
                        let _ = writeln!(
                            xml,
                            r#"      <failure message="{}">{}</failure>"#,
                            xml_escape(first),
                            xml_escape(text)
                        );
                    }
                    if let Some(text) = note {
                        let _ =
                            writeln!(xml, "      <system-out>{}</system-out>", xml_escape(text));
                    }
                    let _ = writeln!(xml, "    </testcase>");
                }
            }
        }
        let _ = writeln!(xml, "  </testsuite>");
    }
    let _ = writeln!(xml, "</testsuites>");
    xml
}
