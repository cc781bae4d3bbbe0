//! One step: what it calls, who calls and how, the body, what must come back, and the captures
//! it sets, each checked against the manifest and what earlier steps captured.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::{Location, Spanned};

use super::hints::{closest, list_or_none};
use super::loader::{Context, Loader};
use super::raw::{RawStep, RawWaitFor};
use super::{Body, RequestSpec, RequestTarget, Step, WaitFor, is_name};
use crate::route;
use crate::{pointer, template};

/// Longest correlation id the runtime echoes (spec section 1 and `x-correlation-id`).
const MAX_CORRELATION_ID: usize = 128;

impl Loader<'_> {
    pub(super) fn steps(
        &mut self,
        scenario: &str,
        raw: Vec<RawStep>,
        context: &mut Context<'_>,
    ) -> Vec<Step> {
        let mut names = BTreeSet::new();
        let mut steps = Vec::new();
        for step in raw {
            let name = step.name.value.clone();
            if !is_name(&name) {
                self.error(
                    &step.name.referenced,
                    format!("step name `{name}` is not a plain name"),
                    "use letters, digits, `_`, `-` and `.`: names go into correlation ids and reports",
                );
            } else if !names.insert(name.clone()) {
                self.error(
                    &step.name.referenced,
                    format!("step `{name}` appears twice in scenario `{scenario}`"),
                    "give every step of a scenario its own name",
                );
            }
            let correlation = Step::correlation_id(context.milestone_id, scenario, &name);
            if correlation.len() > MAX_CORRELATION_ID {
                self.error(
                    &step.name.referenced,
                    format!("the correlation id `{correlation}` would be longer than {MAX_CORRELATION_ID} characters"),
                    "shorten the milestone, scenario or step name",
                );
            }
            if let Some(step) = self.step(step, context) {
                steps.push(step);
            }
        }
        steps
    }

    #[allow(clippy::too_many_lines)]
    fn step(&mut self, step: RawStep, context: &mut Context<'_>) -> Option<Step> {
        let at = step.name.referenced;
        let mut references: Vec<(String, Location)> = Vec::new();
        let mut note =
            |this: &mut Self, text: &str, location: &Location| match template::references(text) {
                Ok(names) => references.extend(names.into_iter().map(|n| (n, *location))),
                Err(problem) => this.error(
                    location,
                    problem,
                    "write `${name}` to use a capture, `$${` for a literal `${`",
                ),
            };

        // What to call.
        let (target, route_operation) = match (&step.operation, &step.method, &step.path) {
            (Some(operation), None, None) => {
                let op = self.known_operation(operation)?;
                let declared: BTreeSet<&str> = op.path_params().into_iter().collect();
                let mut params = BTreeMap::new();
                for (name, value) in &step.params {
                    if !declared.contains(name.as_str()) {
                        self.error(
                            &value.referenced,
                            format!("`{}` has no path parameter `{name}`", op.operation_id),
                            format!(
                                "its path is {}; parameters: {}",
                                op.path,
                                list_or_none(declared.iter().copied())
                            ),
                        );
                    }
                    note(self, &value.value.0, &value.referenced);
                    params.insert(name.clone(), value.value.0.clone());
                }
                for name in &declared {
                    if !params.contains_key(*name) {
                        self.error(
                            &operation.referenced,
                            format!("`{}` needs the path parameter `{name}`", op.operation_id),
                            format!("add `params: {{{name}: ...}}` to the step"),
                        );
                    }
                }
                (
                    RequestTarget::Operation {
                        operation_id: op.operation_id.clone(),
                        params,
                    },
                    Some(op),
                )
            }
            (Some(operation), None, Some(path)) => {
                let op = self.known_operation(operation)?;
                let is_reference = template::references(&path.value).is_ok_and(|r| !r.is_empty());
                if !path.value.starts_with('/') && !is_reference {
                    self.error(
                        &path.referenced,
                        format!("path `{}` is neither a path from the server root nor a capture", path.value),
                        "with `operation:`, `path:` is a link the server handed out: write `path: \"${name}\"` with the capture that holds it",
                    );
                }
                if !step.params.is_empty() {
                    self.error(
                        &path.referenced,
                        "`params:` and a link's `path:` exclude each other",
                        "the link is the whole path: remove `params:`",
                    );
                }
                note(self, &path.value, &path.referenced);
                (
                    RequestTarget::Link {
                        operation_id: op.operation_id.clone(),
                        path: path.value.clone(),
                    },
                    Some(op),
                )
            }
            (None, Some(method), Some(path)) => {
                let upper = method.value.to_ascii_uppercase();
                if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                    .contains(&upper.as_str())
                {
                    self.error(
                        &method.referenced,
                        format!("`{}` is not an HTTP method", method.value),
                        "use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS",
                    );
                }
                if !path.value.starts_with('/') {
                    self.error(
                        &path.referenced,
                        format!("path `{}` does not start with `/`", path.value),
                        "write the path from the server root, like `/healthz`",
                    );
                }
                if path.value.contains('?') {
                    self.error(
                        &path.referenced,
                        "put the query string under `query:`, not in `path:`",
                        "write `query: {limit: 1}`",
                    );
                }
                if !step.params.is_empty() {
                    self.error(
                        &path.referenced,
                        "`params:` belongs to steps that name an `operation:`",
                        "write the concrete path instead",
                    );
                }
                note(self, &path.value, &path.referenced);
                let route = if template::references(&path.value).is_ok_and(|r| r.is_empty()) {
                    route::resolve(self.manifest, &upper, &path.value).operation()
                } else {
                    None
                };
                (
                    RequestTarget::Raw {
                        method: upper,
                        path: path.value.clone(),
                    },
                    route,
                )
            }
            _ => {
                self.error(
                    &at,
                    format!("step `{}` must name either `operation:` or both `method:` and `path:`", step.name.value),
                    "use `operation: <operation_id>` (with `params:`), or a raw `method:` and `path:`",
                );
                return None;
            }
        };
        if let Some(op) = route_operation {
            context.called.insert(op.operation_id.clone());
            if !context.listed.contains(&op.operation_id)
                && context.listed_complete
                && !context.seed_loading
                && context.reported_unlisted.insert(op.operation_id.clone())
            {
                self.error(
                    &at,
                    format!(
                        "step `{}` calls `{}`, which is not in `operations`",
                        step.name.value, op.operation_id
                    ),
                    format!(
                        "add `{}` to `operations`: a milestone lists every operation it calls",
                        op.operation_id
                    ),
                );
            }
        }

        // Who calls, and how.
        if let Some(actor) = &step.actor
            && !context.actors.contains_key(&actor.value)
        {
            let names: Vec<&str> = context.actors.keys().map(String::as_str).collect();
            let hint = match closest(&actor.value, &names) {
                Some(best) => {
                    format!("did you mean `{best}`? actors are declared under `actors:`")
                }
                None => format!(
                    "declare it under `actors:` (declared: {})",
                    list_or_none(names.iter().copied())
                ),
            };
            self.error(
                &actor.referenced,
                format!("unknown actor `{}`", actor.value),
                hint,
            );
        }
        let mut query = Vec::new();
        for (name, value) in &step.query {
            note(self, &value.value.0, &value.referenced);
            query.push((name.clone(), value.value.0.clone()));
        }
        let mut headers = Vec::new();
        for (name, value) in &step.headers {
            let lower = name.to_ascii_lowercase();
            if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                self.error(
                    &value.referenced,
                    format!("`{name}` is not an HTTP header name"),
                    "header names are letters, digits and `-`",
                );
            }
            note(self, &value.value.0, &value.referenced);
            headers.push((lower, value.value.0.clone()));
        }
        let idempotency_key = step.idempotency_key.as_ref().map(|key| {
            if let Some(op) = route_operation
                && !op.idempotency.takes_key() {
                    self.error(
                        &key.referenced,
                        format!("`{}` is not idempotent, so it takes no idempotency key", op.operation_id),
                        "remove `idempotency_key`, or send the header under `headers:` if that is the point",
                    );
                }
            note(self, &key.value.0, &key.referenced);
            key.value.0.clone()
        });
        let clock = match &step.clock {
            Some(clock) => {
                note(self, &clock.value, &clock.referenced);
                clock.value.clone()
            }
            None => context.clock.to_owned(),
        };

        // The body.
        let given = [
            step.body.as_ref().map(|b| b.referenced),
            step.body_raw.as_ref().map(|b| b.referenced),
            step.body_file.as_ref().map(|b| b.referenced),
            step.body_repeat.as_ref().map(|b| b.referenced),
        ];
        let bodies: Vec<Location> = given.into_iter().flatten().collect();
        if bodies.len() > 1 {
            self.error(
                &bodies[1],
                "a step has at most one of `body`, `body_raw`, `body_file`, `body_repeat`",
                "keep one of them",
            );
        }
        let body = if let Some(body) = &step.body {
            match template::references_in_value(&body.value) {
                Ok(names) => references.extend(names.into_iter().map(|n| (n, body.referenced))),
                Err(problem) => self.error(
                    &body.referenced,
                    problem,
                    "write `${name}` to use a capture",
                ),
            }
            Body::Json(body.value.clone())
        } else if let Some(raw) = &step.body_raw {
            Body::Raw(raw.value.clone())
        } else if let Some(file) = &step.body_file {
            self.json_file(file).map_or(Body::None, Body::Json)
        } else if let Some(repeat) = &step.body_repeat {
            if repeat.value.text.is_empty() || repeat.value.times == 0 {
                self.error(
                    &repeat.referenced,
                    "`body_repeat` needs a non-empty `text` and `times` above 0",
                    "like `body_repeat: {text: \"a\", times: 1048577}`",
                );
            }
            Body::Repeat {
                text: repeat.value.text.clone(),
                times: repeat.value.times,
            }
        } else {
            Body::None
        };
        if let (Some(op), Some(first)) = (route_operation, bodies.first())
            && op.request_schema.is_none()
        {
            self.error(
                first,
                format!("`{}` takes no request body", op.operation_id),
                "remove the body, or use a raw `method:` and `path:` step to send one anyway",
            );
        }

        let wait_for = step
            .wait_for
            .as_ref()
            .and_then(|wait| self.wait_for(wait, &target, &mut references));

        // What must come back.
        let expect = self.expect(
            step.expect.unwrap_or_default(),
            &at,
            &target,
            route_operation,
            &mut references,
        );

        // Captures, checked after the references so that a step cannot use its own.
        let mut captures = Vec::new();
        for (name, location) in &references {
            if !context.captures.contains_key(name) {
                let names: Vec<&str> = context.captures.keys().map(String::as_str).collect();
                let hint = match closest(name, &names) {
                    Some(best) => format!(
                        "did you mean `${{{best}}}`? a step can use what earlier steps captured"
                    ),
                    None => format!(
                        "capture it in an earlier step with `capture: {{{name}: /json/pointer}}`"
                    ),
                };
                self.error(location, format!("unknown capture `{name}`"), hint);
            }
        }
        for (name, at_pointer) in &step.capture {
            if !template::is_capture_name(name) {
                self.error(
                    &at_pointer.referenced,
                    format!("`{name}` cannot name a capture"),
                    "use letters, digits and `_`, not starting with a digit",
                );
            }
            if let Some(problem) = pointer::problem(&at_pointer.value) {
                self.error(
                    &at_pointer.referenced,
                    format!("bad JSON pointer: {problem}"),
                    pointer::HINT,
                );
            }
            if let Some(previous) = context.captures.get(name) {
                self.error(
                    &at_pointer.referenced,
                    format!("capture `{name}` is already set by step `{previous}`"),
                    "give each capture its own name",
                );
            }
            captures.push((name.clone(), at_pointer.value.clone()));
        }
        for (name, _) in &captures {
            context
                .captures
                .insert(name.clone(), step.name.value.clone());
        }

        Some(Step {
            name: step.name.value,
            description: step.description,
            line: at.line(),
            request: RequestSpec {
                target,
                operation_id: route_operation.map(|op| op.operation_id.clone()),
                query,
                actor: step.actor.map(|actor| actor.value),
                headers,
                idempotency_key,
                clock,
                body,
            },
            expect,
            wait_for,
            captures,
            divergence: step.divergence,
            advisory: step.advisory,
        })
    }
}

