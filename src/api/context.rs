//! An operation's view of its request.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;

use crate::actor::ActorRef;
use crate::clock::{Clock, format_rfc3339_millis, parse_rfc3339};
use crate::error::ApiError;
use crate::manifest::{Manifest, Operation};
use crate::reason::Reason;
use crate::store::{StoreInfo, Tx};

use super::domain::Domain;
use super::field::{self, BodyError};

/// An operation's logic. It gets the validated request and the request's one transaction, and
/// answers the success body or a reason. It never writes a status, a header or a message.
pub type Handler = fn(&OpContext<'_>, &mut dyn Tx) -> Result<Reply, ApiError>;

/// What a handler answers on success.
#[derive(Debug)]
pub enum Reply {
    /// The success body (JSON, or the text of an operation with another media type).
    Body(Value),
    /// A file, streamed after the transaction ends, with range support.
    File(FileReply),
    /// An event stream, sent after the transaction ends.
    Events(super::EventsReply),
}

impl From<Value> for Reply {
    fn from(value: Value) -> Reply {
        Reply::Body(value)
    }
}

/// A file to stream: the runtime opens it, honours `Range`, and sends `Content-Length`.
#[derive(Clone, Debug)]
pub struct FileReply {
    pub path: std::path::PathBuf,
    pub media_type: String,
}

/// Serializes a success body.
pub fn respond<T: Serialize>(body: &T) -> Result<Reply, ApiError> {
    serde_json::to_value(body)
        .map(Reply::Body)
        .map_err(ApiError::internal)
}

/// A validated query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryValue {
    Text(String),
    Integer(i64),
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    /// Sorted and deduplicated.
    pub scopes: BTreeSet<String>,
}

/// Who an authenticated caller is, by the operation's auth scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An actor the trusted gateway vouches for.
    Actor(ActorRef),
    /// A vendor, by one of its keys.
    Vendor {
        vendor_id: String,
        credential_id: String,
    },
    /// A deployment, by one of its tokens.
    Deployment {
        vendor_id: String,
        deployment_id: String,
        credential_id: String,
    },
}

impl Principal {
    /// The kind of principal, as idempotency records scope keys by it.
    pub fn kind(&self) -> &str {
        match self {
            Principal::Actor(actor) => actor.kind.as_str(),
            Principal::Vendor { .. } => "vendor",
            Principal::Deployment { .. } => "deployment",
        }
    }

    /// Its id: the actor's, the vendor's, the deployment's.
    pub fn id(&self) -> &str {
        match self {
            Principal::Actor(actor) => &actor.id,
            Principal::Vendor { vendor_id, .. } => vendor_id,
            Principal::Deployment { deployment_id, .. } => deployment_id,
        }
    }

    pub fn actor(&self) -> Option<&ActorRef> {
        match self {
            Principal::Actor(actor) => Some(actor),
            _ => None,
        }
    }
}

/// A deployment token's caller.
#[derive(Clone, Copy, Debug)]
pub struct DeploymentCaller<'a> {
    pub vendor_id: &'a str,
    pub deployment_id: &'a str,
    pub credential_id: &'a str,
}

/// What the running server shares with every handler.
pub struct Env {
    pub manifest: Arc<Manifest>,
    pub clock: Arc<dyn Clock>,
    pub store: StoreInfo,
    /// Whether dev-only operations are mounted.
    pub dev: bool,
    /// The domains this server runs.
    pub domains: &'static [&'static Domain],
    /// The OpenAPI document of the mounted operations.
    pub openapi: Value,
    /// Hashes new secrets with the server's pepper.
    pub hasher: crate::credentials::Hasher,
    /// Signs and checks dataset URLs.
    pub url_signer: crate::credentials::UrlSigner,
    /// Where files the domains serve live (dataset rounds, model artifacts).
    pub data_dir: std::path::PathBuf,
    /// How many training runs this server trains at once; 0: none (they stay queued).
    pub training_workers: usize,
}

/// Everything a handler may know about its request.
pub struct OpContext<'a> {
    pub operation: &'a Operation,
    /// The authenticated caller; always present when the operation requires auth.
    pub caller: Option<&'a Caller>,
    pub path_params: &'a BTreeMap<String, String>,
    pub query: &'a BTreeMap<String, QueryValue>,
    /// The body, already validated against the request schema (`null` when there is none).
    pub body: &'a Value,
    pub correlation_id: &'a str,
    /// `x-now-iso` as the client sent it, already checked to be RFC 3339.
    pub request_clock: Option<&'a str>,
    pub env: &'a Env,
}

