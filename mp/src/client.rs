//! The one way `mp` reaches the server: HTTP, through the operations of the manifest it was
//! built with. Every request says which contract it speaks
//! (`X-Marketplace-Contracts-Version`); every success's `data` is unwrapped and every error
//! envelope becomes an [`Error`] with the server's status, reason code and message.

use std::time::Duration;

use marketref::headers::{AUTHORIZATION, CONTRACTS_VERSION};
use marketref::manifest::Manifest;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use serde_json::Value;

use crate::error::{Error, Result};

/// How long `mp` waits for a server to connect; answers themselves may take longer (a
/// followed log ends when its run does).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Client {
    http: Http,
    base: String,
    bearer: Option<String>,
}

impl Client {
    pub fn new(base: &str, bearer: Option<String>) -> Result<Client> {
        let base = base.trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| Error::local(format!("the API URL `{base}` is not a URL: {e}")))?;
        if parsed.scheme() != "http" {
            return Err(
                Error::local(format!("the API URL `{base}` is not http://")).with_hint(
                    "this build of mp speaks plain HTTP: reach the server through a local port",
                ),
            );
        }
        let http = Http::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(None)
            .no_proxy()
            .build()
            .map_err(|e| Error::local(format!("starting the HTTP client: {e}")))?;
        Ok(Client { http, base, bearer })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `path` (from the server root, query and all), with the contract version
    /// and the credential.
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(CONTRACTS_VERSION, &Manifest::embedded().api_version);
        if let Some(bearer) = &self.bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {bearer}"));
        }
        request
    }

    /// Sends a request; a transport failure is a local error naming the server.
    pub fn send(&self, request: RequestBuilder) -> Result<Response> {
        request.send().map_err(|e| {
            Error::local(format!("cannot reach {}: {}", self.base, root_cause(&e)))
                .with_hint("is the server running? set the URL with --api-url or MP_API_URL")
        })
    }

    /// `GET path`, its `data`.
    pub fn get(&self, path: &str) -> Result<Value> {
        data(self.send(self.request(reqwest::Method::GET, path))?)
    }

    /// `POST path` with a JSON body, its `data`.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let request = self
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body.to_string());
        data(self.send(request)?)
    }
}

/// The innermost cause of a transport error: "Connection refused", not "error sending request".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A success's `data`, or the error its envelope carries.
pub fn data(response: Response) -> Result<Value> {
    let status = response.status();
    let text = response
        .text()
        .map_err(|e| Error::local(format!("reading the answer: {e}")))?;
    let body: Option<Value> = serde_json::from_str(&text).ok();
    if !status.is_success() {
        return Err(refusal(status.as_u16(), body.as_ref(), &text));
    }
    match body {
        Some(mut body) => Ok(match body.get_mut("data") {
            Some(data) => data.take(),
            None => body,
        }),
        None => Err(Error::local(format!(
            "the server answered {status} with a body that is not JSON"
        ))),
    }
}

/// An error answer as an [`Error`]: the envelope's reason code and message.
pub fn refusal(status: u16, body: Option<&Value>, text: &str) -> Error {
    let reason = body
        .and_then(|b| b.pointer("/error/details/reason_code"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let message = body
        .and_then(|b| b.pointer("/error/message"))
        .and_then(Value::as_str)
        .map_or_else(|| text.chars().take(200).collect(), str::to_owned);
    Error::refused(status, reason, message)
}

/// An error answer read from a response.
pub fn refused(response: Response) -> Error {
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    refusal(status, serde_json::from_str(&text).ok().as_ref(), &text)
}

/// `path?name=value&...`, the values given form-encoded (those that are `None` left out).
pub fn with_query(path: &str, query: &[(&str, Option<String>)]) -> String {
    let given: Vec<(&str, &str)> = query
        .iter()
        .filter_map(|(name, value)| Some((*name, value.as_deref()?)))
        .collect();
    match serde_urlencoded::to_string(&given) {
        Ok(encoded) if !encoded.is_empty() => format!("{path}?{encoded}"),
        _ => path.to_owned(),
    }
}

/// Everything but RFC 3986's unreserved characters, which a path segment keeps as they are.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one path segment: an id with a `/` or a space stays one segment.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_and_a_query_are_encoded() {
        assert_eq!(encode("run_000001"), "run_000001");
        assert_eq!(encode("a/b c~é"), "a%2Fb%20c~%C3%A9");
        assert_eq!(
            with_query(
                "/api/catalog",
                &[
                    ("task", Some("signal".into())),
                    ("cursor", None),
                    ("q", Some("a&b".into()))
                ]
            ),
            "/api/catalog?task=signal&q=a%26b"
        );
        assert_eq!(with_query("/x", &[("cursor", None)]), "/x");
    }
}
