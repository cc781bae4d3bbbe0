//! The activity log's records: one per call of an operation whose manifest entry says
//! `records_activity`, written by the pipeline in the request's transaction.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actor::ActorRef;
use crate::reason::Reason;

/// One call of an operation that records activity: who, what, when, and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityEvent {
    /// The request clock (`x-now-iso`), else the server clock.
    pub at: String,
    pub operation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<ActorRef>,
    pub status: u16,
    /// The reason of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<Reason>,
    /// The details of a failure (diagnostics of a match that found nothing, for example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

/// An [`ActivityEvent`] with its place in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedActivity {
    pub seq: u64,
    #[serde(flatten)]
    pub event: ActivityEvent,
}
