//! The OpenAPI 3.1 document, generated from the manifest, the schemas and the reason codes, so
//! that Swagger UI, client generators and OpenAPI fuzzers work on the API unchanged.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::headers;
use crate::manifest::{AuthScheme, Envelope, Manifest, Operation, QueryParamType};
use crate::reason::Reason;

use super::schemas::{self, Direction, NamedSchema};

/// The committed document (public operations only).
pub const COMMITTED_PATH: &str = "schemas/openapi.json";

/// The document for the operations a server mounts: dev-only ones only when `include_dev`.
pub fn document(manifest: &Manifest, include_dev: bool) -> Value {
    let operations: Vec<&Operation> = manifest
        .operations
        .iter()
        .filter(|operation| include_dev || !operation.dev_only)
        .collect();

    let mut components = Components::default();
    components.add_named("ErrorEnvelope");
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for operation in &operations {
        if let Some(name) = &operation.request_schema {
            components.add_named(name);
        }
        components.add_named(&operation.response_schema);
        paths.entry(operation.path.as_str()).or_default().insert(
            operation.method.as_str().to_lowercase(),
            operation_object(operation),
        );
    }
    let tags: BTreeSet<&str> = operations.iter().map(|op| op.tag.as_str()).collect();

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": manifest.title,
            "version": manifest.api_version,
            "description": manifest.description,
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": "http://127.0.0.1:3005", "description": "marketref serve (default address)"}],
        "tags": tags.iter().map(|tag| json!({"name": tag})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "securitySchemes": {
                "actorType": {
                    "type": "apiKey", "in": "header", "name": headers::ACTOR_TYPE,
                    "description": "Caller type: user, partner or agent. Set by the trusted gateway in front of the runtime."
                },
                "actorId": {
                    "type": "apiKey", "in": "header", "name": headers::ACTOR_ID,
                    "description": "Caller id. Set by the trusted gateway."
                },
                "actorScopes": {
                    "type": "apiKey", "in": "header", "name": headers::AUTH_SCOPES,
                    "description": "Scopes held by the caller, separated by commas or white space. The scopes an operation requires are listed in its security requirement."
                },
                "bearerAuth": {
                    "type": "http", "scheme": "bearer",
                    "description": "A vendor key (vk_...) or a deployment token (sit_...), as the operation's x-auth-scheme says; the scopes it must hold are listed in its security requirement."
                }
            },
            "parameters": {
                "ContractsVersion": {
                    "name": headers::CONTRACTS_VERSION, "in": "header", "required": false,
                    "description": "The contracts version the client speaks (semver); another major is refused.",
                    "schema": {"type": "string"}
                },
                "CorrelationId": {
                    "name": headers::CORRELATION_ID, "in": "header", "required": false,
                    "description": "Echoed in the response header and body; allocated by the server when absent.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 128}
                },
                "RequestClock": {
                    "name": headers::REQUEST_CLOCK, "in": "header", "required": false,
                    "description": "The request clock (RFC 3339); used instead of the server clock.",
                    "schema": {"type": "string", "format": "date-time"}
                }
            }
        }
    })
}

fn operation_object(operation: &Operation) -> Value {
    let mut parameters: Vec<Value> = operation
        .path_params()
        .into_iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}))
        .collect();
    for param in &operation.query_params {
        let mut schema = Map::new();
        match param.kind {
            QueryParamType::Integer => {
                schema.insert("type".into(), json!("integer"));
                if let Some(min) = param.minimum {
                    schema.insert("minimum".into(), json!(min));
                }
                if let Some(max) = param.maximum {
                    schema.insert("maximum".into(), json!(max));
                }
            }
            QueryParamType::String => {
                schema.insert("type".into(), json!("string"));
                schema.insert("minLength".into(), json!(1));
                if let Some(allowed) = &param.allowed {
                    schema.insert("enum".into(), json!(allowed));
                }
            }
        }
        parameters.push(json!({
            "name": param.name, "in": "query", "required": false,
            "description": param.description, "schema": schema,
        }));
    }
    if operation.idempotency.takes_key() {
        parameters.push(json!({
            "name": operation.idempotency.header_name(),
            "in": "header",
            "required": operation.idempotency.required,
            "description": "1 to 255 visible ASCII characters. The same key with the same request replays the recorded response; with another request it is refused (409).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }));
    }
    if operation.envelope == Envelope::Data {
        parameters.push(json!({"$ref": "#/components/parameters/ContractsVersion"}));
    }
    parameters.push(json!({"$ref": "#/components/parameters/CorrelationId"}));
    parameters.push(json!({"$ref": "#/components/parameters/RequestClock"}));

    let mut success_headers = Map::new();
    success_headers.insert(
        headers::CORRELATION_ID.into(),
        json!({"description": "The request's correlation id.", "schema": {"type": "string"}}),
    );
    if operation.idempotency.takes_key() {
        success_headers.insert(
            headers::IDEMPOTENT_REPLAYED.into(),
            json!({"description": "`true` when this is the recorded response of an earlier request with the same key.", "schema": {"type": "string", "enum": ["true"]}}),
        );
    }
    let mut responses = Map::new();
    let media_type = operation
        .response_media_type
        .as_deref()
        .unwrap_or("application/json");
    let response_ref =
        json!({"$ref": format!("#/components/schemas/{}", operation.response_schema)});
    let success_schema = match (operation.envelope, &operation.response_media_type) {
        (Envelope::Data, None) => json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["success", "data"],
            "properties": {"success": {"const": true}, "data": response_ref},
        }),
        _ => response_ref,
    };
    if operation.envelope == Envelope::Data {
        success_headers.insert(
            headers::CONTRACTS_VERSION.into(),
            json!({"description": "The contracts version the server speaks.", "schema": {"type": "string"}}),
        );
    }
    if operation.rate_limit.is_some() {
        for name in [
            headers::RATE_LIMIT_LIMIT,
            headers::RATE_LIMIT_REMAINING,
            headers::RATE_LIMIT_RESET,
        ] {
            success_headers.insert(
                name.into(),
                json!({"description": "The rate limit's window: its limit, what remains, seconds to its end (also as X-RateLimit-*).", "schema": {"type": "integer"}}),
            );
        }
    }
    let mut content = Map::new();
    content.insert(media_type.to_owned(), json!({"schema": success_schema}));
    if let Some(stream) = &operation.event_stream {
        content.insert(
            crate::manifest::EVENT_STREAM_MEDIA_TYPE.to_owned(),
            json!({
                "schema": {
                    "type": "string",
                    "description": format!(
                        "With `{}={}`: server-sent events, each with its id; `Last-Event-ID` resumes after one; the last is named `{}`.",
                        stream.query, stream.value, stream.end_event
                    ),
                },
            }),
        );
    }
    responses.insert(
        operation.success_status.to_string(),
        json!({
            "description": operation.summary,
            "headers": success_headers,
            "content": content,
        }),
    );
    for (status, reasons) in operation.reasons_by_status() {
        let lines: Vec<String> = reasons
            .iter()
            .map(|reason| format!("`{}`: {}", reason.code(), reason.message()))
            .collect();
        responses.insert(
            status.to_string(),
            json!({
                "description": lines.join("\n"),
                "x-reason-codes": reasons.iter().map(|reason| reason.code()).collect::<Vec<_>>(),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
            }),
        );
    }

    let mut object = json!({
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": parameters,
        "responses": responses,
        "security": match (operation.auth.required, operation.auth.scheme) {
            (false, _) => json!([]),
            (true, AuthScheme::Gateway) => json!([{"actorType": [], "actorId": [], "actorScopes": operation.auth.required_scopes}]),
            (true, _) => json!([{"bearerAuth": operation.auth.required_scopes}]),
        },
        "x-allowed-actor-types": operation.auth.allowed_actor_types,
        "x-auth-scheme": if operation.auth.required { json!(operation.auth.scheme) } else { json!("public") },
        "x-idempotent": operation.idempotency.takes_key(),
    });
    if let Some(name) = &operation.request_schema {
        object["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}},
        });
    }
    if operation.dev_only {
        object["x-dev-only"] = json!(true);
    }
    object
}