impl Loader<'_> {
    /// A step's `wait_for:`. Only a read waits: sending anything else again would change what
    /// it waits for.
    fn wait_for(
        &mut self,
        raw: &Spanned<RawWaitFor>,
        target: &RequestTarget,
        references: &mut Vec<(String, Location)>,
    ) -> Option<WaitFor> {
        let method = match target {
            RequestTarget::Raw { method, .. } => Some(method.clone()),
            RequestTarget::Operation { operation_id, .. }
            | RequestTarget::Link { operation_id, .. } => self
                .manifest
                .operation(operation_id)
                .map(|op| op.method.as_str().to_owned()),
        };
        if method.as_deref().is_some_and(|method| method != "GET") {
            self.error(
                &raw.referenced,
                "only a GET step can `wait_for`",
                "sending a write again changes what it waits for: wait in a GET step after it",
            );
        }
        let wait = &raw.value;
        if let Some(problem) = pointer::problem(&wait.at.value) {
            self.error(
                &wait.at.referenced,
                format!("bad JSON pointer: {problem}"),
                pointer::HINT,
            );
        }
        let timeout_ms = match &wait.timeout_ms {
            None => WaitFor::DEFAULT_TIMEOUT_MS,
            Some(timeout) if (1..=WaitFor::MAX_TIMEOUT_MS).contains(&timeout.value) => {
                timeout.value
            }
            Some(timeout) => {
                self.error(
                    &timeout.referenced,
                    format!("`timeout_ms: {}` is out of range", timeout.value),
                    format!(
                        "wait from 1 to {} ms; without `timeout_ms` a step waits {} ms",
                        WaitFor::MAX_TIMEOUT_MS,
                        WaitFor::DEFAULT_TIMEOUT_MS
                    ),
                );
                WaitFor::DEFAULT_TIMEOUT_MS
            }
        };
        let Some(equals) = &wait.equals else {
            self.error(
                &raw.referenced,
                "`wait_for` says no value to wait for",
                "add `equals:`, like `wait_for: {at: /data/status, equals: succeeded}`",
            );
            return None;
        };
        match template::references_in_value(equals) {
            Ok(names) => references.extend(names.into_iter().map(|n| (n, wait.at.referenced))),
            Err(problem) => self.error(
                &wait.at.referenced,
                problem,
                "write `${name}` to use a capture",
            ),
        }
        Some(WaitFor {
            at: wait.at.value.clone(),
            equals: equals.clone(),
            timeout: std::time::Duration::from_millis(timeout_ms),
        })
    }
}
