//! A finished answer and how it goes on the wire: the error envelope from the registry, the
//! success body in the operation's envelope, the headers the pipeline's stages add (rate
//! limits, the contracts version, the replay flag), and files streamed with range support.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::api::{EventsReply, FileReply, Reply};
use crate::error::ApiError;
use crate::json::canonical;
use crate::manifest::{Envelope, Operation};
use crate::reason::Reason;

use super::logging::OperationTag;

pub(crate) const IDEMPOTENT_REPLAYED: HeaderName =
    HeaderName::from_static(crate::headers::IDEMPOTENT_REPLAYED);

/// What an answer carries: a body already written, a file to stream, or an event stream
/// (the handler's reply, then the response the dispatcher made of it).
pub(super) enum Payload {
    Text(String),
    File(FileReply),
    Events(EventsReply),
    Streaming(Response),
}

pub(super) struct Answer {
    pub status: u16,
    pub payload: Payload,
    pub media_type: Option<String>,
    pub replayed: bool,
}

impl Answer {
    /// The error envelope; `operation` is `None` for the router's own answers.
    pub fn error(error: &ApiError, correlation_id: &str, operation: Option<&Operation>) -> Answer {
        let mut envelope = error.envelope(correlation_id);
        if operation.is_some_and(|op| op.reason_code_at_top_level) {
            envelope.code = Some(error.reason());
        }
        if operation.is_some_and(|op| op.envelope == Envelope::Data) {
            envelope.success = Some(false);
        }
        let body = serde_json::to_value(envelope)
            .map(|value| canonical(&value))
            .unwrap_or_default();
        Answer {
            status: error.status(),
            payload: Payload::Text(body),
            media_type: None,
            replayed: false,
        }
    }

    /// A success: canonical JSON in the operation's envelope, the text a non-JSON operation
    /// answers, or a file.
    pub fn success(operation: &Operation, reply: Reply) -> Answer {
        let (payload, media_type) = match (reply, &operation.response_media_type) {
            (Reply::File(file), _) => {
                let media_type = file.media_type.clone();
                (Payload::File(file), Some(media_type))
            }
            (Reply::Events(events), _) => (
                Payload::Events(events),
                Some(crate::manifest::EVENT_STREAM_MEDIA_TYPE.to_owned()),
            ),
            (Reply::Body(Value::String(text)), Some(media_type)) => {
                (Payload::Text(text), Some(media_type.clone()))
            }
            (Reply::Body(body), _) => {
                let body = match operation.envelope {
                    Envelope::Bare => body,
                    Envelope::Data => json!({"success": true, "data": body}),
                };
                (Payload::Text(canonical(&body)), None)
            }
        };
        Answer {
            status: operation.success_status,
            payload,
            media_type,
            replayed: false,
        }
    }

    /// A recorded answer, replayed as it was.
    pub fn replay(status: u16, body: String) -> Answer {
        Answer {
            status,
            payload: Payload::Text(body),
            media_type: None,
            replayed: true,
        }
    }

    /// The recorded form of the body (files and streams are never recorded: only reads serve
    /// them).
    pub fn recorded_body(&self) -> &str {
        match &self.payload {
            Payload::Text(text) => text,
            Payload::File(_) | Payload::Events(_) | Payload::Streaming(_) => "",
        }
    }

    /// The response, with `headers` added; `range` is the request's `Range` header, which a
    /// file answer honours.
    pub async fn into_response(
        self,
        operation: Option<&Operation>,
        correlation_id: &str,
        headers: &[(HeaderName, HeaderValue)],
        range: Option<&str>,
    ) -> Response {
        let operation_id = operation.map_or("", |op| op.operation_id.as_str());
        let mut response = match self.payload {
            Payload::Text(body) => {
                let status =
                    StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let media_type = self
                    .media_type
                    .as_deref()
                    .and_then(|media_type| HeaderValue::from_str(media_type).ok())
                    .unwrap_or(HeaderValue::from_static("application/json"));
                (status, [(header::CONTENT_TYPE, media_type)], body).into_response()
            }
            Payload::Streaming(response) => response,
            Payload::Events(_) => {
                let error = ApiError::internal("an event stream reached the wire unstarted");
                let answer = Answer::error(&error, correlation_id, operation);
                return Box::pin(answer.into_response(operation, correlation_id, headers, None))
                    .await;
            }
            Payload::File(file) => match stream_file(&file, range).await {
                Ok(response) => response,
                Err(error) => {
                    let answer = Answer::error(&error, correlation_id, operation);
                    return Box::pin(answer.into_response(
                        operation,
                        correlation_id,
                        headers,
                        None,
                    ))
                    .await;
                }
            },
        };
        if self.replayed {
            response
                .headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
        }
        for (name, value) in headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response
            .extensions_mut()
            .insert(OperationTag(operation_id.to_owned()));
        response
    }
}

