//! The JSON Schemas of the contract, generated from the Rust types (draft 2020-12).
//!
//! Every schema the manifest names is listed here once. Request schemas describe what is
//! accepted (the deserialize contract); response schemas what is sent (the serialize contract).
//! The runtime validates with these generated schemas, and the committed copies under `schemas/`
//! must equal them (the drift gate).

use std::sync::OnceLock;

use schemars::generate::{Contract, SchemaSettings};
use schemars::transform::{Transform, transform_subschemas};
use schemars::{JsonSchema, Schema};
use serde_json::Value;

use crate::error::ErrorEnvelope;
use crate::manifest::Manifest;
use crate::reason::ReasonRegistry;

/// Which way a schema's type crosses the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// A request body: what the runtime accepts.
    Request,
    /// A response body: what the runtime sends.
    Response,
    /// A document read by tools (the manifest, the reason-code registry).
    Document,
}

/// One generated schema.
#[derive(Clone, Debug)]
pub struct NamedSchema {
    pub name: String,
    pub direction: Direction,
    pub schema: Value,
    /// Whether an absent value is sent as `null` (the marketplace API's "nullable, never
    /// missing") rather than left out.
    pub sends_null: bool,
}

impl NamedSchema {
    /// Where the committed copy lives, relative to the repository root.
    pub fn path(&self) -> String {
        format!("schemas/{}.schema.json", self.name)
    }
}

/// Every schema of the contract, generated once per process: the documents every API shares
/// (the error envelope, the manifest, the registry), then each domain's.
pub fn all() -> &'static [NamedSchema] {
    static ALL: OnceLock<Vec<NamedSchema>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = vec![
            generate::<ErrorEnvelope>(Direction::Response),
            generate::<Manifest>(Direction::Document),
            generate::<ReasonRegistry>(Direction::Document),
        ];
        for domain in crate::domain::ALL {
            all.extend((domain.schemas)());
        }
        all
    })
}

/// The schema named `name`, if the contract has one.
pub fn named(name: &str) -> Option<Value> {
    all()
        .iter()
        .find(|schema| schema.name == name)
        .map(|schema| schema.schema.clone())
}

/// The schema of an operation's success body as it is on the wire: its response schema, inside
/// `{success: true, data}` for the `data` envelope (with the inner schema's definitions lifted).
pub fn answer_schema(operation: &crate::manifest::Operation) -> Option<Value> {
    let inner = named(&operation.response_schema)?;
    if operation.envelope != crate::manifest::Envelope::Data
        || operation.response_media_type.is_some()
    {
        return Some(inner);
    }
    let Value::Object(mut inner) = inner else {
        return None;
    };
    let schema_uri = inner.remove("$schema");
    let mut defs = match inner.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => serde_json::Map::new(),
    };
    let name = operation.response_schema.clone();
    defs.insert(name.clone(), Value::Object(inner));
    let mut wrapped = serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["success", "data"],
        "properties": {
            "success": {"const": true},
            "data": {"$ref": format!("#/$defs/{name}")},
        },
        "$defs": defs,
    });
    if let Some(uri) = schema_uri {
        wrapped["$schema"] = uri;
    }
    Some(wrapped)
}

/// The schema of `T`, named after it, in the direction it crosses the wire.
pub fn generate<T: JsonSchema>(direction: Direction) -> NamedSchema {
    generate_with::<T>(direction, false)
}

/// The schema of a response type whose absent values are sent as `null`: its `Option` fields
/// admit `null`, as schemars writes them.
pub fn generate_sending_null<T: JsonSchema>() -> NamedSchema {
    generate_with::<T>(Direction::Response, true)
}

fn generate_with<T: JsonSchema>(direction: Direction, sends_null: bool) -> NamedSchema {
    let mut settings = SchemaSettings::draft2020_12();
    if !sends_null {
        settings = settings.with_transform(NoNull);
    }
    settings.contract = match direction {
        Direction::Response => Contract::Serialize,
        Direction::Request | Direction::Document => Contract::Deserialize,
    };
    let schema = settings.into_generator().into_root_schema_for::<T>();
    NamedSchema {
        name: T::schema_name().into_owned(),
        direction,
        sends_null,
        schema: schema.to_value(),
    }
}

/// Every variant of a unit enum, read from its generated schema (`enum`), so that no list of
/// them is written by hand where they are shown.
pub fn enum_variants<T: JsonSchema + serde::de::DeserializeOwned>() -> Result<Vec<T>, String> {
    let schema = schemars::schema_for!(T);
    let values = schema
        .get("enum")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{} has no enum schema", T::schema_name()))?;
    values
        .iter()
        .map(|value| serde_json::from_value(value.clone()).map_err(|e| e.to_string()))
        .collect()
}

/// Our wire format never sends `null`: an optional field is absent. schemars lets an `Option`
/// also be `null`; this transform takes that back out so that the schemas say what we send.
#[derive(Clone, Copy, Debug)]
struct NoNull;

impl Transform for NoNull {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(object) = schema.as_object_mut() {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    object.insert("type".to_owned(), only);
                }
            }
            if let Some(Value::Array(options)) = object.get_mut("enum") {
                options.retain(|option| !option.is_null());
            }
            if let Some(Value::Array(branches)) = object.get_mut("anyOf") {
                branches
                    .retain(|branch| branch.get("type").and_then(Value::as_str) != Some("null"));
                if branches.len() == 1
                    && let Some(Value::Object(only)) = branches.pop()
                {
                    object.remove("anyOf");
                    for (key, value) in only {
                        object.entry(key).or_insert(value);
                    }
                }
            }
        }
        transform_subschemas(self, schema);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = all().iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn no_schema_admits_null_but_those_that_send_it() {
        for schema in all().iter().filter(|schema| !schema.sends_null) {
            let text = schema.schema.to_string();
            assert!(!text.contains(r#""null""#), "{} admits null", schema.name);
        }
    }

    #[test]
    fn request_objects_are_closed() {
        let schema = named("MatchingRunRequest").unwrap();
        assert_eq!(schema["additionalProperties"], Value::Bool(false));
        assert_eq!(schema["properties"]["max_proposals"]["maximum"], 200);
    }
}
