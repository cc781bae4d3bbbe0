//! Body failures, in the one shape every error body about a field uses: the reason, the
//! field (`details.field`, dotted), the rule it broke (`details.rule`) and every failure
//! (`details.errors`, JSON pointers with their keyword). Schema failures and the rules only a
//! handler can check come out the same.

use serde::Serialize;

use crate::error::ApiError;
use crate::manifest::Operation;
use crate::reason::Reason;

/// One failure of a body: where, and which rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BodyError {
    pub instance_path: String,
    pub keyword: String,
}

/// The answer to an invalid body: the reason the manifest gives the first failing field and
/// rule (field guidance), the field and the rule, and every failure.
pub fn invalid_body(operation: &Operation, errors: Vec<BodyError>) -> ApiError {
    let first = errors.first().cloned().unwrap_or(BodyError {
        instance_path: String::new(),
        keyword: "type".to_owned(),
    });
    let reason = operation
        .reason_for_field_rule(&first.instance_path, &first.keyword)
        .unwrap_or(Reason::InternalError);
    with_errors(reason, &first, errors)
}

/// A body refused as a whole (not JSON, a duplicate key): the operation's invalid-request
/// reason, whatever field the failure sits at.
pub fn malformed_body(operation: &Operation, errors: Vec<BodyError>) -> ApiError {
    let first = errors.first().cloned().unwrap_or(BodyError {
        instance_path: String::new(),
        keyword: "json_parse".to_owned(),
    });
    let reason = operation
        .invalid_request_reason()
        .unwrap_or(Reason::InternalError);
    with_errors(reason, &first, errors)
}

/// One field's failure with an explicit reason; handlers go through
/// [`OpContext::field_error`](super::OpContext::field_error), which takes the reason from the
/// manifest.
pub(crate) fn field_error(reason: Reason, pointer: &str, rule: &str) -> ApiError {
    let error = BodyError {
        instance_path: pointer.to_owned(),
        keyword: rule.to_owned(),
    };
    with_errors(reason, &error, vec![error.clone()])
}

fn with_errors(reason: Reason, first: &BodyError, errors: Vec<BodyError>) -> ApiError {
    ApiError::new(reason)
        .with("field", field_name(&first.instance_path))
        .with("rule", &first.keyword)
        .with("errors", errors)
}

/// `/policy_overrides/budget_total` reads `policy_overrides.budget_total`.
pub fn field_name(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Appends one reference token to a JSON pointer, escaping `~` and `/`.
pub fn pointer_join(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", token.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_read_as_dotted_paths() {
        assert_eq!(
            field_name("/policy_overrides/budget_total"),
            "policy_overrides.budget_total"
        );
        assert_eq!(field_name(""), "");
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_join("/a", "b/c~d"), "/a/b~1c~0d");
    }
}
