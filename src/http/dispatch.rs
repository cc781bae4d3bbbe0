//! The one pipeline every operation goes through, in the contract's order:
//! auth, request clock, query, idempotency key, body limit, then one transaction in which a
//! replay is answered from its record, the body is validated, the handler runs, and the
//! response is recorded.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::{Caller, OpContext, QueryValue};
use crate::clock::{format_rfc3339_millis, parse_rfc3339};
use crate::error::ApiError;
use crate::headers::REQUEST_CLOCK;
use crate::json::canonical;
use crate::manifest::Operation;
use crate::reason::Reason;
use crate::store::{ActivityEvent, IdempotencyScope};

use super::logging::{CorrelationId, OperationTag};
use super::strict_json::Refusal;
use super::{AppState, BODY_LIMIT_BYTES, auth, idempotency, validation};

pub(crate) const IDEMPOTENT_REPLAYED: HeaderName =
    HeaderName::from_static(crate::headers::IDEMPOTENT_REPLAYED);

/// A finished answer: status, body (canonical JSON unless the operation declares another media
/// type) and whether it is a replay.
struct Answer {
    status: u16,
    body: String,
    media_type: Option<String>,
    replayed: bool,
}

impl Answer {
    /// The error envelope; `operation` is `None` for the router's own answers.
    fn error(error: &ApiError, correlation_id: &str, operation: Option<&Operation>) -> Answer {
        let mut envelope = error.envelope(correlation_id);
        if operation.is_some_and(|op| op.reason_code_at_top_level) {
            envelope.code = Some(error.reason());
        }
        let body = serde_json::to_value(envelope)
            .map(|value| canonical(&value))
            .unwrap_or_default();
        Answer {
            status: error.status(),
            body,
            media_type: None,
            replayed: false,
        }
    }

    fn into_response(self, operation_id: &str) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let media_type = self
            .media_type
            .as_deref()
            .and_then(|media_type| HeaderValue::from_str(media_type).ok())
            .unwrap_or(HeaderValue::from_static("application/json"));
        let mut response =
            (status, [(header::CONTENT_TYPE, media_type)], self.body).into_response();
        if self.replayed {
            response
                .headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
        }
        response
            .extensions_mut()
            .insert(OperationTag(operation_id.to_owned()));
        response
    }
}

/// Runs operation `index` of the runtime for one request.
pub async fn dispatch(
    state: AppState,
    index: usize,
    path_params: BTreeMap<String, String>,
    request: Request,
) -> Response {
    let runtime = state.runtime();
    let operation = &runtime.operations[index].operation;
    let correlation_id = request
        .extensions()
        .get::<CorrelationId>()
        .map_or_else(|| runtime.next_correlation_id(), |id| id.0.clone());
    let answer = match prepare(&state, index, request).await {
        Ok(prepared) => {
            let work = {
                let state = state.clone();
                let correlation_id = correlation_id.clone();
                move || execute(&state, index, &path_params, prepared, &correlation_id)
            };
            if operation.method.is_read() {
                tokio::task::spawn_blocking(work)
                    .await
                    .unwrap_or_else(|panic| {
                        Err(ApiError::internal(format!("handler panicked: {panic}")))
                    })
            } else {
                runtime.writer.run(work).await.unwrap_or_else(|panic| {
                    Err(ApiError::internal(format!("handler panicked: {panic}")))
                })
            }
        }
        Err(error) => Err(error),
    };
    let answer =
        answer.unwrap_or_else(|error| Answer::error(&error, &correlation_id, Some(operation)));
    answer.into_response(&operation.operation_id)
}

/// What the async part gathers before the blocking part runs.
struct Prepared {
    caller: Option<Caller>,
    request_clock: Option<String>,
    query: BTreeMap<String, QueryValue>,
    idempotency_key: Option<String>,
    request_hash: String,
    body: Bytes,
    /// The body as JSON, parsed once for the fingerprint and the validation.
    parsed_body: Result<serde_json::Value, Refusal>,
}

async fn prepare(state: &AppState, index: usize, request: Request) -> Result<Prepared, ApiError> {
    let operation = &state.runtime().operations[index].operation;
    let (parts, body) = request.into_parts();
    let caller = auth::authenticate(operation, &parts.headers)?;
    let request_clock = request_clock(&parts.headers)?;
    let query = validation::query(operation, parts.uri.query())?;
    let idempotency_key = if operation.idempotency.required {
        Some(idempotency::key(&parts.headers)?)
    } else {
        None
    };
    let body = if operation.request_schema.is_some() {
        check_media_type(&parts.headers)?;
        read_body(&parts.headers, body).await?
    } else {
        Bytes::new()
    };
    let parsed_body = if operation.request_schema.is_some() {
        validation::parse(&body)
    } else {
        Err(Refusal::NotJson)
    };
    let request_hash = idempotency::request_hash_parsed(
        operation.method.as_str(),
        parts.uri.path(),
        &body,
        parsed_body.as_ref().ok(),
    );
    Ok(Prepared {
        caller,
        request_clock,
        query,
        idempotency_key,
        request_hash,
        body,
        parsed_body,
    })
}

fn request_clock(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(REQUEST_CLOCK) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(text) if parse_rfc3339(text).is_some() => Ok(Some(text.to_owned())),
        _ => Err(ApiError::new(Reason::RequestClockInvalid).with("header", REQUEST_CLOCK)),
    }
}

/// A body must be JSON: a `content-type` that says otherwise is refused before the body is
/// read. None at all is taken as JSON (`curl -d` without `-H`, scripts), since the body is
/// parsed as JSON either way.
fn check_media_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .ok()
        .and_then(|text| text.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase());
    let is_json = essence.as_deref().is_some_and(|essence| {
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::new(Reason::UnsupportedMediaType)
            .with("content_type", value.to_str().unwrap_or("(not text)"))
            .with("accepted", ["application/json"]))
    }
}

