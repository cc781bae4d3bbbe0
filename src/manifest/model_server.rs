//! The manifest's `model_server` section: the contract a vendor's deployment answers (spec
//! section 8). The platform does not route it; `mp validate` checks a running model server
//! against it, with the schemas it names.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::HttpMethod;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelServerContract {
    pub description: String,
    /// The 95th percentile of `/infer`'s latency over a validation's 20 requests that a model
    /// server must stay under.
    #[schemars(range(min = 1))]
    pub infer_p95_budget_ms: u64,
    #[schemars(length(min = 1))]
    pub endpoints: Vec<ModelServerEndpoint>,
}

/// One route of a model server.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelServerEndpoint {
    /// `health`, `ready`, `infer`.
    #[schemars(regex(pattern = r"^[a-z]+$"))]
    pub name: String,
    pub method: HttpMethod,
    #[schemars(regex(pattern = r"^/[a-z/]*$"))]
    pub path: String,
    /// The tasks whose model servers answer it (`signal`, ...).
    #[schemars(length(min = 1))]
    pub tasks: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_schema: Option<String>,
    /// The schema of its answers, for every status in `statuses`.
    pub response_schema: String,
    /// The statuses a model server in good health may answer; the first is that of a server
    /// ready to answer.
    #[schemars(length(min = 1))]
    pub statuses: Vec<u16>,
}

impl ModelServerContract {
    pub fn endpoint(&self, name: &str) -> Option<&ModelServerEndpoint> {
        self.endpoints.iter().find(|endpoint| endpoint.name == name)
    }
}
