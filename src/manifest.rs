//! The API manifest: `schemas/manifest.yaml`, the one list of operations.
//!
//! Routes, auth rules, idempotency, request validation and the OpenAPI document are all derived
//! from it; nothing else in the runtime lists operations. Its own JSON Schema
//! (`schemas/Manifest.schema.json`) is generated from the types below.

mod check;
mod model_server;

pub use model_server::{ModelServerContract, ModelServerEndpoint};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actor::ActorType;
use crate::error::{Error, ErrorKind};
use crate::reason::Reason;

/// The manifest text, embedded so that the binary is the contract it serves.
pub const MANIFEST_YAML: &str = include_str!("../schemas/manifest.yaml");
/// Where the manifest lives in the repository.
pub const MANIFEST_PATH: &str = "schemas/manifest.yaml";

/// A whole API manifest.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest format version; this runtime reads version 1.
    #[schemars(range(min = 1, max = 1))]
    pub manifest_version: u32,
    /// The API's name.
    #[schemars(length(min = 1))]
    pub title: String,
    /// The API's version (semver).
    #[schemars(regex(pattern = r"^\d+\.\d+\.\d+$"))]
    pub api_version: String,
    /// What the API is for.
    pub description: String,
    /// Every operation of the API.
    #[schemars(length(min = 1))]
    pub operations: Vec<Operation>,
    /// The contract of the model servers vendors deploy (not routed by this runtime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_server: Option<ModelServerContract>,
}

/// One operation: the unit the router, the auth layer, the verifier and the OpenAPI document
/// share.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// Stable id, `area.verb` (`swapIntents.create`).
    #[schemars(regex(pattern = r"^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$"))]
    pub operation_id: String,
    pub method: HttpMethod,
    /// Path template with `{name}` parameters.
    #[schemars(regex(pattern = r"^/[A-Za-z0-9_\-./{}]*$"))]
    pub path: String,
    #[schemars(length(min = 1))]
    pub summary: String,
    /// OpenAPI tag that groups the operation.
    #[schemars(length(min = 1))]
    pub tag: String,
    /// Mounted only when the server runs with `--dev`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dev_only: bool,
    pub auth: AuthRule,
    pub idempotency: IdempotencyRule,
    /// Query parameters the operation accepts; any other is rejected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_params: Vec<QueryParam>,
    /// Schema name of the JSON body; absent when the operation takes no body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_schema: Option<String>,
    /// The reason answered when the body is not JSON or breaks the request schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_request_reason: Option<String>,
    /// Field guidance: a body failure at or under one of these JSON pointers is answered with
    /// that field's reason instead of `invalid_request_reason` (the longest match wins).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_reasons: BTreeMap<String, String>,
    /// Field guidance by rule, for a field whose rules have different reasons (a missing
    /// fingerprint against a malformed one): pointer, then schema keyword or handler rule, then
    /// reason. Consulted before `field_reasons`, for that exact pointer only.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_rule_reasons: BTreeMap<String, BTreeMap<String, String>>,
    /// Schema name of the success body.
    pub response_schema: String,
    /// HTTP status of a success.
    #[schemars(range(min = 200, max = 299))]
    pub success_status: u16,
    /// Media type of a success; JSON unless said otherwise (the Prometheus text of `/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_media_type: Option<String>,
    /// When a query parameter asks for it (`?follow=true`), the success is a
    /// `text/event-stream` instead: see [`EventStream`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_stream: Option<EventStream>,
    /// Error bodies also carry the reason code at the top level as `code`, for the clients of
    /// an older implementation of the same contract.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reason_code_at_top_level: bool,
    /// How bodies are wrapped.
    #[serde(default, skip_serializing_if = "Envelope::is_bare")]
    pub envelope: Envelope,
    /// How many requests a principal may send; counted in the store before the request runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Every call that reaches the handler (success or failure) is recorded in the activity
    /// log, in the request's transaction.
    #[serde(default, skip_serializing_if = "is_false")]
    pub records_activity: bool,
    /// Success-body fields whose values are measurements or locations outside the contract (a
    /// solve time, the store's file). The verifier replaces them before it compares or records
    /// an answer, so that an outcome is the same on every machine and every server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volatile_fields: Vec<VolatileField>,
    /// Reasons the operation's own logic may answer. Reasons of the shared layers (auth,
    /// idempotency, body, query) are implied by the rules above; see
    /// [`Operation::effective_reasons`].
    pub reason_codes: Vec<String>,
    /// Example files, relative to the repository root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// Reads mutate nothing and run in a read transaction.
    pub fn is_read(self) -> bool {
        self == HttpMethod::Get
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthRule {
    /// Whether the caller must identify itself; `false` makes the operation public.
    pub required: bool,
    /// How the caller identifies itself when it must: the trusted gateway's actor headers
    /// (the default), a vendor key or a deployment token (`Authorization: Bearer ...`).
    #[serde(default, skip_serializing_if = "AuthScheme::is_gateway")]
    pub scheme: AuthScheme,
    /// Actor types that may call through the gateway; empty for the other schemes and when
    /// auth is not required.
    pub allowed_actor_types: Vec<ActorType>,
    /// Scopes the caller must hold, all of them.
    pub required_scopes: Vec<String>,
    /// What holding one more scope lets a caller do in this operation, by name (`operator:
    /// marketplace:operate`: act for other providers). Handlers ask by name; the scope is
    /// written only here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub privileges: BTreeMap<String, String>,
}

/// How a caller identifies itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    /// `x-actor-type`, `x-actor-id`, `x-auth-scopes`, set by the trusted gateway.
    #[default]
    Gateway,
    /// `Authorization: Bearer vk_...`: a vendor's key.
    VendorKey,
    /// `Authorization: Bearer sit_...`: one deployment's token.
    DeploymentToken,
}

