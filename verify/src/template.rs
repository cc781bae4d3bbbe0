//! `${name}` references to values captured by earlier steps. `$${` writes a literal `${`.
//!
//! A string that is exactly one reference (`"${run_id}"`) inside a JSON body is replaced by the
//! captured JSON value itself, so a captured number stays a number; anywhere else the captured
//! value is spliced in as text (a string as it is, anything else as compact JSON).

use std::collections::BTreeMap;

use serde_json::Value;

/// One piece of a template.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Reference(&'a str),
}

fn pieces(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            out.push(Piece::Text(&rest[..start + 1]));
            out.push(Piece::Text("{"));
            rest = escaped;
            continue;
        }
        let Some(inner) = after.strip_prefix('{') else {
            out.push(Piece::Text(&rest[..=start]));
            rest = after;
            continue;
        };
        out.push(Piece::Text(&rest[..start]));
        let Some(end) = inner.find('}') else {
            return Err(format!("`${{` without a closing `}}` in `{template}`"));
        };
        let name = &inner[..end];
        if !is_capture_name(name) {
            return Err(format!(
                "`${{{name}}}` is not a capture reference: names are letters, digits and `_`, not starting with a digit"
            ));
        }
        out.push(Piece::Reference(name));
        rest = &inner[end + 1..];
    }
    out.push(Piece::Text(rest));
    out.retain(|piece| *piece != Piece::Text(""));
    Ok(out)
}

/// Whether `name` can name a capture.
pub fn is_capture_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The capture names a template refers to, in order.
pub fn references(template: &str) -> Result<Vec<String>, String> {
    Ok(pieces(template)?
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Reference(name) => Some(name.to_owned()),
            Piece::Text(_) => None,
        })
        .collect())
}

/// Every reference in the strings of a JSON value (keys included).
pub fn references_in_value(value: &Value) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    match value {
        Value::String(text) => names.extend(references(text)?),
        Value::Array(items) => {
            for item in items {
                names.extend(references_in_value(item)?);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                names.extend(references(key)?);
                names.extend(references_in_value(item)?);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(names)
}

pub type Captures = BTreeMap<String, Value>;

fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn lookup<'a>(captures: &'a Captures, name: &str) -> Result<&'a Value, String> {
    captures
        .get(name)
        .ok_or_else(|| format!("capture `{name}` has no value (the step that sets it failed)"))
}

/// The template with every reference replaced by its captured text.
pub fn substitute(template: &str, captures: &Captures) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Reference(name) => out.push_str(&as_text(lookup(captures, name)?)),
        }
    }
    Ok(out)
}

/// A JSON value with references replaced; a string that is exactly one reference becomes the
/// captured value.
pub fn substitute_value(value: &Value, captures: &Captures) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => match pieces(text)?.as_slice() {
            [Piece::Reference(name)] => lookup(captures, name)?.clone(),
            _ => Value::String(substitute(text, captures)?),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| substitute_value(item, captures))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| {
                    Ok((
                        substitute(key, captures)?,
                        substitute_value(item, captures)?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_found_and_escapes_are_text() {
        assert_eq!(
            references("/runs/${run_id}/x${b}").unwrap(),
            ["run_id", "b"]
        );
        assert!(references("cost $5 and $${literal}").unwrap().is_empty());
        assert!(references("${oops").is_err());
        assert!(references("${1x}").is_err());
    }

    #[test]
    fn substitution_keeps_json_types_for_whole_references() {
        let captures: Captures = [
            ("n".to_owned(), json!(3)),
            ("id".to_owned(), json!("mrun_000002")),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            substitute("/runs/${id}?n=${n}", &captures).unwrap(),
            "/runs/mrun_000002?n=3"
        );
        assert_eq!(substitute("$${id}", &captures).unwrap(), "${id}");
        let body =
            substitute_value(&json!({"max": "${n}", "note": "run ${id}"}), &captures).unwrap();
        assert_eq!(body, json!({"max": 3, "note": "run mrun_000002"}));
        assert!(substitute("${missing}", &captures).is_err());
    }
}
