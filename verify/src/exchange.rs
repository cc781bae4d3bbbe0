//! One request and its response as the artifacts record them: only what is the same on every
//! run. No time, no port, no temporary path, no random value goes in here.

use std::collections::BTreeMap;
use std::time::Duration;

use marketref::headers::{CORRELATION_ID, IDEMPOTENT_REPLAYED};
use marketref::manifest::Operation;
use serde::Serialize;
use serde_json::{Value, json};

use crate::check::Check;
use crate::event_stream;
use crate::rules::RuleCheck;
use crate::target::{Incoming, Outgoing};

/// Request and response bodies larger than this are recorded by size and SHA-256.
const MAX_RECORDED_TEXT: usize = 4096;
/// Response headers recorded besides those a step expects: the ones the contract defines.
const RECORDED_HEADERS: &[&str] = &["allow", "content-type", IDEMPOTENT_REPLAYED, CORRELATION_ID];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A generated probe: is the operation routed?
    Routing,
    /// A generated probe of an auth rule.
    Auth,
    /// A request that loads the seed (reset, fixtures, API steps): how the seeded state was
    /// reached, which differs by path, so the outcome leaves it out.
    Seed,
    /// A step of the milestone: its scenarios and the seed's own `steps`.
    Step,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Routing => "routing",
            Phase::Auth => "auth",
            Phase::Seed => "seed",
            Phase::Step => "step",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

/// One exchange, judged.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub phase: Phase,
    /// The scenario, or for probes the gate (`routing`, `auth`).
    pub scenario: String,
    /// The step, or for probes `<operation_id>/<probe>`.
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// The milestone line of the step (none for probes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Absent when the request could not be built (a capture had no value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RecordedRequest>,
    /// Absent when no response came (transport failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    /// Why there is no request or no response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the step or probe itself asks: its expectations and a success's response schema.
    pub checks: Vec<Check>,
    /// Whether every one of `checks` held.
    pub passed: bool,
    /// The contract rules judged on this answer (see [`crate::rules`]), apart from `checks`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleCheck>,
    /// The step's words for what it checks, for the conformance report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The milestone marks this step advisory: its failure does not fail the run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
    /// Terminal and stamp folder only.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Exchange {
    /// The reason code of the response, when it is an error envelope.
    pub fn reason_code(&self) -> Option<&str> {
        self.response
            .as_ref()?
            .body
            .pointer("/error/details/reason_code")?
            .as_str()
    }

    pub fn label(&self) -> String {
        format!("{}/{}", self.scenario, self.step)
    }

    /// The answer in a few words: `404 route_not_found`, `200`, `no answer (...)`.
    pub fn answer_words(&self) -> String {
        match (&self.response, self.reason_code()) {
            (Some(response), Some(reason)) => format!("{} {reason}", response.status),
            (Some(response), None) => response.status.to_string(),
            (None, _) => format!(
                "no answer ({})",
                self.error.as_deref().unwrap_or("no request was sent")
            ),
        }
    }

    /// `METHOD /path` of the request, or the step's label when none was sent.
    pub fn request_words(&self) -> String {
        self.request.as_ref().map_or_else(
            || self.label(),
            |request| format!("{} {}", request.method, request.path),
        )
    }

    /// Whether this exchange's own failure fails the run.
    pub fn fails_run(&self) -> bool {
        !self.passed && !self.advisory
    }

    /// The contract rules this answer broke.
    pub fn broken_rules(&self) -> impl Iterator<Item = &RuleCheck> {
        self.rules.iter().filter(|check| !check.passed)
    }
}

/// The request as recorded: the body as JSON when it is JSON, small text as text, anything
/// else by size and SHA-256.
pub fn record_request(request: &Outgoing) -> RecordedRequest {
    RecordedRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        headers: request.headers.iter().cloned().collect(),
        body: request.body.as_deref().map(record_bytes),
    }
}

fn record_bytes(bytes: &[u8]) -> Value {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes)
        && bytes.len() <= 64 * MAX_RECORDED_TEXT
    {
        return value;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if text.len() <= MAX_RECORDED_TEXT => json!({ "text": text }),
        _ => json!({ "bytes": bytes.len(), "sha256": marketref::json::sha256_hex(bytes) }),
    }
}

