//! The marketplace domains. Each has the same shape:
//!
//! - `types.rs`: request, response and record types; the serde and schemars boundary.
//! - a pure module (`engine.rs`, `rules.rs`): no I/O, no clock, no randomness.
//! - `store.rs`: its store trait and the SQLite implementation of it.
//! - `handlers.rs`: one function per manifest operation, plus the table binding operation ids to
//!   them.
//!
//! `system` holds what belongs to no marketplace: health, the OpenAPI document, dev fixtures.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::http::{Handler, OpContext};

pub mod swap;
pub mod system;

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

/// Every handler of every domain, by operation id. The router checks this table against the
/// manifest at start-up: an operation without a handler, or a handler without an operation,
/// stops the server before it listens.
pub fn handlers() -> Vec<(&'static str, Handler)> {
    let mut all = Vec::new();
    all.extend_from_slice(swap::handlers::HANDLERS);
    all.extend_from_slice(system::handlers::HANDLERS);
    all
}

/// One page of a list operation: `limit` (default 50) items after `cursor`.
pub(crate) struct Page {
    limit: usize,
}

impl Page {
    const DEFAULT_LIMIT: usize = 50;

    pub(crate) fn from_query(ctx: &OpContext<'_>) -> Page {
        let limit = ctx
            .query_int("limit")
            .and_then(|limit| usize::try_from(limit).ok())
            .unwrap_or(Page::DEFAULT_LIMIT);
        Page { limit }
    }

    /// How many rows to read: one more than the page, to learn whether another page follows.
    pub(crate) fn fetch(&self) -> usize {
        self.limit + 1
    }

    /// Cuts the rows to the page and names the cursor of the next page, if there is one.
    pub(crate) fn split<T>(
        &self,
        mut rows: Vec<T>,
        cursor_of: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        if rows.len() <= self.limit {
            return (rows, None);
        }
        rows.truncate(self.limit);
        let next = rows.last().map(cursor_of);
        (rows, next)
    }
}
