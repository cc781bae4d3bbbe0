//! Named checks, as `mp doctor` and `mp validate` report them: a line each (with `--json`, a
//! `checks` array in the command's document), and exit 1 naming the ones that failed.

use std::time::Duration;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::output::Output;

pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
    /// How long it took (JUnit's `time`).
    pub elapsed: Duration,
}

impl Check {
    pub fn new(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            passed,
            detail: detail.into(),
            elapsed: Duration::ZERO,
        }
    }
}

/// Prints the checks: `document` gains `passed` and `checks`. When one failed, the error's
/// message is `failure` of their names (joined with `, `); the document is its `--json` output.
pub fn report(
    out: &Output,
    mut document: Value,
    checks: &[Check],
    failure: impl FnOnce(&str) -> String,
) -> Result<()> {
    let passed = checks.iter().all(|check| check.passed);
    document["passed"] = json!(passed);
    document["checks"] = checks
        .iter()
        .map(|c| json!({"name": c.name, "passed": c.passed, "detail": c.detail}))
        .collect();
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let human: Vec<String> = checks
        .iter()
        .map(|c| {
            let verdict = if c.passed { "PASS" } else { "FAIL" };
            format!("{verdict}  {:width$}  {}", c.name, c.detail)
        })
        .collect();
    out.emit(&document, &human.join("\n"));
    if passed {
        return Ok(());
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    Err(Error::failed(failure(&failed.join(", "))).printed())
}
