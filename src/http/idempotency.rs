//! Idempotency keys and request fingerprints (spec section 6). The replay and mismatch logic
//! runs inside the request's transaction, in [`super::dispatch`].

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::json::canonical;
use crate::manifest::IdempotencyRule;
use crate::reason::Reason;

const MAX_KEY_LENGTH: usize = 255;

/// The idempotency key of a request to an operation with `rule`: required, optional (taken
/// when sent) or not taken at all.
pub(crate) fn key(rule: &IdempotencyRule, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if !rule.takes_key() {
        return Ok(None);
    }
    let header = rule.header_name();
    match (headers.get(&header), rule.required) {
        (None, false) => Ok(None),
        (None, true) => {
            Err(ApiError::new(Reason::IdempotencyKeyRequired).with("header", display_name(rule)))
        }
        (Some(value), _) => checked(value, rule).map(Some),
    }
}

/// The header as the contract spells it for people.
fn display_name(rule: &IdempotencyRule) -> &str {
    rule.header.as_deref().unwrap_or("Idempotency-Key")
}

fn checked(value: &axum::http::HeaderValue, rule: &IdempotencyRule) -> Result<String, ApiError> {
    match value.to_str() {
        Ok(text)
            if !text.is_empty()
                && text.len() <= MAX_KEY_LENGTH
                && text.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(text.to_owned())
        }
        _ => Err(ApiError::new(Reason::IdempotencyKeyInvalid)
            .with("header", display_name(rule))
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
        let required = IdempotencyRule {
            required: true,
            optional: false,
            header: None,
        };
        let mut headers = HeaderMap::new();
        let reason =
            |rule: &IdempotencyRule, headers: &HeaderMap| key(rule, headers).unwrap_err().reason();
        assert_eq!(reason(&required, &headers), Reason::IdempotencyKeyRequired);
        headers.insert("idempotency-key", "k-1".parse().unwrap());
        assert_eq!(key(&required, &headers).unwrap().as_deref(), Some("k-1"));
        headers.insert("idempotency-key", "a b".parse().unwrap());
        assert_eq!(reason(&required, &headers), Reason::IdempotencyKeyInvalid);
        headers.insert("idempotency-key", "x".repeat(256).parse().unwrap());
        assert_eq!(reason(&required, &headers), Reason::IdempotencyKeyInvalid);
    }

    #[test]
    fn an_optional_key_in_its_own_header_is_taken_when_sent() {
        let optional = IdempotencyRule {
            required: false,
            optional: true,
            header: Some("X-Idempotency-Key".to_owned()),
        };
        let mut headers = HeaderMap::new();
        assert_eq!(key(&optional, &headers).unwrap(), None);
        headers.insert("idempotency-key", "ignored".parse().unwrap());
        assert_eq!(
            key(&optional, &headers).unwrap(),
            None,
            "another header is not it"
        );
        headers.insert("x-idempotency-key", "EURUSD:1h:100".parse().unwrap());
        assert_eq!(
            key(&optional, &headers).unwrap().as_deref(),
            Some("EURUSD:1h:100")
        );
        headers.insert("x-idempotency-key", "".parse().unwrap());
        assert_eq!(
            key(&optional, &headers).unwrap_err().details()["header"],
            "X-Idempotency-Key"
        );
    }
}
