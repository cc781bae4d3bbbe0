//! The steps of one run on one server, in order: each step's request built from the milestone
//! (with the captures of earlier steps), sent and judged, its captures taken for the next, and
//! the exchange printed and kept.

use std::collections::BTreeMap;

use marketref::headers::IDEMPOTENCY_KEY;
use marketref::manifest::Manifest;
use serde_json::{Value, json};

use crate::check::{self, Check};
use crate::driver::{self, Driver, Label};
use crate::exchange::{self, Exchange, Phase};
use crate::milestone::{Body, Milestone, RequestTarget, Scenario, Step, WaitFor};
use crate::route;
use crate::secrets;
use crate::target::{self, Incoming, Outgoing};
use crate::template::{self, Captures};
use crate::terminal::Terminal;

pub struct Session<'s, 'd, 't> {
    pub driver: &'s Driver<'d>,
    pub milestone: &'s Milestone,
    pub terminal: &'s mut Terminal<'t>,
    captures: Captures,
    /// Every exchange kept so far, in order.
    pub exchanges: Vec<Exchange>,
}

impl<'s, 'd, 't> Session<'s, 'd, 't> {
    pub fn new(
        driver: &'s Driver<'d>,
        milestone: &'s Milestone,
        terminal: &'s mut Terminal<'t>,
    ) -> Self {
        Session {
            driver,
            milestone,
            terminal,
            captures: Captures::new(),
            exchanges: Vec::new(),
        }
    }

    /// Runs every step of `scenario` and keeps them.
    pub async fn scenario(&mut self, scenario: &Scenario) {
        for step in &scenario.steps {
            let exchange = self.send(Phase::Step, &scenario.name, step).await;
            self.keep(exchange);
        }
    }

    /// Prints an exchange and keeps it.
    pub fn keep(&mut self, exchange: Exchange) {
        self.terminal.step(self.milestone, &exchange);
        self.exchanges.push(exchange);
    }

    /// Sends one step and judges its answer; its captures are kept for later steps, the
    /// exchange is the caller's to keep.
    pub async fn send(&mut self, phase: Phase, scenario: &str, step: &Step) -> Exchange {
        let milestone = self.milestone;
        let correlation_id = Step::correlation_id(&milestone.id, scenario, &step.name);
        let label = Label {
            phase,
            scenario,
            step: &step.name,
            line: Some(step.line),
            correlation_id: &correlation_id,
        };
        let manifest = self.driver.manifest;
        let request = build_request(manifest, milestone, step, &correlation_id, &self.captures);
        let mut exchange = match (request, &step.wait_for) {
            (Ok(request), None) => self.judged(&label, step, request).await,
            (Ok(request), Some(wait)) => self.waited(&label, step, request, wait).await,
            (Err(why), _) => driver::unsent(&label, step.request.operation_id.clone(), why),
        };
        exchange.subject.clone_from(&step.divergence);
        exchange.advisory = step.advisory;
        exchange
    }

    /// Sends `request` again, [`WaitFor::POLL_INTERVAL`] apart, until the answer has the value
    /// the step waits for, is not a success, or the wait times out; only the last exchange is
    /// kept, with a check that says whether the wait ended as it should. How many sends it
    /// took is in no record: it differs from run to run.
    async fn waited(
        &mut self,
        label: &Label<'_>,
        step: &Step,
        request: Outgoing,
        wait: &WaitFor,
    ) -> Exchange {
        let started = std::time::Instant::now();
        let expected = template::substitute_value(&wait.equals, &self.captures);
        let name = format!("wait_for {} equals", wait.at);
        loop {
            let mut exchange = self.judged(label, step, request.clone()).await;
            let Ok(expected) = &expected else {
                let problem = expected.clone().err().unwrap_or_default();
                exchange
                    .checks
                    .push(Check::judged(name, false, json!(problem), check::absent()));
                exchange.passed = false;
                return exchange;
            };
            let Some(response) = &exchange.response else {
                return exchange;
            };
            let found = response.body.pointer(&wait.at);
            let reached = found == Some(expected);
            let success = (200..300).contains(&response.status);
            let timed_out = started.elapsed() >= wait.timeout;
            if reached || !success || timed_out {
                let actual = found.cloned().unwrap_or_else(check::absent);
                let actual = if timed_out && !reached {
                    json!({"after": format!("{} ms", wait.timeout.as_millis()), "value": actual})
                } else {
                    actual
                };
                exchange
                    .checks
                    .push(Check::judged(name, reached, expected.clone(), actual));
                exchange.passed &= reached;
                return exchange;
            }
            tokio::time::sleep(WaitFor::POLL_INTERVAL).await;
        }
    }