async fn read_body(headers: &HeaderMap, body: axum::body::Body) -> Result<Bytes, ApiError> {
    let too_large =
        || ApiError::new(Reason::RequestBodyTooLarge).with("limit_bytes", BODY_LIMIT_BYTES);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT_BYTES as u64) {
        return Err(too_large());
    }
    // A body that fails to arrive is either over the limit or abandoned by the client; the
    // second never reads the answer, so both are answered as too large.
    axum::body::to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .map_err(|_| too_large())
}

/// The blocking part: one transaction from replay check to commit.
fn execute(
    state: &AppState,
    index: usize,
    path_params: &BTreeMap<String, String>,
    mut prepared: Prepared,
    correlation_id: &str,
) -> Result<Answer, ApiError> {
    let runtime = state.runtime();
    let bound = &runtime.operations[index];
    let operation = &bound.operation;
    let is_write = !operation.method.is_read();
    // Validation reads only the body, so it runs before the transaction, outside the single
    // writer's turn; its outcome is used only where the contract puts it, after the replay
    // check.
    let parsed_body = std::mem::replace(&mut prepared.parsed_body, Err(Refusal::NotJson));
    let validated = validation::body(bound, &prepared.body, parsed_body);
    let mut tx = if is_write {
        runtime.store.write()?
    } else {
        runtime.store.read()?
    };

    // An operation without auth has one anonymous key space.
    let scope = prepared
        .idempotency_key
        .as_deref()
        .map(|key| IdempotencyScope {
            actor_type: prepared
                .caller
                .as_ref()
                .map_or("", |c| c.actor.kind.as_str()),
            actor_id: prepared.caller.as_ref().map_or("", |c| c.actor.id.as_str()),
            operation_id: &operation.operation_id,
            key,
        });
    // The key is claimed before anything runs: a concurrent request with the same key, on
    // this instance or another, waits here on the database until this transaction ends, then
    // replays its record.
    if let Some(scope) = &scope
        && let Some(record) = tx.claim_idempotency(scope, &prepared.request_hash)?
    {
        if record.request_hash != prepared.request_hash {
            return Err(ApiError::new(Reason::IdempotencyKeyReusePayloadMismatch)
                .with("operation_id", &operation.operation_id)
                .with("idempotency_key", scope.key));
        }
        return Ok(Answer {
            status: record.status,
            body: record.body,
            media_type: None,
            replayed: true,
        });
    }

    if is_write {
        tx.savepoint()?;
    }
    let outcome = validated.and_then(|body| {
        let context = OpContext {
            operation,
            caller: prepared.caller.as_ref(),
            path_params,
            query: &prepared.query,
            body: &body,
            correlation_id,
            request_clock: prepared.request_clock.as_deref(),
            env: &runtime.env,
        };
        (bound.handler)(&context, tx.as_mut())
    });
    let (answer, failure) = match outcome {
        Ok(body) => (success(operation, body), None),
        // A bug: nothing is written, nothing is recorded; the client may retry.
        Err(error) if error.status() >= 500 => return Err(error),
        Err(error) => {
            if is_write {
                tx.rollback_to_savepoint()?;
            }
            (
                Answer::error(&error, correlation_id, Some(operation)),
                Some(error),
            )
        }
    };
    if operation.records_activity {
        tx.record_activity(&ActivityEvent {
            at: prepared
                .request_clock
                .clone()
                .unwrap_or_else(|| format_rfc3339_millis(runtime.env.clock.now())),
            operation_id: operation.operation_id.clone(),
            actor: prepared.caller.as_ref().map(|caller| caller.actor.clone()),
            status: answer.status,
            reason_code: failure.as_ref().map(ApiError::reason),
            details: failure.map(|error| error.details().clone()),
        })?;
    }
    if let Some(scope) = &scope {
        tx.complete_idempotency(scope, answer.status, &answer.body)?;
    }
    if is_write && (answer.status < 300 || scope.is_some()) {
        tx.commit()?;
    }
    Ok(answer)
}

/// A success body: canonical JSON, or the text a non-JSON operation answers.
fn success(operation: &Operation, body: serde_json::Value) -> Answer {
    let (body, media_type) = match (&operation.response_media_type, body) {
        (Some(media_type), serde_json::Value::String(text)) => (text, Some(media_type.clone())),
        (_, body) => (canonical(&body), None),
    };
    Answer {
        status: operation.success_status,
        body,
        media_type,
        replayed: false,
    }
}

/// 404 for a path no mounted operation declares.
pub(crate) async fn route_not_found(State(state): State<AppState>, request: Request) -> Response {
    let correlation_id = correlation_of(&state, &request);
    let error = ApiError::new(Reason::RouteNotFound).with("path", request.uri().path());
    Answer::error(&error, &correlation_id, None).into_response("")
}

/// 405 for a declared path called with another method.
pub(crate) async fn method_not_allowed(
    State(state): State<AppState>,
    request: Request,
) -> Response {
    let correlation_id = correlation_of(&state, &request);
    let allowed = state.runtime().allowed_methods(request.uri().path());
    let error = ApiError::new(Reason::MethodNotAllowed)
        .with("method", request.method().as_str())
        .with("allowed_methods", &allowed);
    let mut response = Answer::error(&error, &correlation_id, None).into_response("");
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

fn correlation_of(state: &AppState, request: &Request) -> String {
    request
        .extensions()
        .get::<CorrelationId>()
        .map_or_else(|| state.runtime().next_correlation_id(), |id| id.0.clone())
}