/// The response as recorded and as expectations see it: the JSON body (or `{"text": ...}`
/// when it is not JSON), normalised; the contract's headers plus `extra_headers`.
pub fn record_response(
    response: &Incoming,
    normalised_body: Value,
    extra_headers: &[String],
) -> RecordedResponse {
    let headers = response
        .headers
        .iter()
        .filter(|(name, _)| {
            RECORDED_HEADERS.contains(&name.as_str()) || extra_headers.contains(name)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    RecordedResponse {
        status: response.status,
        headers,
        body: normalised_body,
    }
}

/// The body as JSON, or `None` when it is not JSON.
pub fn parse_body(response: &Incoming) -> Option<Value> {
    serde_json::from_slice(&response.body).ok()
}

/// The body as recorded when it is not JSON: an event stream's events, or the text.
pub fn non_json_body(response: &Incoming) -> Value {
    let streamed = response
        .headers
        .get("content-type")
        .is_some_and(|value| event_stream::is_event_stream(value));
    if streamed {
        event_stream::as_json(&response.body)
    } else {
        record_bytes(&response.body)
    }
}

/// Replaces, in a success body, the fields the answering operation declares volatile in the
/// manifest (`volatile_fields`): values that differ between runs and servers for reasons outside
/// the contract, like the store's file that `GET /healthz` reports or the time a selection took.
/// A field the body does not have is left alone, and so is every error body.
pub fn normalise(operation: Option<&Operation>, status: u16, body: &mut Value) {
    let Some(operation) = operation else {
        return;
    };
    if !(200..300).contains(&status) {
        return;
    }
    for field in &operation.volatile_fields {
        replace_at(body, &field.at, &field.replace_with);
    }
}

/// Writes `with` at the JSON pointer `at` wherever `value` has it; a `*` token stands for every
/// item of an array.
fn replace_at(value: &mut Value, at: &str, with: &Value) {
    let every_item = at
        .match_indices("/*")
        .map(|(index, _)| index)
        .find(|&index| matches!(at.as_bytes().get(index + 2), None | Some(b'/')));
    match every_item {
        None => {
            if let Some(found) = value.pointer_mut(at) {
                *found = with.clone();
            }
        }
        Some(index) => {
            if let Some(Value::Array(items)) = value.pointer_mut(&at[..index]) {
                for item in items {
                    replace_at(item, &at[index + 2..], with);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use marketref::manifest::{Manifest, VolatileField};
    use serde_json::json;

    use super::*;

    fn declared(operation_id: &str) -> &'static Operation {
        Manifest::embedded()
            .operation(operation_id)
            .unwrap_or_else(|| panic!("the manifest declares `{operation_id}`"))
    }

    fn normalised(operation: &Operation, status: u16, mut body: Value) -> Value {
        normalise(Some(operation), status, &mut body);
        body
    }

    fn run(solve_ms: u64) -> Value {
        json!({"run_id": "mrun_000001", "diagnostics": {"selection": {"value": 1.78, "solve_ms": solve_ms}}})
    }

    #[test]
    fn a_selections_solve_ms_is_zeroed_where_the_manifest_says() {
        for operation in ["marketplaceMatching.run", "marketplaceMatchingRun.get"] {
            assert_eq!(
                normalised(declared(operation), 200, json!({"run": run(17)})),
                json!({"run": run(0)}),
                "{operation}"
            );
        }
        assert_eq!(
            normalised(
                declared("marketplaceMatchingRun.list"),
                200,
                json!({"runs": [run(3), run(0), {"run_id": "mrun_000002"}]})
            ),
            json!({"runs": [run(0), run(0), {"run_id": "mrun_000002"}]}),
            "every run of the list, and one without diagnostics left as it is"
        );
    }

    #[test]
    fn the_health_store_path_and_backend_are_replaced() {
        let body = json!({"store": {"path": "/tmp/x/marketref.db", "backend": "sqlite"}});
        assert_eq!(
            normalised(declared("system.health"), 200, body),
            json!({"store": {"path": "<store path>", "backend": "<store backend>"}})
        );
    }

    #[test]
    fn a_star_walks_every_item_and_a_missing_field_is_left_alone() {
        let mut operation = declared("system.health").clone();
        operation.operation_id = "madeUp.list".to_owned();
        operation.volatile_fields = vec![
            VolatileField {
                at: "/pages/*/items/*/took_ms".to_owned(),
                replace_with: json!(0),
                secret: false,
            },
            VolatileField {
                at: "/host/name".to_owned(),
                replace_with: json!("<host>"),
                secret: false,
            },
            VolatileField {
                at: "/not/there".to_owned(),
                replace_with: json!("<never written>"),
                secret: false,
            },
        ];
        let body = json!({
            "host": {"name": "build-7"},
            "pages": [
                {"items": [{"took_ms": 5}, {"took_ms": 9, "id": "b"}, {"id": "c"}]},
                {"items": []},
                {"no_items": true},
                {"items": {"took_ms": 3}},
            ],
        });
        assert_eq!(
            normalised(&operation, 200, body.clone()),
            json!({
                "host": {"name": "<host>"},
                "pages": [
                    {"items": [{"took_ms": 0}, {"took_ms": 0, "id": "b"}, {"id": "c"}]},
                    {"items": []},
                    {"no_items": true},
                    {"items": {"took_ms": 3}},
                ],
            })
        );
        assert_eq!(
            normalised(&operation, 404, body.clone()),
            body,
            "an error body is never touched"
        );
    }

    #[test]
    fn an_operation_without_volatile_fields_is_left_untouched() {
        let operation = declared("cycleProposals.get");
        assert!(operation.volatile_fields.is_empty());
        let body = json!({"run": run(17), "store": {"path": "/tmp/x/marketref.db"}});
        assert_eq!(normalised(operation, 200, body.clone()), body);
        let mut unrouted = body.clone();
        normalise(None, 200, &mut unrouted);
        assert_eq!(
            unrouted, body,
            "nor is the body of a route no operation declares"
        );
    }
}