/// Streams `file`: the whole of it, or the one byte range a `Range: bytes=...` asks for (206);
/// a range outside the file is 416 with the file's size. Several ranges are answered with the
/// whole file, as RFC 9110 allows.
async fn stream_file(file: &FileReply, range: Option<&str>) -> Result<Response, ApiError> {
    let mut opened = tokio::fs::File::open(&file.path)
        .await
        .map_err(|e| ApiError::internal(format!("opening {}: {e}", file.path.display())))?;
    let size = opened.metadata().await.map_err(ApiError::internal)?.len();
    let media_type =
        HeaderValue::from_str(&file.media_type).unwrap_or(HeaderValue::from_static("text/plain"));
    let (status, start, length) = match range.map(|text| byte_range(text, size)) {
        None | Some(RangeAsked::Whole) => (StatusCode::OK, 0, size),
        Some(RangeAsked::Bytes(start, end)) => {
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Some(RangeAsked::Unsatisfiable) => {
            return Err(ApiError::new(Reason::RangeNotSatisfiable).with("size_bytes", size));
        }
    };
    opened
        .seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(ApiError::internal)?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(opened.take(length)));
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) =
            HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + length - 1))
    {
        headers.insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

#[derive(Debug, PartialEq, Eq)]
enum RangeAsked {
    /// No usable single range: the whole file.
    Whole,
    /// Bytes `start..=end`.
    Bytes(u64, u64),
    Unsatisfiable,
}

fn byte_range(text: &str, size: u64) -> RangeAsked {
    let Some(spec) = text.trim().strip_prefix("bytes=") else {
        return RangeAsked::Whole;
    };
    if spec.contains(',') {
        return RangeAsked::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAsked::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |text: &str| text.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // `bytes=-N`: the last N bytes.
        (true, false) => match parse(last) {
            Some(0) => RangeAsked::Unsatisfiable,
            Some(suffix) if size > 0 => RangeAsked::Bytes(size.saturating_sub(suffix), size - 1),
            Some(_) => RangeAsked::Unsatisfiable,
            None => RangeAsked::Whole,
        },
        (false, _) => {
            let Some(start) = parse(first) else {
                return RangeAsked::Whole;
            };
            let end = if last.is_empty() {
                Some(size.saturating_sub(1))
            } else {
                parse(last).map(|end| end.min(size.saturating_sub(1)))
            };
            match end {
                None => RangeAsked::Whole,
                Some(_) if start >= size => RangeAsked::Unsatisfiable,
                Some(end) if end < start => RangeAsked::Whole,
                Some(end) => RangeAsked::Bytes(start, end),
            }
        }
        (true, true) => RangeAsked::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_as_rfc_9110_reads_them() {
        assert_eq!(byte_range("bytes=0-9", 100), RangeAsked::Bytes(0, 9));
        assert_eq!(byte_range("bytes=90-", 100), RangeAsked::Bytes(90, 99));
        assert_eq!(byte_range("bytes=90-500", 100), RangeAsked::Bytes(90, 99));
        assert_eq!(byte_range("bytes=-10", 100), RangeAsked::Bytes(90, 99));
        assert_eq!(byte_range("bytes=-500", 100), RangeAsked::Bytes(0, 99));
        assert_eq!(byte_range("bytes=100-", 100), RangeAsked::Unsatisfiable);
        assert_eq!(byte_range("bytes=-0", 100), RangeAsked::Unsatisfiable);
        assert_eq!(byte_range("bytes=0-1,5-6", 100), RangeAsked::Whole);
        assert_eq!(byte_range("items=0-1", 100), RangeAsked::Whole);
        assert_eq!(byte_range("bytes=5-2", 100), RangeAsked::Whole);
        assert_eq!(byte_range("bytes=x-2", 100), RangeAsked::Whole);
    }
}
