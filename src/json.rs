//! Canonical JSON, hashing and numbers that keep their JSON form.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Canonical JSON: object keys sorted by byte order, arrays in order, no white space.
///
/// `serde_json::Value` keeps objects in a `BTreeMap` (the `preserve_order` feature is off in this
/// workspace), so its compact form is already canonical.
pub fn canonical(value: &Value) -> String {
    value.to_string()
}

/// Canonical JSON of anything serializable (through [`Value`], so struct fields get sorted too).
pub fn canonical_of<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(canonical(&serde_json::to_value(value)?))
}

pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

/// A computed number that serializes the way JavaScript's `JSON.stringify` does: a whole value
/// has no fraction (`1`, not `1.0`). The contract says an integer stays an integer in every
/// output, and clients written against the older runtime compare these bytes.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct JsNumber(pub f64);

/// Largest integer an f64 holds exactly (2^53).
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

impl JsNumber {
    pub fn get(self) -> f64 {
        self.0
    }

    pub fn to_number(self) -> serde_json::Number {
        let x = self.0;
        #[allow(clippy::cast_possible_truncation)]
        if x.fract() == 0.0 && x.abs() < EXACT_INTEGER_LIMIT {
            serde_json::Number::from(x as i64)
        } else {
            // Non-finite values never reach here: every computed number is a finite round.
            serde_json::Number::from_f64(x).unwrap_or_else(|| serde_json::Number::from(0))
        }
    }
}

impl Serialize for JsNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_number().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        f64::deserialize(deserializer).map(JsNumber)
    }
}

impl JsonSchema for JsNumber {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Number".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "number" })
    }
}

/// A JSON number >= 0 kept exactly as the client wrote it (`100` stays `100`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NonNegativeNumber(pub serde_json::Number);

impl NonNegativeNumber {
    pub fn as_f64(&self) -> f64 {
        self.0.as_f64().unwrap_or(f64::NAN)
    }
}

impl JsonSchema for NonNegativeNumber {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "NonNegativeNumber".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "number", "minimum": 0 })
    }
}

/// `round(x * 10^digits) / 10^digits` with ties away from zero, as the contract defines it.
pub fn round_to(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_and_drops_whitespace() {
        let value = json!({"b": 1, "a": {"d": [3, 1], "c": "x"}});
        assert_eq!(canonical(&value), r#"{"a":{"c":"x","d":[3,1]},"b":1}"#);
    }

    #[test]
    fn whole_numbers_serialize_without_fraction() {
        assert_eq!(serde_json::to_string(&JsNumber(1.0)).unwrap(), "1");
        assert_eq!(serde_json::to_string(&JsNumber(0.0)).unwrap(), "0");
        assert_eq!(serde_json::to_string(&JsNumber(0.8804)).unwrap(), "0.8804");
        assert_eq!(serde_json::to_string(&JsNumber(1.01)).unwrap(), "1.01");
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert!((round_to(0.000_05, 4) - 0.0001).abs() < 1e-12);
        assert!((round_to(0.019_607_843, 4) - 0.0196).abs() < 1e-12);
        assert!((round_to(1.005 * 100.0, 0) - 100.0).abs() < 1e-12);
    }
}