impl AuthScheme {
    pub fn is_gateway(&self) -> bool {
        *self == AuthScheme::Gateway
    }

    /// The kind of token the scheme takes, for the bearer schemes.
    pub fn token_kind(self) -> Option<crate::credentials::TokenKind> {
        match self {
            AuthScheme::Gateway => None,
            AuthScheme::VendorKey => Some(crate::credentials::TokenKind::VendorKey),
            AuthScheme::DeploymentToken => Some(crate::credentials::TokenKind::DeploymentToken),
        }
    }
}

/// How success and error bodies are wrapped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Envelope {
    /// The body is the response schema's object; errors are the error envelope.
    #[default]
    Bare,
    /// `{success: true, data}` around the response schema's object, `success: false` in the
    /// error envelope, and the contracts-version header (spec `ml-marketplace.md` section 1).
    Data,
}

impl Envelope {
    pub fn is_bare(&self) -> bool {
        *self == Envelope::Bare
    }
}

/// Requests an authenticated principal may send in a window of the request clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The counter's name: operations naming the same bucket share one count.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub bucket: String,
    /// Whose requests are counted together.
    pub per: RateSubject,
    /// Requests allowed in a window; the next one is refused with 429.
    #[schemars(range(min = 1))]
    pub limit: u32,
    /// The window's length in seconds, aligned to the Unix epoch.
    #[schemars(range(min = 1))]
    pub window_s: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateSubject {
    /// The deployment a deployment token writes for.
    Deployment,
    /// The vendor a vendor key belongs to.
    Vendor,
}

/// An operation that streams: with `query` set to `value` its success is `text/event-stream`,
/// one event per item with its sequence number as the event id (a `Last-Event-ID` header
/// resumes after it), ending with an event named `end_event` whose data is the final state as
/// JSON. Every other answer (an error, or the request without the parameter) is as declared.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventStream {
    /// The string query parameter that asks for the stream.
    pub query: String,
    /// Its value that does.
    pub value: String,
    /// The name of the last event.
    pub end_event: String,
}

/// The media type of an event stream.
pub const EVENT_STREAM_MEDIA_TYPE: &str = "text/event-stream";

/// A field of a success body that the verifier replaces; see `Operation::volatile_fields`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolatileField {
    /// A JSON pointer into the success body; a `*` token stands for every item of an array.
    #[schemars(regex(pattern = r"^(/[^/]*)+$"))]
    pub at: String,
    /// What the verifier writes instead, when the field is there.
    pub replace_with: serde_json::Value,
    /// A credential the server shows once (a key, a token, a signed URL): a step may capture
    /// it and later requests send it, but no record shows it, wherever it is sent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub secret: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyRule {
    /// Whether an idempotency key is required and responses are recorded.
    pub required: bool,
    /// A key is not required, but one that is sent is honoured as if it were.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// The header that carries the key, when not `Idempotency-Key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9-]*$"))]
    pub header: Option<String>,
}

impl IdempotencyRule {
    /// Whether a key is taken at all.
    pub fn takes_key(&self) -> bool {
        self.required || self.optional
    }

