//! A step's `expect:`: the reason, error code and status checked against each other and against
//! what the operation may answer; header and JSON checks with their pointers and patterns.

use std::collections::BTreeSet;

use marketref::manifest::Operation;
use marketref::reason::{ErrorClass, Reason};
use regex::Regex;
use serde_saphyr::Location;

use super::hints::unknown_reason_hint;
use super::loader::Loader;
use super::raw::{RawExpect, Text};
use super::{Expect, JsonCheck, Matcher, RequestTarget};
use crate::{pointer, route, template};

impl Loader<'_> {
    pub(super) fn expect(
        &mut self,
        raw: RawExpect,
        at: &Location,
        target: &RequestTarget,
        operation: Option<&Operation>,
        references: &mut Vec<(String, Location)>,
    ) -> Expect {
        let allowed: BTreeSet<Reason> = match (operation, target) {
            (Some(op), _) => op.effective_reasons(),
            // A path with `${...}` is only known when the step runs; its answer is still
            // checked against the route it reaches then.
            (None, RequestTarget::Raw { path, .. })
                if !template::references(path).is_ok_and(|names| names.is_empty()) =>
            {
                Reason::ALL.iter().copied().collect()
            }
            (None, RequestTarget::Raw { method, path }) => {
                route::resolve(self.manifest, method, path)
                    .allowed_reasons()
                    .into_iter()
                    .collect()
            }
            (None, RequestTarget::Operation { .. } | RequestTarget::Link { .. }) => BTreeSet::new(),
        };
        let mut reason_code = None;
        if let Some(code) = &raw.reason_code {
            match Reason::from_code(&code.value) {
                None => {
                    let hint = unknown_reason_hint(&code.value);
                    self.error(
                        &code.referenced,
                        format!("unknown reason code `{}`", code.value),
                        hint,
                    );
                }
                Some(reason) if !allowed.contains(&reason) => {
                    let who = operation.map_or_else(
                        || "this route".to_owned(),
                        |op| format!("`{}`", op.operation_id),
                    );
                    let codes: Vec<&str> = allowed.iter().map(|r| r.code()).collect();
                    self.error(
                        &code.referenced,
                        format!("{who} may not answer `{}`", code.value),
                        format!("it may answer: {}", codes.join(", ")),
                    );
                }
                Some(reason) => reason_code = Some(reason),
            }
        }
        let mut error_code = None;
        if let Some(code) = &raw.error_code {
            match ErrorClass::ALL
                .iter()
                .find(|class| class.code() == code.value)
            {
                None => {
                    let codes: Vec<&str> = ErrorClass::ALL.iter().map(|c| c.code()).collect();
                    self.error(
                        &code.referenced,
                        format!("unknown error code `{}`", code.value),
                        format!("error codes are: {}", codes.join(", ")),
                    );
                }
                Some(class) => {
                    if let Some(reason) = reason_code
                        && reason.class() != *class
                    {
                        self.error(
                            &code.referenced,
                            format!(
                                "`{}` has error code `{}`, not `{}`",
                                reason.code(),
                                reason.class().code(),
                                code.value
                            ),
                            "fix one of the two, or drop `error_code` (the reason implies it)",
                        );
                    }
                    error_code = Some(code.value.clone());
                }
            }
        }
        let status = match (&raw.status, reason_code, operation) {
            (Some(status), reason, _) => {
                if !(100..=599).contains(&status.value) {
                    self.error(
                        &status.referenced,
                        format!("{} is not an HTTP status", status.value),
                        "use a status from 100 to 599",
                    );
                }
                if let Some(reason) = reason
                    && reason.status() != status.value
                {
                    self.error(
                        &status.referenced,
                        format!(
                            "`{}` is answered with {}, not {}",
                            reason.code(),
                            reason.status(),
                            status.value
                        ),
                        "fix the status, or drop it (the reason implies it)",
                    );
                }
                status.value
            }
            (None, Some(reason), _) => reason.status(),
            (None, None, Some(op)) => op.success_status,
            (None, None, None) => {
                self.error(
                    at,
                    "this raw step says neither `expect.status` nor `expect.reason_code`",
                    "a raw step must say what it expects, like `expect: {status: 404}`",
                );
                0
            }
        };
        let mut headers = Vec::new();
        for (name, value) in raw.headers {
            let lower = name.to_ascii_lowercase();
            if reqwest::header::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                self.error(
                    at,
                    format!("`{name}` is not an HTTP header name"),
                    "header names are letters, digits and `-`",
                );
            }
            if let Some(Text(text)) = &value {
                match template::references(text) {
                    Ok(names) => references.extend(names.into_iter().map(|n| (n, *at))),
                    Err(problem) => self.error(
                        at,
                        problem,
                        "write `${name}` to use a capture, `$${` for a literal `${`",
                    ),
                }
            }
            headers.push((lower, value.map(|Text(text)| text)));
        }
        let body_sha256 = raw.body_sha256.map(|sha| {
            let text = sha.value.0;
            match template::references(&text) {
                Ok(names) if names.is_empty() => {
                    let is_hex = text.len() == 64
                        && text
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                    if !is_hex {
                        self.error(
                            &sha.referenced,
                            format!("`{text}` is not a SHA-256 in lower-case hex"),
                            "write the 64 hex digits, or `${name}` with a capture that holds them",
                        );
                    }
                }
                Ok(names) => references.extend(names.into_iter().map(|n| (n, sha.referenced))),
                Err(problem) => self.error(
                    &sha.referenced,
                    problem,
                    "write `${name}` to use a capture, `$${` for a literal `${`",
                ),
            }
            text
        });
        let mut json = Vec::new();
        for check in raw.json {
            if let Some(problem) = pointer::problem(&check.at.value) {
                self.error(
                    &check.at.referenced,
                    format!("bad JSON pointer: {problem}"),
                    pointer::HINT,
                );
            }
            let mut matchers = Vec::new();
            if let Some(value) = check.equals {
                match template::references_in_value(&value) {
                    Ok(names) => {
                        references.extend(names.into_iter().map(|n| (n, check.at.referenced)))
                    }
                    Err(problem) => self.error(
                        &check.at.referenced,
                        problem,
                        "write `${name}` to use a capture",
                    ),
                }
                matchers.push(Matcher::Equals(value));
            }
            if let Some(count) = check.count {
                matchers.push(Matcher::Count(count));
            }
            if let Some(pattern) = &check.matches {
                match Regex::new(&pattern.value) {
                    Ok(regex) => matchers.push(Matcher::Matches(regex)),
                    Err(error) => {
                        let first = error
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or_default()
                            .trim()
                            .to_owned();
                        self.error(&pattern.referenced, format!("bad regular expression: {first}"), "the syntax is Rust's regex crate; quote the pattern in single quotes so that `\\` stays as it is");
                    }
                }
            }
            match check.absent {
                Some(true) => matchers.push(Matcher::Absent),
                Some(false) => self.error(
                    &check.at.referenced,
                    "`absent: false` checks nothing",
                    "write `absent: true`, or another check (`count`, `matches`, `equals`)",
                ),
                None => {}
            }
            match matchers.len() {
                1 => json.push(JsonCheck {
                    at: check.at.value,
                    matcher: matchers.remove(0),
                }),
                0 if check.matches.is_some() => {}
                0 => self.error(&check.at.referenced, format!("the check at `{}` says nothing to check", check.at.value), "add one of `equals`, `count`, `matches`, `absent: true`"),
                _ => self.error(&check.at.referenced, format!("the check at `{}` has more than one of `equals`, `count`, `matches`, `absent`", check.at.value), "write one check per entry"),
            }
        }
        Expect {
            status,
            error_code,
            reason_code,
            headers,
            body_sha256,
            json,
        }
    }
}
