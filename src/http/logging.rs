//! Correlation ids and the request log: one structured line per request.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

pub(crate) const CORRELATION_ID: HeaderName =
    HeaderName::from_static(crate::headers::CORRELATION_ID);
const MAX_CORRELATION_ID_LENGTH: usize = 128;

/// The request's correlation id, set before routing.
#[derive(Clone, Debug)]
pub(crate) struct CorrelationId(pub String);

/// The operation that answered, for the log line.
#[derive(Clone, Debug)]
pub(crate) struct OperationTag(pub String);

/// Takes the client's `x-correlation-id` when it is usable (1 to 128 visible ASCII
/// characters), else allocates one; echoes it in the response header; logs the request.
pub(crate) async fn correlate_and_log(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let correlation_id = request
        .headers()
        .get(&CORRELATION_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|text| {
            !text.is_empty()
                && text.len() <= MAX_CORRELATION_ID_LENGTH
                && text.bytes().all(|b| b.is_ascii_graphic())
        })
        .map_or_else(|| state.runtime().next_correlation_id(), str::to_owned);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request
        .extensions_mut()
        .insert(CorrelationId(correlation_id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        response.headers_mut().insert(CORRELATION_ID, value);
    }
    let operation_id = response
        .extensions()
        .get::<OperationTag>()
        .map_or("", |tag| tag.0.as_str());
    tracing::info!(
        target: "marketref::request",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        operation_id,
        correlation_id = %correlation_id,
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}
