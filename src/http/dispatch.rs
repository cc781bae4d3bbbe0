//! The one pipeline every operation goes through, in the contract's order: the contracts
//! version (for the `data` envelope), auth by the operation's scheme, the request clock, the
//! rate limit, query, idempotency key, media type and body limit; then one transaction in which
//! the idempotency key is claimed (or its record replayed), the body is validated, the handler
//! runs, and the answer is recorded.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

use crate::api::{Caller, OpContext, QueryValue};
use crate::clock::{format_rfc3339_millis, parse_rfc3339};
use crate::error::ApiError;
use crate::manifest::Envelope;
use crate::reason::Reason;
use crate::store::{ActivityEvent, IdempotencyScope};

use super::answer::{Answer, Payload};
use super::logging::CorrelationId;
use super::strict_json::Refusal;
use super::{AppState, auth, bearer, event_stream, idempotency, rate_limit, request, validation};

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
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body_sent = sends_a_body(request.headers());
    let mut headers = Vec::new();
    if operation.envelope == Envelope::Data
        && let Ok(version) = HeaderValue::from_str(&runtime.env.manifest.api_version)
    {
        headers.push((
            HeaderName::from_static(crate::headers::CONTRACTS_VERSION),
            version,
        ));
    }
    let mut last_event_id = None;
    let answer = match prepare(&state, index, request, &mut headers).await {
        Ok(prepared) => {
            last_event_id = prepared.last_event_id;
            let work = {
                let state = state.clone();
                let correlation_id = correlation_id.clone();
                move || execute(&state, index, &path_params, prepared, &correlation_id)
            };
            let ran = if operation.method.is_read() {
                tokio::task::spawn_blocking(work)
                    .await
                    .map_err(|panic| panic.to_string())
            } else {
                runtime.writer.run(work).await
            };
            let (standing, answer) = ran.unwrap_or_else(|panic| {
                (
                    None,
                    Err(ApiError::internal(format!("handler panicked: {panic}"))),
                )
            });
            if let Some(standing) = standing {
                headers.extend(standing.headers());
            }
            answer
        }
        Err(error) => {
            // Every refusal before the transaction comes before the body is read in full (or
            // is the body being too large), so the rest of it is still on the connection:
            // the client is told to open a new one rather than reuse one hyper is closing.
            if body_sent {
                headers.push((header::CONNECTION, HeaderValue::from_static("close")));
            }
            Err(error)
        }
    };
    let answer = answer
        .map(|answer| started(&state, operation, answer, last_event_id))
        .unwrap_or_else(|error| Answer::error(&error, &correlation_id, Some(operation)));
    answer
        .into_response(Some(operation), &correlation_id, &headers, range.as_deref())
        .await
}

/// An answer whose payload is an event stream, started: the rest of them as they are.
fn started(
    state: &AppState,
    operation: &crate::manifest::Operation,
    answer: Answer,
    last_event_id: Option<u64>,
) -> Answer {
    let Answer {
        status,
        payload,
        media_type,
        replayed,
    } = answer;
    let payload = match (payload, &operation.event_stream) {
        (Payload::Events(reply), Some(stream)) => {
            let runtime = state.runtime();
            let after = last_event_id.unwrap_or(reply.after);
            Payload::Streaming(event_stream::respond(
                &runtime.streams,
                runtime.store.clone(),
                reply,
                after,
                &stream.end_event,
            ))
        }
        (payload, _) => payload,
    };
    Answer {
        status,
        payload,
        media_type,
        replayed,
    }
}

/// Whether the request says a body follows (a length above zero, or chunks).
fn sends_a_body(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|length| length > 0)
}

/// What the async part gathers before the blocking part runs.
struct Prepared {
    caller: Option<Caller>,
    /// The rate-limit count the transaction makes first.
    rate: Option<rate_limit::Pending>,
    request_clock: Option<String>,
    checked: Checked,
    /// `Last-Event-ID`, for an operation that streams.
    last_event_id: Option<u64>,
}

/// What the request checks of itself before the transaction: query, idempotency key, media
/// type and body.
struct Checked {
    query: BTreeMap<String, QueryValue>,
    idempotency_key: Option<String>,
    request_hash: String,
    body: Bytes,
    /// The body as JSON, parsed once for the fingerprint and the validation.
    parsed_body: Result<serde_json::Value, Refusal>,
}