    /// The header that carries the key, lower case.
    pub fn header_name(&self) -> String {
        self.header
            .as_deref()
            .unwrap_or(crate::headers::IDEMPOTENCY_KEY)
            .to_ascii_lowercase()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryParam {
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: QueryParamType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
    /// Allowed values of a string parameter.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// A request without it is refused.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QueryParamType {
    String,
    Integer,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Example {
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub name: String,
    /// A request body that must validate against the request schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// A response body: validated against the response schema, or against the error envelope
    /// when `status` is 400 or more (and then its reason must be one the operation may answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// The status of the example response; the operation's success status when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 200, max = 599))]
    pub status: Option<u16>,
}

impl Manifest {
    /// The embedded manifest, parsed and checked once. Panics only if the committed manifest is
    /// broken, which the drift gate and every test catch first.
    pub fn embedded() -> &'static Manifest {
        static MANIFEST: OnceLock<Manifest> = OnceLock::new();
        MANIFEST.get_or_init(|| match Manifest::parse(MANIFEST_YAML) {
            Ok(manifest) => manifest,
            Err(error) => panic!("the embedded {MANIFEST_PATH} is invalid: {error}"),
        })
    }

    /// Parses a manifest and checks the rules its schema cannot express.
    pub fn parse(yaml: &str) -> Result<Manifest, Error> {
        let manifest: Manifest = serde_saphyr::from_str(yaml).map_err(|error| {
            Error::new(ErrorKind::Manifest, format!("{MANIFEST_PATH}: {error}"))
        })?;
        manifest.check()?;
        Ok(manifest)
    }

    pub fn operation(&self, operation_id: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|operation| operation.operation_id == operation_id)
    }

    /// Every reason any operation may answer, plus the router's own.
    pub fn all_effective_reasons(&self) -> BTreeSet<Reason> {
        let mut all: BTreeSet<Reason> = self
            .operations
            .iter()
            .flat_map(Operation::effective_reasons)
            .collect();
        all.extend(ROUTER_REASONS);
        all
    }
}

/// Reasons the router answers outside any operation.
pub const ROUTER_REASONS: [Reason; 3] = [
    Reason::RouteNotFound,
    Reason::MethodNotAllowed,
    Reason::InternalError,
];

impl Operation {
    /// Whether a request with these query pairs asks for the operation's event stream.
    pub fn asks_for_stream<'q>(&self, mut query: impl Iterator<Item = (&'q str, &'q str)>) -> bool {
        self.event_stream.as_ref().is_some_and(|stream| {
            query.any(|(name, value)| name == stream.query && value == stream.value)
        })
    }

    /// Path parameter names, in order.
    pub fn path_params(&self) -> Vec<&str> {
        self.path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect()
    }