    async fn judged(&mut self, label: &Label<'_>, step: &Step, request: Outgoing) -> Exchange {
        let extra_headers: Vec<String> = step
            .expect
            .headers
            .iter()
            .map(|(name, _)| name.clone())
            .collect();
        let captured = std::cell::RefCell::new(Vec::new());
        let known: &Captures = &self.captures;
        let operation = step
            .request
            .operation_id
            .as_deref()
            .and_then(|id| self.driver.manifest.operation(id));
        let judge = |incoming: &Incoming, body: &Value| {
            let mut checks = check::expectation_checks(&step.expect, incoming, body, known);
            let raw = std::cell::OnceCell::new();
            for (name, pointer) in &step.captures {
                // A secret is captured as the server sent it; the records show its placeholder.
                let value = if secrets::is_secret(operation, pointer) {
                    raw.get_or_init(|| exchange::parse_body(incoming))
                        .as_ref()
                        .and_then(|raw: &Value| raw.pointer(pointer))
                } else {
                    body.pointer(pointer)
                };
                match value {
                    Some(value) => captured.borrow_mut().push((name.clone(), value.clone())),
                    None => checks.push(Check::judged(
                        format!("capture {name}"),
                        false,
                        json!(format!("a value at {pointer}")),
                        check::absent(),
                    )),
                }
            }
            checks
        };
        let exchange = self
            .driver
            .exchange(label, request, &extra_headers, &judge)
            .await;
        self.captures.extend(captured.into_inner());
        exchange
    }
}

/// The concrete request of a step, with captures substituted and the verifier's own headers.
fn build_request(
    manifest: &Manifest,
    milestone: &Milestone,
    step: &Step,
    correlation_id: &str,
    captures: &Captures,
) -> Result<Outgoing, String> {
    let spec = &step.request;
    let (method, path) = match &spec.target {
        RequestTarget::Operation {
            operation_id,
            params,
        } => {
            let operation = manifest
                .operation(operation_id)
                .ok_or_else(|| format!("unknown operation `{operation_id}`"))?;
            let mut filled = BTreeMap::new();
            for (name, value) in params {
                filled.insert(name.clone(), template::substitute(value, captures)?);
            }
            (
                operation.method.as_str().to_owned(),
                route::fill(&operation.path, &filled),
            )
        }
        RequestTarget::Raw { method, path } => {
            (method.clone(), template::substitute(path, captures)?)
        }
        RequestTarget::Link { operation_id, path } => {
            let operation = manifest
                .operation(operation_id)
                .ok_or_else(|| format!("unknown operation `{operation_id}`"))?;
            let link = template::substitute(path, captures)?;
            if !link.starts_with('/') {
                return Err(format!(
                    "the link `{link}` is not a path from the server root"
                ));
            }
            (operation.method.as_str().to_owned(), link)
        }
    };
    // The header an operation takes its key in (`Idempotency-Key` unless it names another).
    let key_header = match &spec.target {
        RequestTarget::Operation { operation_id, .. }
        | RequestTarget::Link { operation_id, .. } => manifest
            .operation(operation_id)
            .map(|operation| operation.idempotency.header_name()),
        RequestTarget::Raw { .. } => None,
    }
    .unwrap_or_else(|| IDEMPOTENCY_KEY.to_owned());
    let mut query = Vec::new();
    for (name, value) in &spec.query {
        query.push((name.clone(), template::substitute(value, captures)?));
    }
    let path = if query.is_empty() {
        path
    } else {
        let encoded = serde_urlencoded::to_string(&query).map_err(|e| e.to_string())?;
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{path}{separator}{encoded}")
    };

    let clock = template::substitute(&spec.clock, captures)?;
    let mut headers = target::base_headers(correlation_id, &clock);
    if let Some(name) = &spec.actor {
        let actor = milestone
            .actors
            .get(name)
            .ok_or_else(|| format!("unknown actor `{name}`"))?;
        target::identify(&mut headers, actor.kind.as_str(), &actor.id, &actor.scopes);
    }
    if let Some(key) = &spec.idempotency_key {
        headers.push((key_header, template::substitute(key, captures)?));
    }
    let body = match &spec.body {
        Body::None => None,
        Body::Json(value) => {
            let value = template::substitute_value(value, captures)?;
            Some(serde_json::to_vec(&value).map_err(|e| e.to_string())?)
        }
        Body::Raw(text) => Some(template::substitute(text, captures)?.into_bytes()),
        Body::Repeat { text, times } => Some(text.repeat(*times).into_bytes()),
    };
    if body.is_some() {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    for (name, value) in &spec.headers {
        let value = template::substitute(value, captures)?;
        headers.retain(|(existing, _)| existing != name);
        headers.push((name.clone(), value));
    }
    Ok(Outgoing {
        method,
        path,
        headers,
        body,
    })
}
