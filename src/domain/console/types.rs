//! The console page as it crosses the wire.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The web console: one HTML document with its style, its script and the contract it reads
/// inline; it loads nothing else but the API it drives.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ConsolePage(pub String);
