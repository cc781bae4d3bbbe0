//! Dataset rounds and their signed URLs (spec section 3).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::enums::{FileKind, Timeframe};

/// What `POST /api/rounds` generates.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[schemars(length(min = 1, max = 10), extend("uniqueItems" = true))]
    pub symbols: Vec<Symbol>,
    /// Bars per symbol; with the symbols, at most 200,000 bars in all (larger rounds are
    /// published from the command line).
    #[schemars(range(min = 100, max = 100_000))]
    pub bars: u32,
    pub timeframe: Timeframe,
}

fn default_seed() -> u64 {
    1
}

/// A market symbol: upper-case letters and digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Symbol(#[schemars(regex(pattern = r"^[A-Z0-9]{1,20}$"))] pub String);

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundCreateRequest {
    /// The round's id, its operator's choice; `current` is the alias of the current round.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub round_id: String,
    #[schemars(length(min = 1, max = 120))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    /// Make this the current round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<bool>,
    pub generate: GenerateSpec,
}

/// One file of a round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundFile {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FileKind,
    pub size_bytes: u64,
    /// `csv`.
    pub format: String,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundMetadata {
    pub symbols: Vec<String>,
    pub timeframes: Vec<Timeframe>,
    pub features: Vec<String>,
    pub features_count: u64,
    pub samples_count: u64,
    /// The recipe, when the server generated the round.
    pub generated: Option<BTreeMap<String, serde_json::Value>>,
}

/// A dataset round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetRound {
    pub round_id: String,
    pub name: String,
    pub description: Option<String>,
    pub schema_version: u32,
    pub is_current: bool,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub files: Vec<RoundFile>,
    pub metadata: RoundMetadata,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedUrlsRequest {
    /// A round's id, or `current`.
    #[schemars(length(min = 1, max = 64))]
    pub round_id: String,
    /// Only these files of the round (default: every file), in the round's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16), extend("uniqueItems" = true))]
    pub files: Option<Vec<String>>,
}

/// A URL that streams one file of a round, without an `Authorization` header, until it
/// expires.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedUrl {
    pub name: String,
    /// A path on this server with its `exp`, `kid` and `sig` query.
    pub url: String,
    pub expires_at: String,
    pub sha256: String,
    pub size_bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedUrls {
    pub round_id: String,
    pub ttl_seconds: u64,
    pub urls: Vec<SignedUrl>,
}

/// A round's file, as the signed URL streams it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct DatasetFile(pub String);
