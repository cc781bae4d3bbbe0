//! Request validation from the manifest: bodies against their JSON Schema (validators compiled
//! once at start-up), query strings against the declared parameters.

use std::collections::BTreeMap;

use jsonschema::error::ValidationErrorKind;
use serde::Serialize;
use serde_json::Value;

use crate::contracts::schemas;
use crate::error::ApiError;
use crate::manifest::{Operation, QueryParamType};
use crate::reason::Reason;

use super::BoundOperation;

/// At most this many schema errors are reported for one body.
const MAX_REPORTED_ERRORS: usize = 50;

/// Compiles the request schema `name` with format checks on (`date-time` is a contract rule).
pub(crate) fn compile_request_validator(name: &str) -> Result<jsonschema::Validator, String> {
    let schema =
        schemas::named(name).ok_or_else(|| format!("no generated schema named `{name}`"))?;
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|error| format!("schema `{name}` does not compile: {error}"))
}

/// One failure of a body: where, and which rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BodyError {
    pub instance_path: String,
    pub keyword: String,
}

/// Validates the body of an operation that takes one. `parsed` is the body as JSON, `None`
/// when it is not JSON (the request pipeline parses each body once).
pub(crate) fn body(bound: &BoundOperation, parsed: Option<Value>) -> Result<Value, ApiError> {
    let Some(validator) = &bound.validator else {
        return Ok(Value::Null);
    };
    let reason = bound
        .operation
        .invalid_request_reason()
        .unwrap_or(Reason::InternalError);
    let value: Value = parsed.ok_or_else(|| {
        ApiError::new(reason).with(
            "errors",
            [BodyError {
                instance_path: String::new(),
                keyword: "json_parse".to_owned(),
            }],
        )
    })?;
    let errors = schema_errors(validator, &value);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(ApiError::new(reason).with("errors", errors))
    }
}

/// Every schema failure of `value`, sorted and deduplicated so that the same body always gets
/// the same list. Missing and unexpected properties point at the property itself.
pub fn schema_errors(validator: &jsonschema::Validator, value: &Value) -> Vec<BodyError> {
    let mut errors: Vec<BodyError> = Vec::new();
    for error in validator.iter_errors(value) {
        let path = error.instance_path().as_str().to_owned();
        let keyword = error.kind().keyword().to_owned();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                for property in unexpected {
                    errors.push(BodyError {
                        instance_path: pointer_join(&path, property),
                        keyword: keyword.clone(),
                    });
                }
            }
            ValidationErrorKind::Required { property } => errors.push(BodyError {
                instance_path: pointer_join(&path, property.as_str().unwrap_or_default()),
                keyword,
            }),
            _ => errors.push(BodyError {
                instance_path: path,
                keyword,
            }),
        }
    }
    errors.sort();
    errors.dedup();
    errors.truncate(MAX_REPORTED_ERRORS);
    errors
}

/// Appends one reference token to a JSON pointer, escaping `~` and `/`.
pub fn pointer_join(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// A validated query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryValue {
    Text(String),
    Integer(i64),
}

/// Checks the query string against the operation's declared parameters: unknown, repeated,
/// malformed and out-of-range parameters are refused with the parameter and the rule named.
pub(crate) fn query(
    operation: &Operation,
    raw: Option<&str>,
) -> Result<BTreeMap<String, QueryValue>, ApiError> {
    let invalid = |param: &str, rule: &str| {
        ApiError::new(Reason::QueryInvalid)
            .with("param", param)
            .with("rule", rule)
    };
    let pairs: Vec<(String, String)> = match raw {
        None | Some("") => Vec::new(),
        Some(raw) => serde_urlencoded::from_str(raw).map_err(|_| invalid("", "syntax"))?,
    };
    let mut values = BTreeMap::new();
    for (name, text) in pairs {
        let Some(param) = operation.query_params.iter().find(|p| p.name == name) else {
            return Err(invalid(&name, "unknown"));
        };
        let value = match param.kind {
            QueryParamType::Integer => {
                let number: i64 = text.parse().map_err(|_| invalid(&name, "integer"))?;
                if param.minimum.is_some_and(|min| number < min) {
                    return Err(invalid(&name, "minimum").with("minimum", param.minimum));
                }
                if param.maximum.is_some_and(|max| number > max) {
                    return Err(invalid(&name, "maximum").with("maximum", param.maximum));
                }
                QueryValue::Integer(number)
            }
            QueryParamType::String => {
                if text.is_empty() {
                    return Err(invalid(&name, "min_length"));
                }
                if let Some(allowed) = &param.allowed
                    && !allowed.contains(&text)
                {
                    return Err(invalid(&name, "enum").with("allowed", allowed));
                }
                QueryValue::Text(text)
            }
        };
        if values.insert(name.clone(), value).is_some() {
            return Err(invalid(&name, "repeated"));
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;
    use serde_json::json;

    fn list_runs() -> &'static Operation {
        Manifest::embedded()
            .operation("marketplaceMatchingRun.list")
            .unwrap()
    }

    #[test]
    fn query_rules_are_named() {
        let rule = |raw: &str| query(list_runs(), Some(raw)).unwrap_err().details()["rule"].clone();
        assert_eq!(rule("limit=abc"), "integer");
        assert_eq!(rule("limit=0"), "minimum");
        assert_eq!(rule("limit=201"), "maximum");
        assert_eq!(rule("color=red"), "unknown");
        assert_eq!(rule("limit=1&limit=2"), "repeated");
        let ok = query(list_runs(), Some("limit=5&cursor=mrun_000001")).unwrap();
        assert_eq!(ok["limit"], QueryValue::Integer(5));
    }

    #[test]
    fn schema_errors_point_at_properties_and_are_sorted() {
        let validator = compile_request_validator("MatchingRunRequest").unwrap();
        let errors = schema_errors(
            &validator,
            &json!({"max_proposals": 500, "zzz": 1, "recorded_at": "yesterday", "asset_values_usd": {"a": -1}}),
        );
        let pairs: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.instance_path.as_str(), e.keyword.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("/asset_values_usd/a", "minimum"),
                ("/max_proposals", "maximum"),
                ("/recorded_at", "format"),
                ("/zzz", "additionalProperties"),
            ]
        );
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_join("/a", "b/c~d"), "/a/b~1c~0d");
    }
}
