//! One request and its response as the artifacts record them: only what is the same on every
//! run. No time, no port, no temporary path, no random value goes in here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::check::Check;
use crate::target::{Incoming, Outgoing};

/// What the store path in `/healthz` is replaced with: it names a temporary file in process
/// and any path at all elsewhere.
pub const STORE_PATH_PLACEHOLDER: &str = "<store path>";
/// Request and response bodies larger than this are recorded by size and SHA-256.
const MAX_RECORDED_TEXT: usize = 4096;
/// Response headers recorded besides those a step expects: the ones the contract defines.
const RECORDED_HEADERS: &[&str] = &[
    "allow",
    "content-type",
    "idempotent-replayed",
    "x-correlation-id",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A generated probe: is the operation routed?
    Routing,
    /// A generated probe of an auth rule.
    Auth,
    /// A step of the milestone (the seed included).
    Step,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Routing => "routing",
            Phase::Auth => "auth",
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
    pub checks: Vec<Check>,
    pub passed: bool,
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

/// The body as recorded when it is not JSON.
pub fn non_json_body(response: &Incoming) -> Value {
    record_bytes(&response.body)
}

/// Replaces values that differ between runs and servers for reasons outside the contract: the
/// store path that `GET /healthz` reports, and the time a matching run's optimal selection took
/// (`diagnostics.selection.solve_ms`, a measurement; the selection itself is deterministic).
pub fn normalise(operation_id: Option<&str>, body: &mut Value) {
    match operation_id {
        Some("system.health") => {
            if let Some(path) = body.pointer_mut("/store/path")
                && path.is_string()
            {
                *path = Value::String(STORE_PATH_PLACEHOLDER.to_owned());
            }
        }
        Some("marketplaceMatching.run" | "marketplaceMatchingRun.get") => {
            if let Some(run) = body.get_mut("run") {
                zero_solve_ms(run);
            }
        }
        Some("marketplaceMatchingRun.list") => {
            if let Some(Value::Array(runs)) = body.get_mut("runs") {
                runs.iter_mut().for_each(zero_solve_ms);
            }
        }
        _ => {}
    }
}

fn zero_solve_ms(run: &mut Value) {
    if let Some(solve_ms) = run.pointer_mut("/diagnostics/selection/solve_ms")
        && solve_ms.is_u64()
    {
        *solve_ms = Value::from(0);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(solve_ms: u64) -> Value {
        json!({"run_id": "mrun_000001", "diagnostics": {"selection": {"value": 1.78, "solve_ms": solve_ms}}})
    }

    #[test]
    fn a_selections_solve_ms_is_zeroed_on_the_three_run_operations_only() {
        for operation in ["marketplaceMatching.run", "marketplaceMatchingRun.get"] {
            let mut body = json!({"run": run(17)});
            normalise(Some(operation), &mut body);
            assert_eq!(body, json!({"run": run(0)}), "{operation}");
        }
        let mut list = json!({"runs": [run(3), run(0), {"run_id": "mrun_000002"}]});
        normalise(Some("marketplaceMatchingRun.list"), &mut list);
        assert_eq!(
            list,
            json!({"runs": [run(0), run(0), {"run_id": "mrun_000002"}]})
        );
        let mut other = json!({"run": run(17)});
        normalise(Some("cycleProposals.get"), &mut other);
        assert_eq!(
            other,
            json!({"run": run(17)}),
            "other operations are left alone"
        );
    }

    #[test]
    fn the_health_store_path_is_replaced() {
        let mut body = json!({"store": {"path": "/tmp/x/marketref.db", "backend": "sqlite"}});
        normalise(Some("system.health"), &mut body);
        assert_eq!(body["store"]["path"], STORE_PATH_PLACEHOLDER);
    }
}
