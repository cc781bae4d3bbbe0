//! Offers as they cross the wire (spec section 2).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::JsNumber;

use super::super::money::Money;

/// What kind of data an offer holds.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Image,
    Tabular,
    Text,
    Audio,
    Timeseries,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttestationStatus {
    Unknown,
    Pending,
    Verified,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OfferStatus {
    Active,
    Paused,
    Retired,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Active => "active",
            OfferStatus::Paused => "paused",
            OfferStatus::Retired => "retired",
        }
    }
}

/// A time given as an RFC 3339 date-time or as Unix seconds; answered as RFC 3339.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TimeInput {
    Text(#[schemars(extend("format" = "date-time"))] String),
    UnixSeconds(#[schemars(range(min = 0))] i64),
}

/// Body of `dataOffers.create`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferCreateRequest {
    /// The providing node; the caller, unless the caller operates the marketplace.
    #[schemars(length(min = 1, max = 120))]
    pub seller_node_id: String,
    /// `<algorithm>:<hex digest>` of the dataset, e.g. `sha256:9f86d0...`.
    #[schemars(length(min = 1), regex(pattern = r"^[a-z0-9]+:[0-9a-fA-F]{8,128}$"))]
    pub dataset_fingerprint: String,
    /// 1 to 120 characters (default "Untitled Offer").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub title: Option<String>,
    /// At most 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    pub modality: Modality,
    /// Default "unknown".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub label_schema: Option<String>,
    /// Default "dp-ready".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub privacy_profile: Option<String>,
    /// Number of samples (default 0); weighs the offer in a training round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub sample_count: Option<u64>,
    /// Quality in [0, 1].
    #[schemars(range(min = 0, max = 1))]
    pub quality_score: f64,
    /// Tasks the data may train; empty means any task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(length(min = 1, max = 120)), extend("uniqueItems" = true))]
    pub allowed_tasks: Option<Vec<String>>,
    /// Default "unknown"; only an operator may set "verified".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_status: Option<AttestationStatus>,
    /// USD per training round, >= 0, at most 6 decimals.
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub price_per_round: f64,
    /// Rounds the provider commits to (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub min_rounds: Option<u32>,
    /// Must be in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<TimeInput>,
    /// Default "active".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OfferStatus>,
}

/// Body of `dataOffers.update`: the same rules as create, every field optional; the seller and
/// the fingerprint never change.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferUpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<Modality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub label_schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub privacy_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub sample_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub quality_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(length(min = 1, max = 120)), extend("uniqueItems" = true))]
    pub allowed_tasks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_status: Option<AttestationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub price_per_round: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub min_rounds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<TimeInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OfferStatus>,
}

/// A data offer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// `offer_` + a 6-digit counter.
    pub offer_id: String,
    pub seller_node_id: String,
    pub dataset_fingerprint: String,
    pub title: String,
    pub description: String,
    pub modality: Modality,
    pub label_schema: String,
    pub privacy_profile: String,
    pub sample_count: u64,
    pub quality_score: JsNumber,
    /// Empty means any task.
    pub allowed_tasks: Vec<String>,
    pub attestation_status: AttestationStatus,
    pub price_per_round: Money,
    pub min_rounds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: Option<String>,
    pub status: OfferStatus,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferResponse {
    pub correlation_id: String,
    pub offer: Offer,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferListResponse {
    pub correlation_id: String,
    /// In creation order.
    pub offers: Vec<Offer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
