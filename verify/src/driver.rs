//! Sends one request, receives its response and judges it: the one path by which every probe
//! and every step reaches the server. It judges what the caller asks and, apart, the contract
//! rules, for which it keeps track of the run's idempotent requests.

use std::cell::RefCell;

use marketref::manifest::Manifest;
use serde_json::{Value, json};

use crate::check::{self, Check};
use crate::exchange::{self, Exchange, Phase};
use crate::replay::Replays;
use crate::route;
use crate::rules;
use crate::secrets::Secrets;
use crate::target::{self, Incoming, Outgoing};

pub struct Driver<'a> {
    pub client: &'a reqwest::Client,
    pub base_url: &'a str,
    pub manifest: &'static Manifest,
    /// The run's idempotent requests so far; never borrowed across an await.
    pub replays: RefCell<Replays>,
    /// The credentials the run has been shown, which no record may carry.
    pub secrets: RefCell<Secrets>,
}

impl<'a> Driver<'a> {
    pub fn new(client: &'a reqwest::Client, base_url: &'a str) -> Driver<'a> {
        Driver {
            client,
            base_url,
            manifest: Manifest::embedded(),
            replays: RefCell::new(Replays::default()),
            secrets: RefCell::new(Secrets::default()),
        }
    }
}

/// Who an exchange is, for the record.
pub struct Label<'a> {
    pub phase: Phase,
    pub scenario: &'a str,
    pub step: &'a str,
    pub line: Option<u64>,
    pub correlation_id: &'a str,
}

/// What the caller judges, given the response and its normalised body.
pub type Judge<'j> = &'j dyn Fn(&Incoming, &Value) -> Vec<Check>;

impl Driver<'_> {
    /// Sends `request` and judges the answer: the caller's checks and a success's response
    /// schema (whether the exchange passed), and the contract rules (apart).
    /// `extra_headers` are response headers to record because a check reads them.
    pub async fn exchange(
        &self,
        label: &Label<'_>,
        request: Outgoing,
        extra_headers: &[String],
        judge: Judge<'_>,
    ) -> Exchange {
        let (path_only, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let route = route::resolve(self.manifest, &request.method, path_only);
        let streamed = route.operation().is_some_and(|op| {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_str(query).unwrap_or_default();
            op.asks_for_stream(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        });
        let operation_id = route.operation().map(|op| op.operation_id.clone());
        let recorded_request = self
            .secrets
            .borrow()
            .scrub_request(exchange::record_request(&request));
        let replay = self
            .replays
            .borrow()
            .classify(route.operation(), &recorded_request);
        let (result, elapsed) = target::send(self.client, self.base_url, &request).await;
        let mut record = Exchange {
            phase: label.phase,
            scenario: label.scenario.to_owned(),
            step: label.step.to_owned(),
            operation_id,
            line: label.line,
            request: Some(recorded_request),
            response: None,
            error: None,
            checks: Vec::new(),
            passed: false,
            rules: Vec::new(),
            subject: None,
            advisory: false,
            elapsed,
        };
        let incoming = match result {
            Ok(incoming) => incoming,
            Err(error) => {
                record.checks.push(Check::judged(
                    "transport",
                    false,
                    json!("a response"),
                    json!(error),
                ));
                record.error = Some(error);
                return record;
            }
        };
        let parsed = exchange::parse_body(&incoming);
        self.secrets
            .borrow_mut()
            .learn(route.operation(), incoming.status, parsed.as_ref());
        let mut body = parsed
            .clone()
            .unwrap_or_else(|| exchange::non_json_body(&incoming));
        exchange::normalise(route.operation(), incoming.status, &mut body);
        let mut checks = judge(&incoming, &body);
        // A probe asks only its own question; a step also answers for its response schema.
        if matches!(label.phase, Phase::Step | Phase::Seed) {
            checks.extend(check::response_schema_check(
                &route,
                &incoming,
                parsed.as_ref(),
                streamed,
            ));
        }
        record.rules = rules::judge(&rules::Answer {
            route: &route,
            incoming: &incoming,
            body: parsed.as_ref().map(|_| &body),
            correlation_id: label.correlation_id,
            replay: &replay,
            streamed,
        });
        record.passed = checks.iter().all(|c| c.passed);
        record.checks = checks;
        if let Some(request) = &record.request {
            self.replays.borrow_mut().record(
                route.operation(),
                request,
                record.label(),
                incoming.status,
                &body,
            );
        }
        record.response = Some(exchange::record_response(&incoming, body, extra_headers));
        record
    }
}

/// An exchange that never reached the server: its request could not be built.
pub fn unsent(label: &Label<'_>, operation_id: Option<String>, why: String) -> Exchange {
    Exchange {
        phase: label.phase,
        scenario: label.scenario.to_owned(),
        step: label.step.to_owned(),
        operation_id,
        line: label.line,
        request: None,
        response: None,
        checks: vec![Check::judged(
            "request",
            false,
            json!("a request"),
            json!(why),
        )],
        error: Some(why),
        passed: false,
        rules: Vec::new(),
        subject: None,
        advisory: false,
        elapsed: std::time::Duration::ZERO,
    }
}
