//! Idempotency keys and request fingerprints (spec section 6). The replay and mismatch logic
//! runs inside the request's transaction, in [`super::dispatch`].

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::headers::IDEMPOTENCY_KEY;
use crate::json::canonical;
use crate::reason::Reason;

const MAX_KEY_LENGTH: usize = 255;

/// The `Idempotency-Key` header of an idempotent operation.
pub fn key(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Err(ApiError::new(Reason::IdempotencyKeyRequired).with("header", "Idempotency-Key"));
    };
    match value.to_str() {
        Ok(text)
            if !text.is_empty()
                && text.len() <= MAX_KEY_LENGTH
                && text.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(text.to_owned())
        }
        _ => Err(ApiError::new(Reason::IdempotencyKeyInvalid)
            .with("header", "Idempotency-Key")
            .with("max_length", MAX_KEY_LENGTH)),
    }
}

/// SHA-256 over the method, the concrete path, and the body: its canonical JSON when it
/// parses, its raw bytes when it does not. Key order and white space in the body therefore do
/// not change the fingerprint; the same key on another path (another intent to cancel) does.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    request_hash_parsed(method, path, body, parsed.as_ref())
}

/// [`request_hash`] of a body already parsed (`parsed` is `body` as JSON, `None` when it is
/// not JSON), so that a request's body is parsed once.
pub(crate) fn request_hash_parsed(
    method: &str,
    path: &str,
    body: &[u8],
    parsed: Option<&serde_json::Value>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    match parsed {
        Some(value) => hasher.update(canonical(value).as_bytes()),
        None => hasher.update(body),
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_key_order_and_white_space_but_not_path() {
        let a = request_hash("POST", "/x", br#"{"a": 1, "b": [1, 2]}"#);
        let b = request_hash("POST", "/x", br#"{"b":[1,2],"a":1}"#);
        assert_eq!(a, b);
        assert_ne!(a, request_hash("POST", "/y", br#"{"b":[1,2],"a":1}"#));
        assert_ne!(a, request_hash("POST", "/x", br#"{"b":[2,1],"a":1}"#));
        assert_ne!(
            request_hash("POST", "/x", b"{oops"),
            request_hash("POST", "/x", b"{oops!")
        );
    }

    #[test]
    fn keys_must_be_visible_ascii_up_to_255() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            key(&headers).unwrap_err().reason(),
            Reason::IdempotencyKeyRequired
        );
        headers.insert(IDEMPOTENCY_KEY, "k-1".parse().unwrap());
        assert_eq!(key(&headers).unwrap(), "k-1");
        headers.insert(IDEMPOTENCY_KEY, "a b".parse().unwrap());
        assert_eq!(
            key(&headers).unwrap_err().reason(),
            Reason::IdempotencyKeyInvalid
        );
        headers.insert(IDEMPOTENCY_KEY, "x".repeat(256).parse().unwrap());
        assert_eq!(
            key(&headers).unwrap_err().reason(),
            Reason::IdempotencyKeyInvalid
        );
    }
}
