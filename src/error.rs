//! Errors: [`ApiError`] is what an operation answers; [`Error`] is what the library's own
//! machinery (manifest, store, contracts, start-up) fails with.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::reason::{ErrorClass, Reason};

/// A failure answered to a client: a [`Reason`] from the registry plus the details that locate
/// it (ids, field paths). Status, `error.code` and message all come from the reason.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    reason: Reason,
    details: Map<String, Value>,
    /// The store gave the transaction up under contention: the pipeline runs it again.
    contention: bool,
}

impl ApiError {
    pub fn new(reason: Reason) -> ApiError {
        ApiError {
            reason,
            details: Map::new(),
            contention: false,
        }
    }

    /// Adds a detail. Values are serialized with serde; a value that cannot be is a bug and
    /// becomes `null` rather than a panic.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Serialize) -> ApiError {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.details.insert(key.to_owned(), value);
        self
    }

    /// An internal failure (a store error, a bug). The cause goes to the log, never to the
    /// client: the body only says `internal_error`.
    pub fn internal(cause: impl fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(Reason::InternalError)
    }

    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// Whether the store gave the request's transaction up under contention (a serialisation
    /// failure, a deadlock), so that running it again would succeed.
    pub fn is_contention(&self) -> bool {
        self.contention
    }

    pub fn status(&self) -> u16 {
        self.reason.status()
    }

    pub fn details(&self) -> &Map<String, Value> {
        &self.details
    }

    /// The error envelope `{correlation_id, error: {code, message, details}}`.
    pub fn envelope(&self, correlation_id: &str) -> ErrorEnvelope {
        let mut extra = self.details.clone();
        extra.remove("reason_code");
        ErrorEnvelope {
            success: None,
            code: None,
            correlation_id: correlation_id.to_owned(),
            error: ErrorBody {
                code: self.reason.class(),
                message: self.reason.message().to_owned(),
                details: ErrorDetails {
                    reason_code: self.reason,
                    extra,
                },
            },
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> ApiError {
        if error.is_contention() {
            tracing::debug!(%error, "the store gave a transaction up under contention");
            return ApiError {
                contention: true,
                ..ApiError::new(Reason::InternalError)
            };
        }
        ApiError::internal(error)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason.message(), self.reason.code())
    }
}

impl std::error::Error for ApiError {}

/// Every error body the runtime sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorEnvelope {
    /// `false`, for operations with the `data` envelope (whose successes say `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// The reason code again, for operations whose manifest entry says
    /// `reason_code_at_top_level` (clients of an older implementation read it here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Reason>,
    pub correlation_id: String,
    pub error: ErrorBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The error class; fixes the HTTP status.
    pub code: ErrorClass,
    /// The reason's fixed message.
    pub message: String,
    pub details: ErrorDetails,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetails {
    /// The precise, stable reason.
    pub reason_code: Reason,
    /// Ids and locations that explain this failure; never a time or a secret.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What the library's machinery fails with, by kind; the binaries map kinds to exit codes.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The manifest is malformed or disagrees with the handlers or the schemas.
    Manifest,
    /// The store failed to open, migrate or answer.
    Store,
    /// Generated contracts differ from the committed files, or an example fails.
    Contracts,
    /// A command-line or configuration value is wrong.
    Config,
    /// Reading or writing a file failed.
    Io,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Manifest => "manifest error",
            ErrorKind::Store => "store error",
            ErrorKind::Contracts => "contract drift",
            ErrorKind::Config => "configuration error",
            ErrorKind::Io => "i/o error",
        })
    }
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("{}: {source}", path.display())).with_source(source)
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(error: crate::store::StoreError) -> Error {
        Error::new(ErrorKind::Store, error.to_string()).with_source(error)
    }
}
