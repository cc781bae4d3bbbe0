//! Deployments, their tokens and heartbeats (spec section 5).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::JsNumber;

use super::enums::{DeploymentStatus, ReportedStatus};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentCreateRequest {
    #[schemars(length(min = 1, max = 64))]
    pub model_id: String,
    #[schemars(length(min = 1, max = 64))]
    pub version_id: String,
    /// Where the deployment's model server answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000), regex(pattern = r"^https?://[^\s]+$"))]
    pub endpoint_url: Option<String>,
}

/// The last heartbeat of a deployment, as it was received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LastHeartbeat {
    pub status: ReportedStatus,
    pub timestamp: String,
    pub received_at: String,
    pub metrics: Option<HeartbeatMetrics>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub deployment_id: String,
    pub vendor_id: String,
    pub model_id: String,
    pub version_id: String,
    pub endpoint_url: Option<String>,
    pub created_at: String,
    /// From the last heartbeat, or `offline` after 3 minutes without one (by the request
    /// clock), or `pending` before the first.
    pub status: DeploymentStatus,
    pub last_heartbeat_at: Option<String>,
    pub last_heartbeat: Option<LastHeartbeat>,
}

/// A deployment and its first token, shown here once.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentCreated {
    pub deployment_id: String,
    pub infra_token: String,
    pub token_id: String,
    pub token_expires_at: String,
    pub deployment: Deployment,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRotateRequest {
    /// Revoke every earlier token of the deployment at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_previous: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIssued {
    pub deployment_id: String,
    pub infra_token: String,
    pub token_id: String,
    pub token_expires_at: String,
    /// The earlier tokens this revoked.
    pub revoked_token_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatMetrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub cpu_usage: Option<JsNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub memory_usage: Option<JsNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub avg_latency_ms: Option<JsNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_last_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_count_last_minute: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// Must be the token's deployment.
    #[schemars(length(min = 1, max = 64))]
    pub deployment_id: String,
    pub status: ReportedStatus,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<HeartbeatMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRecorded {
    pub deployment_id: String,
    pub status: DeploymentStatus,
    pub received_at: String,
}