/// The stages before the transaction. Headers a stage owes every later answer (the rate
/// limit's) go into `headers`.
async fn prepare(
    state: &AppState,
    index: usize,
    request: Request,
    headers: &mut Vec<(HeaderName, HeaderValue)>,
) -> Result<Prepared, ApiError> {
    let runtime = state.runtime();
    let operation = &runtime.operations[index].operation;
    let (parts, body) = request.into_parts();
    if operation.envelope == Envelope::Data {
        request::check_contracts_version(&parts.headers, &runtime.env.manifest.api_version)?;
    }
    // The request clock (`x-now-iso`) is how milestones decide time. Outside development it
    // is believed only from a trusted gateway's callers: a token holder, or a caller with no
    // credential, must not choose the time its token, signed URL or rate window is judged at.
    let clock_trusted =
        runtime.env.dev || (operation.auth.required && operation.auth.scheme.is_gateway());
    let request_clock = if clock_trusted {
        request::request_clock(&parts.headers)
    } else {
        Ok(None)
    };
    let caller = match (operation.auth.required, operation.auth.scheme.token_kind()) {
        (true, Some(kind)) => {
            let now = clock_instant(state, request_clock.clone()?.as_deref());
            Some(bearer::authenticate(state, operation, kind, &parts.headers, now).await?)
        }
        _ => auth::authenticate(operation, &parts.headers)?,
    };
    let request_clock = request_clock?;
    let last_event_id = match &operation.event_stream {
        Some(_) => request::last_event_id(&parts.headers)?,
        None => None,
    };
    let rate = match (&operation.rate_limit, &caller) {
        (Some(limit), Some(caller)) => {
            let now = clock_instant(state, request_clock.as_deref());
            Some(rate_limit::Pending::new(limit, caller, now)?)
        }
        _ => None,
    };
    let checked = check_request(operation, parts, body).await;
    let checked = match (checked, &rate) {
        (Ok(checked), _) => checked,
        (Err(error), None) => return Err(error),
        // Refused before its transaction: counted now, and over the limit that comes first.
        (Err(error), Some(rate)) => {
            let standing = rate.count_alone(state).await?;
            headers.extend(standing.headers());
            return Err(if standing.exceeded() {
                rate.refusal(&standing)
            } else {
                error
            });
        }
    };
    Ok(Prepared {
        caller,
        rate,
        request_clock,
        checked,
        last_event_id,
    })
}

