//! The stages of the pipeline that read the request itself: the request clock, the contracts
//! version, the media type and the body under its limit.

use axum::body::Bytes;
use axum::http::{HeaderMap, header};

use crate::clock::parse_rfc3339;
use crate::error::ApiError;
use crate::headers::{CONTRACTS_VERSION, LAST_EVENT_ID, REQUEST_CLOCK};
use crate::reason::Reason;

use super::BODY_LIMIT_BYTES;

/// `x-now-iso`, checked to be RFC 3339.
pub(super) fn request_clock(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(REQUEST_CLOCK) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(text) if parse_rfc3339(text).is_some() => Ok(Some(text.to_owned())),
        _ => Err(ApiError::new(Reason::RequestClockInvalid).with("header", REQUEST_CLOCK)),
    }
}

/// `Last-Event-ID`, which a client resuming an event stream sends: the id after which to go on.
pub(super) fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(LAST_EVENT_ID) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|text| text.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::new(Reason::LastEventIdInvalid).with("header", LAST_EVENT_ID))
}

/// A client's `X-Marketplace-Contracts-Version`, when sent, must be a semantic version whose
/// major is the server's (`server`, the manifest's `api_version`).
pub(super) fn check_contracts_version(headers: &HeaderMap, server: &str) -> Result<(), ApiError> {
    let Some(value) = headers.get(CONTRACTS_VERSION) else {
        return Ok(());
    };
    let sent = value.to_str().unwrap_or_default().trim();
    let Some(major) = semver_major(sent) else {
        return Err(ApiError::new(Reason::ContractsVersionInvalid)
            .with("header", CONTRACTS_VERSION)
            .with("expected", "MAJOR.MINOR.PATCH"));
    };
    if Some(major) != semver_major(server) {
        return Err(ApiError::new(Reason::ContractsVersionUnsupported)
            .with("header", CONTRACTS_VERSION)
            .with("version", sent)
            .with("server_version", server));
    }
    Ok(())
}

/// The major of `MAJOR.MINOR.PATCH` (with an optional `-pre` or `+build` suffix).
fn semver_major(text: &str) -> Option<u64> {
    let core = text.split(['-', '+']).next()?;
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |part: &&str| {
        !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part.len() == 1 || !part.starts_with('0'))
    };
    if parts.len() != 3 || !parts.iter().all(numeric) {
        return None;
    }
    parts[0].parse().ok()
}

/// A body must be JSON: a `content-type` that says otherwise is refused before the body is
/// read. None at all is taken as JSON (`curl -d` without `-H`, scripts), since the body is
/// parsed as JSON either way.
pub(super) fn check_media_type(headers: &HeaderMap) -> Result<(), ApiError> {
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

pub(super) async fn read_body(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Bytes, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_versions_are_semver_with_the_servers_major() {
        let check = |sent: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTRACTS_VERSION, sent.parse().unwrap());
            check_contracts_version(&headers, "1.4.0").map_err(|e| e.reason())
        };
        assert_eq!(check("1.0.0"), Ok(()));
        assert_eq!(check("1.9.3-beta+7"), Ok(()));
        assert_eq!(check("2.0.0"), Err(Reason::ContractsVersionUnsupported));
        for wrong in ["1", "1.0", "v1.0.0", "1.0.x", "01.0.0", ""] {
            assert_eq!(
                check(wrong),
                Err(Reason::ContractsVersionInvalid),
                "{wrong}"
            );
        }
        assert_eq!(check_contracts_version(&HeaderMap::new(), "1.0.0"), Ok(()));
    }
}
