//! Money: a decimal number of USD with at most 6 decimals, held as integer micro-dollars so
//! that totals never drift (0.1 + 0.2 is 0.3).

use std::borrow::Cow;
use std::iter::Sum;
use std::ops::{Add, Sub};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const MICROS_PER_USD: i64 = 1_000_000;
/// The largest amount accepted: a billion dollars.
const MAX_MICROS: i64 = 1_000_000_000 * MICROS_PER_USD;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    /// An amount written as a JSON number, when it is finite, within ±1e9 and has at most 6
    /// decimals.
    pub fn from_usd(usd: f64) -> Option<Money> {
        if !usd.is_finite() {
            return None;
        }
        let scaled = usd * MICROS_PER_USD as f64;
        let micros = scaled.round();
        // f64 cannot hold most decimals exactly: allow the error of the nearest double.
        let tolerance = scaled.abs().max(1.0) * 1e-9;
        if (scaled - micros).abs() > tolerance || micros.abs() > MAX_MICROS as f64 {
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        Some(Money(micros as i64))
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_USD as f64
    }

    /// The JSON number: whole amounts as integers, others with their decimals.
    pub fn to_number(self) -> serde_json::Number {
        if self.0 % MICROS_PER_USD == 0 {
            serde_json::Number::from(self.0 / MICROS_PER_USD)
        } else {
            serde_json::Number::from_f64(self.as_f64())
                .unwrap_or_else(|| serde_json::Number::from(0))
        }
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_number().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let usd = f64::deserialize(deserializer)?;
        Money::from_usd(usd)
            .ok_or_else(|| serde::de::Error::custom("not an amount with at most 6 decimals"))
    }
}

impl JsonSchema for Money {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "description": "USD with at most 6 decimals."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_do_not_drift() {
        let total: Money = [0.1, 0.2]
            .iter()
            .map(|x| Money::from_usd(*x).unwrap())
            .sum();
        assert_eq!(total, Money::from_usd(0.3).unwrap());
        assert_eq!(serde_json::to_string(&total).unwrap(), "0.3");
    }

    #[test]
    fn more_than_six_decimals_or_non_finite_are_refused() {
        assert!(Money::from_usd(1.000_000_1).is_none());
        assert!(Money::from_usd(f64::NAN).is_none());
        assert!(Money::from_usd(f64::INFINITY).is_none());
        assert!(Money::from_usd(2e9).is_none());
        assert_eq!(Money::from_usd(12.345_678).unwrap().micros(), 12_345_678);
    }

    #[test]
    fn whole_amounts_are_integers() {
        assert_eq!(
            serde_json::to_string(&Money::from_usd(25.0).unwrap()).unwrap(),
            "25"
        );
        assert_eq!(
            serde_json::to_string(&Money::from_usd(12.5).unwrap()).unwrap(),
            "12.5"
        );
    }
}
