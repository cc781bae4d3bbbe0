//! Judging a response: what the milestone expects, and what the contract requires of every
//! response whether a milestone asks or not (schema, allowed reason, the registry's code and
//! message, the echoed correlation id).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use marketref::contracts::schemas;
use marketref::headers::{CORRELATION_ID, IDEMPOTENT_REPLAYED};
use marketref::manifest::Manifest;
use marketref::reason::Reason;
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

const ERROR_ENVELOPE: &str = "ErrorEnvelope";

/// Every response schema of the manifest plus the error envelope, compiled once.
fn validators() -> &'static BTreeMap<String, jsonschema::Validator> {
    static VALIDATORS: OnceLock<BTreeMap<String, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let mut names: Vec<&str> = Manifest::embedded()
            .operations
            .iter()
            .map(|op| op.response_schema.as_str())
            .collect();
        names.push(ERROR_ENVELOPE);
        names
            .into_iter()
            .filter_map(|name| {
                let schema = schemas::named(name)?;
                let validator = jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .ok()?;
                Some((name.to_owned(), validator))
            })
            .collect()
    })
}

/// Schema failures of `value` against the schema `name`, as `instance_path: message`.
pub fn schema_failures(name: &str, value: &Value) -> Vec<String> {
    let Some(validator) = validators().get(name) else {
        return vec![format!(
            "the contract has no compiled schema named `{name}`"
        )];
    };
    let mut failures: Vec<String> = validator
        .iter_errors(value)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect();
    failures.sort();
    failures.truncate(10);
    failures
}

/// What the contract requires of any response on `route`.
pub fn contract_checks(
    route: &Route<'_>,
    response: &Incoming,
    body: Option<&Value>,
    correlation_id: &str,
) -> Vec<Check> {
    // An operation that answers text (the Prometheus metrics, the console page) is judged on
    // its media type and its text; its errors are JSON like every other.
    if let (Some(operation), true) = (route.operation(), response.status < 400)
        && let Some(media_type) = &operation.response_media_type
    {
        return text_checks(operation, response, media_type, correlation_id);
    }
    let mut checks = Vec::new();
    let replayed = response
        .headers
        .get(IDEMPOTENT_REPLAYED)
        .map(String::as_str)
        == Some("true");
    checks.push(Check::new(
        "contract: content-type",
        json!("application/json"),
        json!(
            response.headers.get("content-type").map(|value| value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim())
        ),
    ));
    let Some(body) = body else {
        checks.push(Check::judged(
            "contract: JSON body",
            false,
            json!("a JSON document"),
            json!("not JSON"),
        ));
        return checks;
    };
    checks.push(correlation_id_echoed(response, correlation_id));

    if response.status >= 400 {
        let failures = schema_failures(ERROR_ENVELOPE, body);
        checks.push(Check::judged(
            "contract: error envelope schema",
            failures.is_empty(),
            json!(ERROR_ENVELOPE),
            json!(failures),
        ));
        let allowed = route.allowed_reasons();
        let code = body
            .pointer("/error/details/reason_code")
            .and_then(Value::as_str);
        let reason = code.and_then(Reason::from_code);
        checks.push(Check::judged(
            "contract: reason allowed for this operation",
            reason.is_some_and(|r| allowed.contains(&r)),
            json!(allowed.iter().map(|r| r.code()).collect::<Vec<_>>()),
            json!(code),
        ));
        if let Some(reason) = reason {
            checks.push(Check::new(
                "contract: error as the registry declares it",
                json!({"status": reason.status(), "code": reason.class().code(), "message": reason.message()}),
                json!({
                    "status": response.status,
                    "code": body.pointer("/error/code"),
                    "message": body.pointer("/error/message"),
                }),
            ));
        }
    } else if let Some(operation) = route.operation() {
        checks.push(Check::new(
            "contract: success status",
            json!(operation.success_status),
            json!(response.status),
        ));
        let failures = schema_failures(&operation.response_schema, body);
        checks.push(Check::judged(
            "contract: response schema",
            failures.is_empty(),
            json!(operation.response_schema),
            json!(failures),
        ));
    } else {
        checks.push(Check::judged(
            "contract: a route no operation declares answers with an error",
            false,
            json!(">= 400"),
            json!(response.status),
        ));
    }

    // A replay returns the stored body as it was, with the first request's correlation id.
    if let (Some(Value::String(echoed)), false) = (body.get("correlation_id"), replayed) {
        checks.push(Check::new(
            "contract: correlation_id in the body",
            json!(correlation_id),
            json!(echoed),
        ));
    }
    checks
}

/// Every answer, JSON or text, success or error, echoes the correlation id sent.
fn correlation_id_echoed(response: &Incoming, correlation_id: &str) -> Check {
    Check::new(
        format!("contract: {CORRELATION_ID} echoed"),
        json!(correlation_id),
        json!(response.headers.get(CORRELATION_ID)),
    )
}

fn media_type_essence(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

/// The contract of a success answered as text: its media type, its status, the correlation id
/// echoed, and its text against the response schema.
fn text_checks(
    operation: &marketref::manifest::Operation,
    response: &Incoming,
    media_type: &str,
    correlation_id: &str,
) -> Vec<Check> {
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let failures = schema_failures(&operation.response_schema, &Value::String(text));
    vec![
        Check::new(
            "contract: content-type",
            json!(media_type_essence(media_type)),
            json!(
                response
                    .headers
                    .get("content-type")
                    .map(|value| media_type_essence(value))
            ),
        ),
        correlation_id_echoed(response, correlation_id),
        Check::new(
            "contract: success status",
            json!(operation.success_status),
            json!(response.status),
        ),
        Check::judged(
            "contract: response schema",
            failures.is_empty(),
            json!(operation.response_schema),
            json!(failures),
        ),
    ]
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
