//! Judging a response against what its step (or probe) asks: the expectations, and the
//! response schema of a success. What every answer must keep whatever the step asks is judged
//! apart, in [`crate::rules`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use marketref::contracts::schemas;
use marketref::manifest::Manifest;
use serde::Serialize;
use serde_json::{Value, json};

use crate::milestone::{Expect, Matcher};
use crate::route::Route;
use crate::target::Incoming;
use crate::template::{self, Captures};

/// One judged expectation.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked: `status`, `json /run/run_id equals`, `contract: response schema` ...
    pub name: String,
    pub passed: bool,
    pub expected: Value,
    pub actual: Value,
}

impl Check {
    pub fn new(name: impl Into<String>, expected: Value, actual: Value) -> Check {
        let passed = expected == actual;
        Check {
            name: name.into(),
            passed,
            expected,
            actual,
        }
    }

    pub fn judged(name: impl Into<String>, passed: bool, expected: Value, actual: Value) -> Check {
        Check {
            name: name.into(),
            passed,
            expected,
            actual,
        }
    }
}

pub const ERROR_ENVELOPE: &str = "ErrorEnvelope";

/// What every operation's success must be (its response schema, inside the success envelope
/// when the operation wraps its answers), by operation id, plus the error envelope by its name;
/// compiled once.
fn validators() -> &'static BTreeMap<String, jsonschema::Validator> {
    static VALIDATORS: OnceLock<BTreeMap<String, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let compile = |schema: Value| {
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&schema)
                .ok()
        };
        let mut validators: BTreeMap<String, jsonschema::Validator> = Manifest::embedded()
            .operations
            .iter()
            .filter_map(|op| {
                let validator = compile(schemas::answer_schema(op)?)?;
                Some((op.operation_id.clone(), validator))
            })
            .collect();
        if let Some(validator) = schemas::named(ERROR_ENVELOPE).and_then(compile) {
            validators.insert(ERROR_ENVELOPE.to_owned(), validator);
        }
        validators
    })
}

/// Schema failures of `value` against the answer of the operation `name` (or the error
/// envelope), as `instance_path: message`.
pub fn schema_failures(name: &str, value: &Value) -> Vec<String> {
    let Some(validator) = validators().get(name) else {
        return vec![format!("the contract has no compiled schema for `{name}`")];
    };
    let mut failures: Vec<String> = validator
        .iter_errors(value)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect();
    failures.sort();
    failures.truncate(10);
    failures
}

/// The schema check of a success: the operation's response schema, against the JSON body or,
/// for an operation that answers text, the text. `None` for errors (the contract rules judge
/// their envelope) and for routes no operation declares.
/// A stream (`streamed`: the request asked for the operation's event stream) must be one
/// whose last event is the operation's end event: a stream cut short is not a whole answer.
pub fn response_schema_check(
    route: &Route<'_>,
    response: &Incoming,
    body: Option<&Value>,
    streamed: bool,
) -> Option<Check> {
    let operation = route.operation()?;
    if response.status >= 400 {
        return None;
    }
    if let (true, Some(stream)) = (streamed, &operation.event_stream) {
        let events = marketref::sse::parse(&String::from_utf8_lossy(&response.body));
        let last = events.last().map(|event| event.event.as_str());
        return Some(Check::judged(
            "event stream",
            last == Some(stream.end_event.as_str()),
            json!({"last event": stream.end_event}),
            json!({"last event": last, "events": events.len()}),
        ));
    }
    let failures = if operation.response_media_type.is_some() {
        let text = String::from_utf8_lossy(&response.body).into_owned();
        schema_failures(&operation.operation_id, &Value::String(text))
    } else {
        match body {
            Some(body) => schema_failures(&operation.operation_id, body),
            None => vec!["the body is not JSON".to_owned()],
        }
    };
    Some(Check::judged(
        "response schema",
        failures.is_empty(),
        json!(operation.response_schema),
        json!(failures),
    ))
}

/// What the milestone's step expects. `body` is the normalised body (or the recorded text).
/// `${capture}` references in expected values are resolved from `captures` first.
pub fn expectation_checks(
    expect: &Expect,
    response: &Incoming,
    body: &Value,
    captures: &Captures,
) -> Vec<Check> {
    let mut checks = vec![Check::new(
        "status",
        json!(expect.status),
        json!(response.status),
    )];
    if let Some(code) = &expect.error_code {
        checks.push(Check::new(
            "error.code",
            json!(code),
            json!(body.pointer("/error/code")),
        ));
    }
    if let Some(reason) = expect.reason_code {
        checks.push(Check::new(
            "details.reason_code",
            json!(reason.code()),
            json!(body.pointer("/error/details/reason_code")),
        ));
    }
    for (name, value) in &expect.headers {
        let expected = match value
            .as_deref()
            .map(|text| template::substitute(text, captures))
            .transpose()
        {
            Ok(expected) => json!(expected),
            Err(problem) => json!(problem),
        };
        checks.push(Check::new(
            format!("header {name}"),
            expected,
            json!(response.headers.get(name)),
        ));
    }
    if let Some(sha) = &expect.body_sha256 {
        let expected = template::substitute(sha, captures).unwrap_or_else(|problem| problem);
        checks.push(Check::new(
            "body sha256",
            json!(expected),
            json!(marketref::json::sha256_hex(&response.body)),
        ));
    }
    for check in &expect.json {
        let found = body.pointer(&check.at);
        let name = format!(
            "json {} {}",
            display_pointer(&check.at),
            check.matcher.describe()
        );
        checks.push(match &check.matcher {
            Matcher::Equals(expected) => match template::substitute_value(expected, captures) {
                Ok(expected) => Check::judged(
                    name,
                    found == Some(&expected),
                    expected,
                    found.cloned().unwrap_or_else(absent),
                ),
                Err(problem) => Check::judged(
                    name,
                    false,
                    json!(problem),
                    found.cloned().unwrap_or_else(absent),
                ),
            },
            Matcher::Count(count) => {
                let (size, actual) = match found {
                    Some(Value::Array(items)) => (Some(items.len()), json!(items.len())),
                    Some(Value::Object(members)) => (Some(members.len()), json!(members.len())),
                    Some(other) => (None, json!({"not an array or object": other})),
                    None => (None, absent()),
                };
                Check::judged(name, size == Some(*count), json!(count), actual)
            }
            Matcher::Matches(regex) => {
                let passed = match found {
                    Some(Value::String(text)) => regex.is_match(text),
                    Some(other) => regex.is_match(&other.to_string()),
                    None => false,
                };
                Check::judged(
                    name,
                    passed,
                    json!(regex.as_str()),
                    found.cloned().unwrap_or_else(absent),
                )
            }
            Matcher::Absent => Check::judged(
                name,
                found.is_none(),
                absent(),
                found.cloned().unwrap_or_else(absent),
            ),
        });
    }
    checks
}

/// How a missing value shows in reports.
pub fn absent() -> Value {
    json!("<absent>")
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(whole body)"
    } else {
        pointer
    }
}