    /// The path with parameter names erased, so that `/a/{x}` and `/a/{y}` collide.
    fn route_shape(&self) -> String {
        self.path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "{}"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    pub fn invalid_request_reason(&self) -> Option<Reason> {
        self.invalid_request_reason
            .as_deref()
            .and_then(Reason::from_code)
    }

    /// The reason for a body failure at `pointer`: the reason of the longest `field_reasons`
    /// entry that is the pointer or a parent of it, else `invalid_request_reason`.
    pub fn reason_for_field(&self, pointer: &str) -> Option<Reason> {
        self.field_reasons
            .iter()
            .filter(|(prefix, _)| {
                pointer == prefix.as_str()
                    || pointer
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .and_then(|(_, code)| Reason::from_code(code))
            .or_else(|| self.invalid_request_reason())
    }

    /// The reason for a failure of rule `rule` at `pointer`: the `field_rule_reasons` entry of
    /// that exact pointer and rule, else [`Operation::reason_for_field`].
    pub fn reason_for_field_rule(&self, pointer: &str, rule: &str) -> Option<Reason> {
        self.field_rule_reasons
            .get(pointer)
            .and_then(|rules| rules.get(rule))
            .and_then(|code| Reason::from_code(code))
            .or_else(|| self.reason_for_field(pointer))
    }

    /// The operation's own reasons, as declared.
    pub fn declared_reasons(&self) -> impl Iterator<Item = Reason> + '_ {
        self.reason_codes
            .iter()
            .filter_map(|code| Reason::from_code(code))
    }

    /// Every reason this operation may answer: its own plus those its rules imply.
    pub fn effective_reasons(&self) -> BTreeSet<Reason> {
        let mut reasons: BTreeSet<Reason> = self.declared_reasons().collect();
        reasons.extend(self.invalid_request_reason());
        reasons.extend(
            self.field_reasons
                .values()
                .chain(self.field_rule_reasons.values().flat_map(BTreeMap::values))
                .filter_map(|code| Reason::from_code(code)),
        );
        reasons.insert(Reason::RequestClockInvalid);
        if self.auth.required && self.auth.scheme.is_gateway() {
            reasons.insert(Reason::AuthIdentityMissing);
            reasons.insert(Reason::AuthActorTypeUnknown);
            if self.auth.allowed_actor_types.len() < ActorType::ALL.len() {
                reasons.insert(Reason::AuthActorTypeNotAllowed);
            }
            if !self.auth.required_scopes.is_empty() {
                reasons.insert(Reason::AuthScopeMissing);
            }
        }
        if self.auth.required && !self.auth.scheme.is_gateway() {
            reasons.insert(Reason::AuthHeaderRequired);
            reasons.insert(Reason::TokenMalformed);
            reasons.insert(Reason::TokenInactive);
            // A token of the other kind is refused as one that does not grant the operation.
            reasons.insert(Reason::TokenScopeInsufficient);
        }
        if self.idempotency.required {
            reasons.insert(Reason::IdempotencyKeyRequired);
        }
        if self.idempotency.takes_key() {
            reasons.insert(Reason::IdempotencyKeyInvalid);
            reasons.insert(Reason::IdempotencyKeyReusePayloadMismatch);
        }
        if self.rate_limit.is_some() {
            reasons.insert(Reason::RateLimited);
        }
        if self.event_stream.is_some() {
            reasons.insert(Reason::LastEventIdInvalid);
        }
        if self.envelope == Envelope::Data {
            reasons.insert(Reason::ContractsVersionInvalid);
            reasons.insert(Reason::ContractsVersionUnsupported);
        }
        if self.request_schema.is_some() {
            reasons.insert(Reason::RequestBodyTooLarge);
            reasons.insert(Reason::UnsupportedMediaType);
        }
        if !self.query_params.is_empty() {
            reasons.insert(Reason::QueryInvalid);
        }
        reasons
    }

    /// Effective reasons grouped by HTTP status, for the OpenAPI document.
    pub fn reasons_by_status(&self) -> BTreeMap<u16, Vec<Reason>> {
        let mut by_status: BTreeMap<u16, Vec<Reason>> = BTreeMap::new();
        for reason in self.effective_reasons() {
            by_status.entry(reason.status()).or_default().push(reason);
        }
        by_status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_parses_and_checks() {
        let manifest = Manifest::embedded();
        assert!(manifest.operation("marketplaceMatching.run").is_some());
        assert!(manifest.operation("no.such").is_none());
    }

    #[test]
    fn duplicate_operation_ids_are_refused() {
        let op = "  - operation_id: a.b\n    method: GET\n    path: /a\n    summary: s\n    tag: t\n    auth: {required: false, allowed_actor_types: [], required_scopes: []}\n    idempotency: {required: false}\n    response_schema: X\n    success_status: 200\n    reason_codes: []\n";
        let yaml = format!(
            "manifest_version: 1\ntitle: t\napi_version: 1.0.0\ndescription: d\noperations:\n{op}{}",
            op.replace("path: /a", "path: /b")
        );
        let error = Manifest::parse(&yaml).unwrap_err();
        assert!(error.message().contains("declared twice"), "{error}");
    }

    #[test]
    fn unknown_reason_codes_are_refused() {
        let yaml = "manifest_version: 1\ntitle: t\napi_version: 1.0.0\ndescription: d\noperations:\n  - operation_id: a.b\n    method: GET\n    path: /a\n    summary: s\n    tag: t\n    auth: {required: false, allowed_actor_types: [], required_scopes: []}\n    idempotency: {required: false}\n    response_schema: X\n    success_status: 200\n    reason_codes: [no_such_reason]\n";
        let error = Manifest::parse(yaml).unwrap_err();
        assert!(error.message().contains("no_such_reason"), "{error}");
    }

    #[test]
    fn a_rate_limit_is_for_writes_of_its_subjects_scheme() {
        let op = |method: &str, scheme: &str| {
            format!(
                "manifest_version: 1\ntitle: t\napi_version: 1.0.0\ndescription: d\noperations:\n  - operation_id: a.b\n    method: {method}\n    path: /a\n    summary: s\n    tag: t\n    auth: {{required: true, scheme: {scheme}, allowed_actor_types: [], required_scopes: []}}\n    idempotency: {{required: false}}\n    response_schema: X\n    success_status: 200\n    rate_limit: {{bucket: b, per: deployment, limit: 60, window_s: 60}}\n    reason_codes: []\n"
            )
        };
        assert!(Manifest::parse(&op("POST", "deployment_token")).is_ok());
        let read = Manifest::parse(&op("GET", "deployment_token")).unwrap_err();
        assert!(read.message().contains("a read is not counted"), "{read}");
        let other = Manifest::parse(&op("POST", "vendor_key")).unwrap_err();
        assert!(other.message().contains("needs the"), "{other}");
    }

    #[test]
    fn path_params_in_order() {
        let manifest = Manifest::embedded();
        let op = manifest.operation("swapIntents.cancel").unwrap();
        assert_eq!(op.path_params(), vec!["id"]);
    }
}
