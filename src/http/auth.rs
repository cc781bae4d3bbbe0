//! The trusted-gateway identity model (spec section 1): the caller is whoever the actor headers
//! say, checked against the operation's auth rule from the manifest.

use std::collections::BTreeSet;

use axum::http::HeaderMap;

use crate::actor::{ActorRef, ActorType};
use crate::api::{Caller, Principal};
use crate::error::ApiError;
use crate::headers::{ACTOR_ID, ACTOR_TYPE, AUTH_SCOPES, IDENTITY};
use crate::manifest::Operation;
use crate::reason::Reason;

/// The text of a header, trimmed; `None` when absent, empty or not text.
pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let text = headers.get(name)?.to_str().ok()?.trim();
    (!text.is_empty()).then_some(text)
}

/// Scopes are separated by commas or white space.
pub fn parse_scopes(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|scope| !scope.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks identity, actor type and scopes, in that order. `None` when the operation does not
/// require auth.
/// The gateway caller of an operation whose scheme is the gateway's; `None` when the
/// operation does not require auth. (Bearer schemes are [`super::bearer`]'s.)
pub fn authenticate(
    operation: &Operation,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    let rule = &operation.auth;
    if !rule.required {
        return Ok(None);
    }
    let (Some(kind), Some(id)) = (header(headers, ACTOR_TYPE), header(headers, ACTOR_ID)) else {
        return Err(ApiError::new(Reason::AuthIdentityMissing).with("required_headers", IDENTITY));
    };
    let Some(kind) = ActorType::parse(kind) else {
        return Err(ApiError::new(Reason::AuthActorTypeUnknown)
            .with("actor_type", kind)
            .with("known_actor_types", ActorType::ALL));
    };
    if !rule.allowed_actor_types.contains(&kind) {
        return Err(ApiError::new(Reason::AuthActorTypeNotAllowed)
            .with("operation_id", &operation.operation_id)
            .with("actor_type", kind)
            .with("allowed_actor_types", &rule.allowed_actor_types));
    }
    let provided = header(headers, AUTH_SCOPES)
        .map(parse_scopes)
        .unwrap_or_default();
    let required: BTreeSet<&str> = rule.required_scopes.iter().map(String::as_str).collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|scope| !provided.contains(*scope))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(Reason::AuthScopeMissing)
            .with("operation_id", &operation.operation_id)
            .with("required_scopes", &required)
            .with("provided_scopes", &provided)
            .with("missing_scopes", &missing));
    }
    Ok(Some(Caller {
        principal: Principal::Actor(ActorRef {
            kind,
            id: id.to_owned(),
        }),
        scopes: provided,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn run_op() -> &'static Operation {
        Manifest::embedded()
            .operation("marketplaceMatching.run")
            .unwrap()
    }

    #[test]
    fn scopes_split_on_commas_and_white_space() {
        let scopes = parse_scopes("b, a  c,,a");
        assert_eq!(scopes.into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn each_failure_in_order() {
        let reason =
            |h: &[(&'static str, &str)]| authenticate(run_op(), &headers(h)).unwrap_err().reason();
        assert_eq!(reason(&[]), Reason::AuthIdentityMissing);
        assert_eq!(
            reason(&[(ACTOR_TYPE, "partner"), (ACTOR_ID, " ")]),
            Reason::AuthIdentityMissing
        );
        assert_eq!(
            reason(&[(ACTOR_TYPE, "robot"), (ACTOR_ID, "r")]),
            Reason::AuthActorTypeUnknown
        );
        assert_eq!(
            reason(&[(ACTOR_TYPE, "user"), (ACTOR_ID, "u")]),
            Reason::AuthActorTypeNotAllowed
        );
        assert_eq!(
            reason(&[(ACTOR_TYPE, "partner"), (ACTOR_ID, "p")]),
            Reason::AuthScopeMissing
        );
    }

    #[test]
    fn missing_scope_details_are_sorted() {
        let error = authenticate(
            run_op(),
            &headers(&[
                (ACTOR_TYPE, "partner"),
                (ACTOR_ID, "p"),
                (AUTH_SCOPES, "z:read settlement:read"),
            ]),
        )
        .unwrap_err();
        let details = error.details();
        assert_eq!(
            details["missing_scopes"],
            serde_json::json!(["settlement:write"])
        );
        assert_eq!(
            details["provided_scopes"],
            serde_json::json!(["settlement:read", "z:read"])
        );
    }

    #[test]
    fn a_partner_with_the_scope_passes() {
        let caller = authenticate(
            run_op(),
            &headers(&[
                (ACTOR_TYPE, "partner"),
                (ACTOR_ID, "p1"),
                (AUTH_SCOPES, "settlement:write"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(caller.principal.id(), "p1");
    }
}
