//! Health, OpenAPI, dev reset and console documents.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contracts::schemas::{Direction, NamedSchema, generate};

/// The schemas of the system operations.
pub fn schemas() -> Vec<NamedSchema> {
    vec![
        generate::<HealthResponse>(Direction::Response),
        generate::<OpenApiDocument>(Direction::Response),
        generate::<DevResetResponse>(Direction::Response),
        generate::<ConsolePage>(Direction::Response),
    ]
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthResponse {
    pub correlation_id: String,
    pub ok: bool,
    pub store: StoreSummary,
    /// The counters the domains keep for health, by name.
    pub summary: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreSummary {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The database file, or the Postgres URL without its password.
    pub path: String,
}

/// The OpenAPI 3.1 document of the served operations.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct OpenApiDocument(pub Map<String, Value>);

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevResetResponse {
    pub correlation_id: String,
    pub reset: bool,
}

/// The web console: one HTML document with its style, its script and the contract it reads
/// inline; it loads nothing else but the API it drives.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ConsolePage(pub String);
