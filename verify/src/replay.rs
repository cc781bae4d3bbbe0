//! Which request of a run repeats an earlier one, so that `idempotent-replay` can be judged on
//! every answer without a milestone saying so.
//!
//! The scope of an idempotency key is the caller (actor type and id), the operation and the key
//! (spec section 6). A request is a replay when an earlier request of its scope sent the same
//! body and the contract had that first answer recorded: a success, or a failure the operation
//! itself answers (its own reasons, its body rule and its field reasons). Failures of the
//! layers before it (auth, the request clock, the key itself, the body's size and media type)
//! are not recorded, so a repeat of one of those is a first request again.

use std::collections::BTreeMap;

use marketref::headers::{ACTOR_ID, ACTOR_TYPE, AUTHORIZATION};
use marketref::manifest::Operation;
use marketref::reason::Reason;
use serde_json::Value;

use crate::exchange::RecordedRequest;

/// What an answer is, for the replay rule.
#[derive(Clone, Debug)]
pub enum Replay {
    /// No key, or an operation that is not idempotent.
    NotIdempotent,
    /// The first recorded request of its scope.
    First,
    /// A repeat of the recorded request: its answer must be the first one, replayed.
    Repeat(FirstAnswer),
    /// The key again with another body: the server refuses it (a step's business).
    OtherBody,
}

/// The first answer of a scope, as recorded.
#[derive(Clone, Debug)]
pub struct FirstAnswer {
    /// `scenario/step` of the first request.
    pub label: String,
    pub status: u16,
    pub body: Value,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scope {
    actor_type: String,
    actor_id: String,
    operation_id: String,
    key: String,
}

#[derive(Debug, Default)]
pub struct Replays {
    first: BTreeMap<Scope, (Option<Value>, FirstAnswer)>,
}

fn scope(operation: Option<&Operation>, request: &RecordedRequest) -> Option<Scope> {
    let operation = operation.filter(|op| op.idempotency.takes_key())?;
    let header = |name: &str| request.headers.get(name).cloned();
    let (actor_type, actor_id) = match operation.auth.scheme.token_kind() {
        None => (header(ACTOR_TYPE)?, header(ACTOR_ID)?),
        // A bearer caller is its token's credential, which the record keeps as its prefix and
        // id (`vk_key_000001_****`). The server scopes by the vendor or deployment behind it,
        // so a replay sent with another key of the same vendor is judged a first request.
        Some(kind) => (kind.as_str().to_owned(), header(AUTHORIZATION)?),
    };
    Some(Scope {
        actor_type,
        actor_id,
        operation_id: operation.operation_id.clone(),
        key: header(&operation.idempotency.header_name())?,
    })
}

/// Whether the contract records an answer of `operation` under its key.
fn is_recorded(operation: &Operation, status: u16, body: &Value) -> bool {
    if (200..300).contains(&status) {
        return true;
    }
    let Some(reason) = body
        .pointer("/error/details/reason_code")
        .and_then(Value::as_str)
        .and_then(Reason::from_code)
    else {
        return false;
    };
    operation.declared_reasons().any(|own| own == reason)
        || operation.invalid_request_reason() == Some(reason)
        || operation
            .field_reasons
            .values()
            .chain(
                operation
                    .field_rule_reasons
                    .values()
                    .flat_map(BTreeMap::values),
            )
            .any(|code| code == reason.code())
}

impl Replays {
    /// What the request about to be sent is.
    pub fn classify(&self, operation: Option<&Operation>, request: &RecordedRequest) -> Replay {
        let Some(scope) = scope(operation, request) else {
            return Replay::NotIdempotent;
        };
        match self.first.get(&scope) {
            None => Replay::First,
            Some((body, first)) if *body == request.body => Replay::Repeat(first.clone()),
            Some(_) => Replay::OtherBody,
        }
    }

    /// Keeps the answer of a first request when the contract records it.
    pub fn record(
        &mut self,
        operation: Option<&Operation>,
        request: &RecordedRequest,
        label: String,
        status: u16,
        body: &Value,
    ) {
        let (Some(scope), Some(operation)) = (scope(operation, request), operation) else {
            return;
        };
        if self.first.contains_key(&scope) || !is_recorded(operation, status, body) {
            return;
        }
        let first = FirstAnswer {
            label,
            status,
            body: body.clone(),
        };
        self.first.insert(scope, (request.body.clone(), first));
    }
}

#[cfg(test)]
mod tests {
    use marketref::headers::IDEMPOTENCY_KEY;
    use marketref::manifest::Manifest;
    use serde_json::json;

    use super::*;

    fn request(actor: &str, key: &str, body: Value) -> RecordedRequest {
        RecordedRequest {
            method: "POST".to_owned(),
            path: "/marketplace/matching/runs".to_owned(),
            headers: [
                (ACTOR_TYPE, "partner"),
                (ACTOR_ID, actor),
                (IDEMPOTENCY_KEY, key),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            body: Some(body),
        }
    }

    #[test]
    fn a_repeat_of_a_recorded_answer_is_a_replay_in_its_scope_only() {
        let run = Manifest::embedded().operation("marketplaceMatching.run");
        let mut replays = Replays::default();
        let first = request("p", "k", json!({"max_proposals": 500}));
        assert!(matches!(replays.classify(run, &first), Replay::First));
        let refused =
            json!({"error": {"details": {"reason_code": "marketplace_matching_invalid_request"}}});
        replays.record(run, &first, "s/a".to_owned(), 400, &refused);
        assert!(matches!(replays.classify(run, &first), Replay::Repeat(ref f) if f.status == 400));
        let other_body = request("p", "k", json!({}));
        assert!(matches!(
            replays.classify(run, &other_body),
            Replay::OtherBody
        ));
        let other_actor = request("q", "k", json!({"max_proposals": 500}));
        assert!(matches!(replays.classify(run, &other_actor), Replay::First));
        let health = Manifest::embedded().operation("system.health");
        assert!(matches!(
            replays.classify(health, &first),
            Replay::NotIdempotent
        ));
    }

    #[test]
    fn a_refusal_before_the_key_is_taken_is_not_recorded() {
        let run = Manifest::embedded().operation("marketplaceMatching.run");
        let mut replays = Replays::default();
        let first = request("p", "k", json!({}));
        let refused = json!({"error": {"details": {"reason_code": "auth_scope_missing"}}});
        replays.record(run, &first, "s/a".to_owned(), 403, &refused);
        assert!(matches!(replays.classify(run, &first), Replay::First));
    }
}