/// `components.schemas`, filled from the generated schemas with their `$defs` lifted.
#[derive(Default)]
struct Components {
    schemas: BTreeMap<String, Value>,
}

impl Components {
    fn add_named(&mut self, name: &str) {
        if self.schemas.contains_key(name) {
            return;
        }
        if let Some(named) = schemas::all().iter().find(|schema| schema.name == name) {
            self.add(named);
        }
    }

    /// Lifts a schema's `$defs` next to it. A definition whose name is taken by a different
    /// schema (the same type seen as a request and as a response differs in which fields are
    /// required) gets the suffix `Output` or `Input`.
    fn add(&mut self, named: &NamedSchema) {
        let mut root = named.schema.clone();
        let defs = root
            .as_object_mut()
            .and_then(|object| {
                object.remove("$schema");
                object.remove("$defs")
            })
            .and_then(|defs| match defs {
                Value::Object(defs) => Some(defs),
                _ => None,
            })
            .unwrap_or_default();
        let suffix = match named.direction {
            Direction::Response => "Output",
            Direction::Request | Direction::Document => "Input",
        };
        let mut rename: BTreeMap<String, String> = defs
            .keys()
            .map(|name| (name.clone(), name.clone()))
            .collect();
        // Renaming one definition changes the text of those that refer to it: repeat until no
        // name changes.
        loop {
            let mut changed = false;
            for (name, def) in &defs {
                let target = rename[name].clone();
                let rewritten = rewrite_refs(def, &rename);
                let clash = self
                    .schemas
                    .get(&target)
                    .is_some_and(|existing| *existing != rewritten);
                if clash && !target.ends_with(suffix) {
                    rename.insert(name.clone(), format!("{name}{suffix}"));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (name, def) in &defs {
            self.schemas
                .insert(rename[name].clone(), rewrite_refs(def, &rename));
        }
        self.schemas
            .insert(named.name.clone(), rewrite_refs(&root, &rename));
    }
}

fn rewrite_refs(value: &Value, rename: &BTreeMap<String, String>) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, inner)| {
                    let rewritten = match (key.as_str(), inner.as_str()) {
                        ("$ref", Some(target)) => {
                            let name = target.trim_start_matches("#/$defs/");
                            let name = rename.get(name).map_or(name, String::as_str);
                            Value::String(format!("#/components/schemas/{name}"))
                        }
                        _ => rewrite_refs(inner, rename),
                    };
                    (key.clone(), rewritten)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| rewrite_refs(item, rename))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every reason code the document lists, for tests.
pub fn listed_reasons(document: &Value) -> BTreeSet<Reason> {
    let mut reasons = BTreeSet::new();
    for path in document["paths"]
        .as_object()
        .into_iter()
        .flat_map(Map::values)
    {
        for operation in path.as_object().into_iter().flat_map(Map::values) {
            for response in operation["responses"]
                .as_object()
                .into_iter()
                .flat_map(Map::values)
            {
                for code in response["x-reason-codes"].as_array().into_iter().flatten() {
                    reasons.extend(code.as_str().and_then(Reason::from_code));
                }
            }
        }
    }
    reasons
}
