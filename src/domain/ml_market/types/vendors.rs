//! Vendors, their keys, and token introspection (spec section 2).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::enums::VendorScope;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorCreateRequest {
    /// The vendor's name, as the catalog shows it.
    #[schemars(length(min = 1, max = 120))]
    pub name: String,
}

/// A vendor, as the operator lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vendor {
    pub vendor_id: String,
    pub name: String,
    pub created_at: String,
}

/// A new vendor and its first key: the key is shown here once and never again.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorCreated {
    pub vendor_id: String,
    pub name: String,
    pub key_id: String,
    /// The key; only its hash is kept.
    pub api_key: String,
    pub scopes: Vec<VendorScope>,
    pub expires_at: String,
}

/// The vendor a key belongs to, and the key.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorMe {
    pub vendor_id: String,
    pub name: String,
    pub key_id: String,
    pub scopes: Vec<String>,
    pub expires_at: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyCreateRequest {
    /// What the new key may do (default: all that the calling key may).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub scopes: Option<Vec<VendorScope>>,
}

/// A key just issued: shown here once.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyIssued {
    pub key_id: String,
    pub api_key: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
}

/// A key as listings show it: its prefix and its last four characters, never more.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySummary {
    pub key_id: String,
    /// `vk_<key id>_`: what the key starts with.
    pub prefix: String,
    pub last4: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    /// Neither revoked nor expired, by the request clock.
    pub active: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoked {
    pub key_id: String,
    pub revoked_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    /// A vendor key or a deployment token.
    #[schemars(length(min = 1, max = 512))]
    pub token: String,
}

/// RFC 7662: an active token's facts; an inactive one answers only `{active: false}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Introspection {
    pub active: bool,
    /// `vendor_key` or `deployment_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}
