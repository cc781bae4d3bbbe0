//! Who calls: the actor types of the trusted-gateway identity model and the `{type, id}`
//! reference that records carry. Below every other layer: the manifest's auth rules, the
//! pipeline and the domains all read these.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kind of caller, from `x-actor-type`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ActorType {
    User,
    Partner,
    Agent,
}

impl ActorType {
    pub const ALL: [ActorType; 3] = [ActorType::User, ActorType::Partner, ActorType::Agent];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::User => "user",
            ActorType::Partner => "partner",
            ActorType::Agent => "agent",
        }
    }

    pub fn parse(text: &str) -> Option<ActorType> {
        ActorType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// An actor as it appears in records: `{type, id}`.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct ActorRef {
    #[serde(rename = "type")]
    pub kind: ActorType,
    #[schemars(length(min = 1))]
    pub id: String,
}
