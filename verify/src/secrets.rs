//! Credentials a server shows once (the manifest's `volatile_fields` marked `secret`): a step
//! may capture one and later steps send it, in a header, a path or a body, but no record shows
//! it. Every value the run has seen is replaced wherever a request record would carry it: a
//! token by its prefix and credential id, as the server's log masks it, anything else (a signed
//! URL) by its field's `replace_with`; any token-shaped word left is masked the same way.

use marketref::credentials;
use marketref::manifest::Operation;
use serde_json::Value;

use crate::exchange::RecordedRequest;

/// The secrets seen so far in the run, each with what records show instead.
#[derive(Debug, Default)]
pub struct Secrets {
    known: Vec<(String, String)>,
}

impl Secrets {
    /// Learns the secrets of a success body of `operation`.
    pub fn learn(&mut self, operation: Option<&Operation>, status: u16, body: Option<&Value>) {
        let (Some(operation), Some(body)) = (operation, body) else {
            return;
        };
        if !(200..300).contains(&status) {
            return;
        }
        for field in operation
            .volatile_fields
            .iter()
            .filter(|field| field.secret)
        {
            let placeholder = match &field.replace_with {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            for value in values_at(body, &field.at) {
                if let Value::String(secret) = value
                    && !secret.is_empty()
                    && !self.known.iter().any(|(known, _)| known == secret)
                {
                    // A token keeps its prefix and credential id (`vk_key_000001_****`), which
                    // the server numbers the same on every run: records still tell two apart.
                    let shown = if credentials::ParsedToken::parse(secret).is_ok() {
                        credentials::redact(secret).into_owned()
                    } else {
                        placeholder.clone()
                    };
                    self.known.push((secret.clone(), shown));
                }
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        self.known
            .sort_by_key(|(secret, _)| std::cmp::Reverse(secret.len()));
    }

    /// `text` with every known secret replaced and every token-shaped word masked.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (secret, shown) in &self.known {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), shown);
            }
        }
        credentials::redact(&text).into_owned()
    }

    /// The request as the records may show it.
    pub fn scrub_request(&self, mut request: RecordedRequest) -> RecordedRequest {
        request.path = self.scrub(&request.path);
        for value in request.headers.values_mut() {
            *value = self.scrub(value);
        }
        if let Some(body) = &mut request.body {
            self.scrub_value(body);
        }
        request
    }

    fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::String(text) => *text = self.scrub(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_value(item)),
            Value::Object(fields) => fields.values_mut().for_each(|v| self.scrub_value(v)),
            _ => {}
        }
    }
}

/// Whether the value at `pointer` of a success body of `operation` is a secret: a capture of it
/// takes the server's value, not the placeholder.
pub fn is_secret(operation: Option<&Operation>, pointer: &str) -> bool {
    operation.is_some_and(|operation| {
        operation
            .volatile_fields
            .iter()
            .any(|field| field.secret && pattern_matches(&field.at, pointer))
    })
}

/// Whether the concrete `pointer` is one `pattern` names (`*` stands for any array index).
fn pattern_matches(pattern: &str, pointer: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let pointer: Vec<&str> = pointer.split('/').collect();
    pattern.len() == pointer.len()
        && pattern.iter().zip(&pointer).all(|(want, got)| {
            want == got
                || (*want == "*" && !got.is_empty() && got.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Every value at the pointer `at`, a `*` token standing for every item of an array.
fn values_at<'v>(value: &'v Value, at: &str) -> Vec<&'v Value> {
    let every_item = at
        .match_indices("/*")
        .map(|(index, _)| index)
        .find(|&index| matches!(at.as_bytes().get(index + 2), None | Some(b'/')));
    match every_item {
        None => value.pointer(at).into_iter().collect(),
        Some(index) => match value.pointer(&at[..index]) {
            Some(Value::Array(items)) => items
                .iter()
                .flat_map(|item| values_at(item, &at[index + 2..]))
                .collect(),
            _ => Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use marketref::manifest::Manifest;
    use serde_json::json;

    use super::*;

    fn operation(id: &str) -> Option<&'static Operation> {
        Manifest::embedded().operation(id)
    }

    #[test]
    fn a_learned_key_is_scrubbed_from_every_part_of_a_later_request() {
        let key = marketref::credentials::issue(
            marketref::credentials::TokenKind::VendorKey,
            "key_000001",
        )
        .token;
        let mut secrets = Secrets::default();
        secrets.learn(
            operation("mlVendors.create"),
            201,
            Some(&json!({"data": {"api_key": key, "vendor_id": "vendor_000001"}})),
        );
        let request = RecordedRequest {
            method: "POST".to_owned(),
            path: format!("/api/x/{key}"),
            headers: BTreeMap::from([("authorization".to_owned(), format!("Bearer {key}"))]),
            body: Some(json!({"token": key, "list": [key]})),
        };
        let scrubbed = serde_json::to_string(&secrets.scrub_request(request)).unwrap();
        assert!(!scrubbed.contains(&key[14..]), "{scrubbed}");
        assert!(scrubbed.contains("Bearer vk_key_000001_****"), "{scrubbed}");
    }

    #[test]
    fn a_token_it_never_saw_is_masked_to_its_prefix() {
        let token = marketref::credentials::issue(
            marketref::credentials::TokenKind::DeploymentToken,
            "tok_000003",
        )
        .token;
        let scrubbed = Secrets::default().scrub(&format!("Bearer {token}"));
        assert_eq!(scrubbed, "Bearer sit_tok_000003_****");
    }

    #[test]
    fn a_capture_of_a_signed_url_is_a_secret_and_of_its_size_is_not() {
        let signed = operation("mlDatasets.signedUrls");
        assert!(is_secret(signed, "/data/urls/0/url"));
        assert!(is_secret(signed, "/data/urls/12/url"));
        assert!(!is_secret(signed, "/data/urls/0/size_bytes"));
        assert!(!is_secret(signed, "/data/urls/x/url"));
        assert!(!is_secret(
            operation("swapIntents.list"),
            "/data/urls/0/url"
        ));
    }

    #[test]
    fn an_error_body_teaches_nothing() {
        let mut secrets = Secrets::default();
        secrets.learn(
            operation("mlVendors.create"),
            400,
            Some(&json!({"data": {"api_key": "not-a-secret"}})),
        );
        assert_eq!(secrets.scrub("not-a-secret"), "not-a-secret");
    }
}
