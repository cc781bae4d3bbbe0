//! The canonical outcome of a milestone run: what the server answered, exchange by exchange
//! (the seed's loading aside), without the verifier's verdicts. Its SHA-256 is what `expected_outcome_sha256` pins, so a
//! change in any status or byte of any body (a message, an id, a score) shows, even when every
//! expectation still holds.
//!
//! `outcome.json` is the outcome as pretty JSON (keys sorted) with a final newline, and the
//! hash is the SHA-256 of exactly those bytes: `sha256sum outcome.json` reproduces it.

use marketref::headers::IDEMPOTENT_REPLAYED;
use serde_json::{Value, json};

use crate::exchange::Phase;
use crate::milestone::PinnedOutcome;
use crate::run::MilestoneRun;

/// The outcome document. The seed's loading is left out: its requests say how the seeded
/// state was reached (the dev routes or the API), not what the server does with it, and
/// leaving them out is what lets one pin hold for both paths.
pub fn outcome(run: &MilestoneRun) -> Value {
    let exchanges: Vec<Value> = run
        .exchanges()
        .filter(|exchange| exchange.phase != Phase::Seed)
        .map(|exchange| {
            let request = exchange.request.as_ref();
            let response = exchange.response.as_ref();
            json!({
                "phase": exchange.phase.as_str(),
                "scenario": exchange.scenario,
                "step": exchange.step,
                "method": request.map(|r| r.method.as_str()),
                "path": request.map(|r| r.path.as_str()),
                "status": response.map(|r| r.status),
                "idempotent_replayed": response.and_then(|r| r.headers.get(IDEMPOTENT_REPLAYED)),
                "body": response.map(|r| &r.body),
                "error": exchange.error,
            })
        })
        .collect();
    json!({ "milestone": run.id, "exchanges": exchanges })
}

/// The bytes of `outcome.json`.
pub fn outcome_file(outcome: &Value) -> String {
    crate::artifacts::pretty(outcome)
}

pub fn sha256(outcome: &Value) -> String {
    marketref::json::sha256_hex(outcome_file(outcome))
}

/// The pinned hash against the actual one.
#[derive(Clone, Debug, Default)]
pub struct OutcomeCheck {
    pub expected: Option<String>,
    pub actual: String,
    /// Set when `--update-expected` rewrote the pin.
    pub updated: bool,
}

impl OutcomeCheck {
    pub fn judge(pinned: Option<&PinnedOutcome>, outcome: &Value) -> OutcomeCheck {
        OutcomeCheck {
            expected: pinned.map(|p| p.sha256.clone()),
            actual: sha256(outcome),
            updated: false,
        }
    }

    /// An unpinned outcome passes (there is nothing to compare); a pinned one must match,
    /// unless it was just rewritten on purpose.
    pub fn passed(&self) -> bool {
        self.updated
            || self
                .expected
                .as_ref()
                .is_none_or(|expected| *expected == self.actual)
    }

    pub fn state(&self) -> &'static str {
        match (&self.expected, self.updated) {
            (_, true) => "updated",
            (None, false) => "unpinned",
            (Some(expected), false) if *expected == self.actual => "matches",
            (Some(_), false) => "differs",
        }
    }
}

/// The milestone text with `expected_outcome_sha256` set to `sha256`: the value replaced in
/// place when it is there, a line added after the `milestone:` line when it is not.
pub fn rewrite_pin(text: &str, pinned: Option<&PinnedOutcome>, sha256: &str) -> Option<String> {
    if let Some(pinned) = pinned {
        let mut out = String::with_capacity(text.len());
        out.push_str(text.get(..pinned.byte_offset)?);
        out.push_str(sha256);
        out.push_str(text.get(pinned.byte_offset + pinned.byte_len..)?);
        return Some(out);
    }
    let mut out = String::with_capacity(text.len() + 90);
    let mut inserted = false;
    for line in text.split_inclusive('\n') {
        out.push_str(line);
        if !inserted && line.starts_with("milestone:") {
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("expected_outcome_sha256: {sha256}\n"));
            inserted = true;
        }
    }
    inserted.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_pin_is_added_after_the_id() {
        let text = "# c\nmilestone: M1\ntitle: t\n";
        let out = rewrite_pin(text, None, &"a".repeat(64)).unwrap();
        assert_eq!(
            out,
            format!(
                "# c\nmilestone: M1\nexpected_outcome_sha256: {}\ntitle: t\n",
                "a".repeat(64)
            )
        );
    }

    #[test]
    fn a_pin_is_replaced_in_place() {
        let old = "b".repeat(64);
        let text = format!("milestone: M1\nexpected_outcome_sha256: \"{old}\" # pinned\n");
        let offset = text.find(&old).unwrap();
        let pinned = PinnedOutcome {
            sha256: old.clone(),
            byte_offset: offset,
            byte_len: 64,
        };
        let out = rewrite_pin(&text, Some(&pinned), &"c".repeat(64)).unwrap();
        assert_eq!(
            out,
            format!(
                "milestone: M1\nexpected_outcome_sha256: \"{}\" # pinned\n",
                "c".repeat(64)
            )
        );
    }
}
