//! Request bodies parsed as JSON the strict way: an object that names a key twice is refused
//! (with where), where `serde_json::Value` would keep the last one and let a client believe
//! the first was read.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::api::field::pointer_join;

/// Why a body is not a JSON document we accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not JSON at all.
    NotJson,
    /// An object names this key twice: the JSON pointer of the second.
    DuplicateKey(String),
}

/// Parses `bytes` as one JSON document with no duplicate keys.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, Refusal> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = ValueSeed {
        at: &Path::Root,
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, duplicate.into_inner()) {
        (_, Some(pointer)) => Err(Refusal::DuplicateKey(pointer)),
        (Ok(value), None) => Ok(value),
        (Err(_), None) => Err(Refusal::NotJson),
    }
}

/// Where a value sits, as a chain to the root: built only into a pointer when it is needed.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn pointer(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => pointer_join(&parent.pointer(), key),
            Path::Index(parent, index) => pointer_join(&parent.pointer(), &index.to_string()),
        }
    }
}

struct ValueSeed<'a> {
    at: &'a Path<'a>,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed {
            at: &Path::Index(self.at, items.len()),
            duplicate: self.duplicate,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = Path::Key(self.at, &key);
            let value = map.next_value_seed(ValueSeed {
                at: &at,
                duplicate: self.duplicate,
            })?;
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(at.pointer());
                return Err(de::Error::custom("duplicate key"));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_parses_as_serde_json_would() {
        let text =
            br#"{"a": [1, -2, 3.5, "x", null, true], "b": {"c": {}}, "d": 18446744073709551615}"#;
        assert_eq!(
            parse(text).unwrap(),
            serde_json::from_slice::<Value>(text).unwrap()
        );
        assert_eq!(parse(b"[]").unwrap(), json!([]));
    }

    #[test]
    fn a_key_named_twice_is_refused_where_it_is() {
        assert_eq!(
            parse(br#"{"a": 1, "a": 2}"#),
            Err(Refusal::DuplicateKey("/a".to_owned()))
        );
        assert_eq!(
            parse(br#"{"x": [{"ok": 1}, {"b/c": 1, "b/c": 2}]}"#),
            Err(Refusal::DuplicateKey("/x/1/b~1c".to_owned()))
        );
        assert_eq!(parse(br#"{"a": 1, "b": {"a": 2}}"#).unwrap()["b"]["a"], 2);
    }

    #[test]
    fn what_is_not_json_is_refused_as_such() {
        assert_eq!(parse(b"{oops"), Err(Refusal::NotJson));
        assert_eq!(parse(b"{} {}"), Err(Refusal::NotJson));
        assert_eq!(parse(br#"{"a": NaN}"#), Err(Refusal::NotJson));
    }
}
