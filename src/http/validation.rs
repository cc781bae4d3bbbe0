//! Request validation from the manifest: bodies against their JSON Schema (validators compiled
//! once at start-up), query strings against the declared parameters.

use std::collections::BTreeMap;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::api::QueryValue;
use crate::api::field::{BodyError, invalid_body, malformed_body, pointer_join};
use crate::contracts::schemas;
use crate::error::ApiError;
use crate::manifest::{Operation, QueryParamType};
use crate::reason::Reason;

use super::BoundOperation;
use super::strict_json::{self, Refusal};

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

/// The body as JSON, parsed once per request (for the idempotency fingerprint and for
/// validation), duplicate keys refused. No body at all reads as `{}`, so that `curl -X POST`
/// of an operation whose fields are all optional just works.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, Refusal> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    strict_json::parse(bytes)
}

/// Validates the body of an operation that takes one: `parsed` is [`parse`] of `bytes`.
pub(crate) fn body(
    bound: &BoundOperation,
    bytes: &[u8],
    parsed: Result<Value, Refusal>,
) -> Result<Value, ApiError> {
    let Some(validator) = &bound.validator else {
        return Ok(Value::Null);
    };
    let value = match parsed {
        Ok(value) => value,
        Err(Refusal::DuplicateKey(pointer)) => {
            return Err(malformed_body(
                &bound.operation,
                vec![BodyError {
                    instance_path: pointer,
                    keyword: "duplicate_key".to_owned(),
                }],
            ));
        }
        Err(Refusal::NotJson) => {
            // `NaN` and `Infinity` are not JSON, but clients send them; name their fields.
            let errors = non_finite_numbers(bytes).unwrap_or_else(|| {
                vec![BodyError {
                    instance_path: String::new(),
                    keyword: "json_parse".to_owned(),
                }]
            });
            return Err(invalid_body(&bound.operation, errors));
        }
    };
    let errors = schema_errors(validator, &value);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(invalid_body(&bound.operation, errors))
    }
}

/// Where a body that is JSON but for `NaN`, `Infinity` or `-Infinity` tokens has them; `None`
/// when the body is broken some other way too.
fn non_finite_numbers(bytes: &[u8]) -> Option<Vec<BodyError>> {
    const MARKER: &str = "\\u0000non-finite";
    let text = std::str::from_utf8(bytes).ok()?;
    let mut patched = String::with_capacity(text.len());
    let mut rest = text;
    let mut in_string = false;
    let mut found = false;
    while let Some(c) = rest.chars().next() {
        if in_string {
            let len = match c {
                '\\' => 1 + rest[1..].chars().next().map_or(0, char::len_utf8),
                '"' => {
                    in_string = false;
                    1
                }
                _ => c.len_utf8(),
            };
            patched.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|token| rest.starts_with(token));
        if let Some(token) = token {
            patched.push('"');
            patched.push_str(MARKER);
            patched.push('"');
            rest = &rest[token.len()..];
            found = true;
        } else {
            patched.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if !found {
        return None;
    }
    let value: Value = serde_json::from_str(&patched).ok()?;
    let mut errors = Vec::new();
    collect_markers(&value, String::new(), &mut errors);
    errors.sort();
    Some(errors)
}

fn collect_markers(value: &Value, pointer: String, errors: &mut Vec<BodyError>) {
    match value {
        Value::String(text) if text == "\u{0}non-finite" => errors.push(BodyError {
            instance_path: pointer,
            keyword: "finite_number".to_owned(),
        }),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect_markers(item, format!("{pointer}/{index}"), errors);
            }
        }
        Value::Object(object) => {
            for (key, item) in object {
                collect_markers(item, pointer_join(&pointer, key), errors);
            }
        }
        _ => {}
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
    if let Some(missing) = operation
        .query_params
        .iter()
        .find(|param| param.required && !values.contains_key(&param.name))
    {
        return Err(invalid(&missing.name, "required"));
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
    fn non_finite_numbers_are_located_outside_strings_only() {
        let errors =
            non_finite_numbers(br#"{"a": NaN, "b": [1, -Infinity], "c": "NaN \" Infinity"}"#)
                .unwrap();
        let paths: Vec<&str> = errors.iter().map(|e| e.instance_path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b/1"]);
        assert!(non_finite_numbers(br#"{"a": NaN,"#).is_none());
        assert!(non_finite_numbers(br#"{"a": "NaN"}"#).is_none());
    }
}