async fn check_request(
    operation: &crate::manifest::Operation,
    parts: axum::http::request::Parts,
    body: axum::body::Body,
) -> Result<Checked, ApiError> {
    let query = validation::query(operation, parts.uri.query())?;
    let idempotency_key = idempotency::key(&operation.idempotency, &parts.headers)?;
    let body = if operation.request_schema.is_some() {
        request::check_media_type(&parts.headers)?;
        request::read_body(&parts.headers, body).await?
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
    Ok(Checked {
        query,
        idempotency_key,
        request_hash,
        body,
        parsed_body,
    })
}

/// The request's now: its clock when it sent one, else the server's.
fn clock_instant(state: &AppState, request_clock: Option<&str>) -> time::OffsetDateTime {
    request_clock
        .and_then(parse_rfc3339)
        .unwrap_or_else(|| state.runtime().env.clock.now())
}

/// The blocking part: one transaction from the rate count and the replay check to commit; with
/// where the request stands in its rate window when it was counted.
fn execute(
    state: &AppState,
    index: usize,
    path_params: &BTreeMap<String, String>,
    prepared: Prepared,
    correlation_id: &str,
) -> (Option<rate_limit::Standing>, Result<Answer, ApiError>) {
    let mut standing = None;
    let answer = execute_counted(
        state,
        index,
        path_params,
        prepared,
        correlation_id,
        &mut standing,
    );
    (standing, answer)
}

/// Attempts of one request's transaction: a serialisation failure or a deadlock, which the
/// database answers so that concurrent transactions stay serialisable, runs it again; past
/// this many, the request fails as any other store failure does.
const TRANSACTION_ATTEMPTS: u32 = 5;

fn execute_counted(
    state: &AppState,
    index: usize,
    path_params: &BTreeMap<String, String>,
    mut prepared: Prepared,
    correlation_id: &str,
    standing: &mut Option<rate_limit::Standing>,
) -> Result<Answer, ApiError> {
    let bound = &state.runtime().operations[index];
    // Validation reads only the body, so it runs before the transaction, outside the single
    // writer's turn; its outcome is used only where the contract puts it, after the replay
    // check.
    let parsed_body = std::mem::replace(&mut prepared.checked.parsed_body, Err(Refusal::NotJson));
    let validated = validation::body(bound, &prepared.checked.body, parsed_body);
    let mut attempt = 1;
    loop {
        match transact(
            state,
            index,
            path_params,
            &prepared,
            &validated,
            correlation_id,
            standing,
        ) {
            Err(error) if error.is_contention() && attempt < TRANSACTION_ATTEMPTS => {
                tracing::debug!(
                    attempt,
                    "the database gave the transaction up; running it again"
                );
                attempt += 1;
            }
            answer => return answer,
        }
    }
}

/// One attempt of the request's transaction.
fn transact(
    state: &AppState,
    index: usize,
    path_params: &BTreeMap<String, String>,
    prepared: &Prepared,
    validated: &Result<serde_json::Value, ApiError>,
    correlation_id: &str,
    standing: &mut Option<rate_limit::Standing>,
) -> Result<Answer, ApiError> {
    let runtime = state.runtime();
    let bound = &runtime.operations[index];
    let operation = &bound.operation;
    let is_write = !operation.method.is_read();
    let mut tx = if is_write {
        runtime.store.write()?
    } else {
        runtime.store.read()?
    };
    // Counted first, so that a replay, a refusal and the handler's failure count alike.
    if let Some(rate) = &prepared.rate {
        let counted = rate.count_in(tx.as_mut())?;
        *standing = Some(counted);
        if counted.exceeded() {
            tx.commit()?;
            return Err(rate.refusal(&counted));
        }
    }

    // An operation without auth has one anonymous key space; a deployment's keys are its own.
    let scope = prepared
        .checked
        .idempotency_key
        .as_deref()
        .map(|key| IdempotencyScope {
            actor_type: prepared.caller.as_ref().map_or("", |c| c.principal.kind()),
            actor_id: prepared.caller.as_ref().map_or("", |c| c.principal.id()),
            operation_id: &operation.operation_id,
            key,
        });
    // The key is claimed before anything runs: a concurrent request with the same key, on
    // this instance or another, waits here on the database until this transaction ends, then
    // replays its record.
    if let Some(scope) = &scope
        && let Some(record) = tx.claim_idempotency(scope, &prepared.checked.request_hash)?
    {
        // Nothing else is written; the rate count stays.
        if prepared.rate.is_some() {
            tx.commit()?;
        }
        if record.request_hash != prepared.checked.request_hash {
            return Err(ApiError::new(Reason::IdempotencyKeyReusePayloadMismatch)
                .with("operation_id", &operation.operation_id)
                .with("idempotency_key", scope.key));
        }
        return Ok(Answer::replay(record.status, record.body));
    }

    if is_write {
        tx.savepoint()?;
    }
    let outcome = validated.as_ref().map_err(Clone::clone).and_then(|body| {
        let context = OpContext {
            operation,
            caller: prepared.caller.as_ref(),
            path_params,
            query: &prepared.checked.query,
            body,
            correlation_id,
            request_clock: prepared.request_clock.as_deref(),
            env: &runtime.env,
        };
        (bound.handler)(&context, tx.as_mut())
    });
    let (answer, failure) = match outcome {
        Ok(reply) => (Answer::success(operation, reply), None),
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
            actor: prepared
                .caller
                .as_ref()
                .and_then(|caller| caller.principal.actor().cloned()),
            status: answer.status,
            reason_code: failure.as_ref().map(ApiError::reason),
            details: failure.map(|error| error.details().clone()),
        })?;
    }
    if let Some(scope) = &scope {
        tx.complete_idempotency(scope, answer.status, answer.recorded_body())?;
    }
    if is_write && (answer.status < 300 || scope.is_some() || prepared.rate.is_some()) {
        tx.commit()?;
    }
    Ok(answer)
}

/// 404 for a path no mounted operation declares.
pub(crate) async fn route_not_found(State(state): State<AppState>, request: Request) -> Response {
    let correlation_id = correlation_of(&state, &request);
    let error = ApiError::new(Reason::RouteNotFound).with("path", request.uri().path());
    Answer::error(&error, &correlation_id, None)
        .into_response(None, &correlation_id, &[], None)
        .await
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
    let mut response = Answer::error(&error, &correlation_id, None)
        .into_response(None, &correlation_id, &[], None)
        .await;
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