impl OpContext<'_> {
    /// The gateway caller of an operation that requires auth.
    pub fn caller(&self) -> Result<&ActorRef, ApiError> {
        self.caller
            .and_then(|caller| caller.principal.actor())
            .ok_or_else(|| ApiError::internal("handler needs a gateway caller"))
    }

    /// The vendor of an operation authenticated by a vendor key: its id and its key's.
    pub fn vendor(&self) -> Result<(&str, &str), ApiError> {
        match self.caller.map(|caller| &caller.principal) {
            Some(Principal::Vendor {
                vendor_id,
                credential_id,
            }) => Ok((vendor_id, credential_id)),
            _ => Err(ApiError::internal("handler needs a vendor key")),
        }
    }

    /// The deployment of an operation authenticated by a deployment token.
    pub fn deployment(&self) -> Result<DeploymentCaller<'_>, ApiError> {
        match self.caller.map(|caller| &caller.principal) {
            Some(Principal::Deployment {
                vendor_id,
                deployment_id,
                credential_id,
            }) => Ok(DeploymentCaller {
                vendor_id,
                deployment_id,
                credential_id,
            }),
            _ => Err(ApiError::internal("handler needs a deployment token")),
        }
    }

    pub fn path_param(&self, name: &str) -> &str {
        self.path_params.get(name).map_or("", String::as_str)
    }

    pub fn query_str(&self, name: &str) -> Option<&str> {
        match self.query.get(name)? {
            QueryValue::Text(text) => Some(text),
            QueryValue::Integer(_) => None,
        }
    }

    /// Whether the request asks for the operation's event stream (the manifest's
    /// `event_stream`: its query parameter with its value).
    pub fn asks_for_stream(&self) -> bool {
        let texts = self.query.iter().filter_map(|(name, value)| match value {
            QueryValue::Text(text) => Some((name.as_str(), text.as_str())),
            QueryValue::Integer(_) => None,
        });
        self.operation.asks_for_stream(texts)
    }

    pub fn query_int(&self, name: &str) -> Option<i64> {
        match self.query.get(name)? {
            QueryValue::Integer(value) => Some(*value),
            QueryValue::Text(_) => None,
        }
    }

    /// The body as its Rust type. The schema already accepted it, so a failure here is a rule
    /// the schema cannot say (an integer written `5.0`); it is answered like a schema failure
    /// of the field it names.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_path_to_error::deserialize(self.body).map_err(|error| {
            let mut pointer = String::new();
            for segment in error.path().iter() {
                let token = match segment {
                    serde_path_to_error::Segment::Seq { index } => index.to_string(),
                    serde_path_to_error::Segment::Map { key } => key.clone(),
                    serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                    serde_path_to_error::Segment::Unknown => continue,
                };
                pointer = field::pointer_join(&pointer, &token);
            }
            field::invalid_body(
                self.operation,
                vec![BodyError {
                    instance_path: pointer,
                    keyword: "type".to_owned(),
                }],
            )
        })
    }

    /// A rule of one field that only the handler can check (a date in the past, too many
    /// decimals), answered with the reason the manifest gives that field and rule, in the
    /// shape of a schema failure.
    pub fn field_error(&self, pointer: &str, rule: &str) -> ApiError {
        let reason = self
            .operation
            .reason_for_field_rule(pointer, rule)
            .unwrap_or(Reason::InternalError);
        field::field_error(reason, pointer, rule)
    }

    /// The request's notion of now: `x-now-iso` as given, else the server clock.
    pub fn now_text(&self) -> String {
        self.request_clock.map_or_else(
            || format_rfc3339_millis(self.env.clock.now()),
            str::to_owned,
        )
    }

    /// The request's notion of now as an instant.
    pub fn now(&self) -> OffsetDateTime {
        self.request_clock
            .and_then(parse_rfc3339)
            .unwrap_or_else(|| self.env.clock.now())
    }

    /// Whether the caller holds the privilege the operation's auth rule names `name` (for
    /// example `operator`: acting for other providers). A name the manifest does not declare
    /// for this operation is a bug, answered as one.
    pub fn has_privilege(&self, name: &str) -> Result<bool, ApiError> {
        let scope = self.operation.auth.privileges.get(name).ok_or_else(|| {
            ApiError::internal(format!(
                "{} declares no privilege `{name}`",
                self.operation.operation_id
            ))
        })?;
        Ok(self
            .caller
            .is_some_and(|caller| caller.scopes.contains(scope)))
    }
}
