//! The contract's rules that every answer must keep, whatever a milestone's step asks: judged
//! on every exchange (probes, seed and steps), apart from the step's own expectations, and
//! reported once per rule with every exchange where it broke.
//!
//! Keeping them apart is what lets one divergence fail one check: a server that does not echo
//! `x-correlation-id` breaks `correlation-id-echo` in every answer, and each step whose own
//! answer was right still passes. A broken rule fails the run unless the milestone lists it
//! under `advisory`.

use marketref::headers::{CORRELATION_ID, IDEMPOTENT_REPLAYED};
use marketref::manifest::EVENT_STREAM_MEDIA_TYPE;
use marketref::reason::Reason;
use serde::Serialize;
use serde_json::{Value, json};

use crate::check::{ERROR_ENVELOPE, absent, schema_failures};
use crate::replay::Replay;
use crate::route::Route;
use crate::target::Incoming;

/// A contract rule, by its stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Every answer carries the media type the contract declares, and a body of that type.
    MediaType,
    /// The `x-correlation-id` sent comes back in the header, and in the body's `correlation_id`.
    CorrelationIdEcho,
    /// An answer of 400 or more is the error envelope.
    ErrorEnvelope,
    /// An error's reason is one the answering operation (or the router) may give.
    DeclaredReason,
    /// An error's status, `error.code` and message are those the registry declares.
    RegistryError,
    /// A replay carries `Idempotent-Replayed: true` and the first answer's status and body; no
    /// other answer carries the header.
    IdempotentReplay,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::MediaType,
        Rule::CorrelationIdEcho,
        Rule::ErrorEnvelope,
        Rule::DeclaredReason,
        Rule::RegistryError,
        Rule::IdempotentReplay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::MediaType => "media-type",
            Rule::CorrelationIdEcho => "correlation-id-echo",
            Rule::ErrorEnvelope => "error-envelope",
            Rule::DeclaredReason => "declared-reason",
            Rule::RegistryError => "registry-error",
            Rule::IdempotentReplay => "idempotent-replay",
        }
    }

    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.name() == name)
    }

    /// What the rule requires, in one line, for reports.
    pub fn requirement(self) -> &'static str {
        match self {
            Rule::MediaType => {
                "every answer is JSON (`application/json`), or the text type its operation declares"
            }
            Rule::CorrelationIdEcho => {
                "the `x-correlation-id` sent is echoed in the header and in the body's `correlation_id` (a replay keeps the first body)"
            }
            Rule::ErrorEnvelope => {
                "an answer of 400 or more is the error envelope `{correlation_id, error: {code, message, details}}`"
            }
            Rule::DeclaredReason => "an error's reason code is one its operation may answer",
            Rule::RegistryError => {
                "an error's status, `error.code` and message are the registry's for its reason"
            }
            Rule::IdempotentReplay => {
                "a replay answers `Idempotent-Replayed: true` with the first answer's status and body; no other answer carries the header"
            }
        }
    }
}

/// One rule judged on one answer.
#[derive(Clone, Debug, Serialize)]
pub struct RuleCheck {
    pub rule: Rule,
    pub passed: bool,
    pub expected: Value,
    pub actual: Value,
    /// What broke, in a few words, when it broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
}

impl RuleCheck {
    fn held(rule: Rule, expected: Value, actual: Value) -> RuleCheck {
        RuleCheck {
            rule,
            passed: true,
            expected,
            actual,
            finding: None,
        }
    }

    fn judged(rule: Rule, broken: Option<String>, expected: Value, actual: Value) -> RuleCheck {
        RuleCheck {
            rule,
            passed: broken.is_none(),
            expected,
            actual,
            finding: broken,
        }
    }
}

/// One rule over a whole run.
#[derive(Clone, Debug, Serialize)]
pub struct RuleVerdict {
    pub rule: Rule,
    /// The milestone lists the rule under `advisory`: a break is reported, not failing.
    pub advisory: bool,
    /// Answers it was judged on.
    pub judged: usize,
    /// `scenario/step` of every answer that broke it, in run order.
    pub broken_by: Vec<String>,
}

impl RuleVerdict {
    pub fn held(&self) -> bool {
        self.broken_by.is_empty()
    }

    pub fn fails_run(&self) -> bool {
        !self.held() && !self.advisory
    }
}

/// Every rule over `exchanges`.
pub fn verdicts(
    exchanges: &[&crate::exchange::Exchange],
    advisory: &std::collections::BTreeSet<Rule>,
) -> Vec<RuleVerdict> {
    Rule::ALL
        .into_iter()
        .map(|rule| {
            let judged = exchanges
                .iter()
                .filter(|e| e.rules.iter().any(|check| check.rule == rule));
            RuleVerdict {
                rule,
                advisory: advisory.contains(&rule),
                judged: judged.clone().count(),
                broken_by: judged
                    .filter(|e| e.broken_rules().any(|check| check.rule == rule))
                    .map(|e| e.label())
                    .collect(),
            }
        })
        .collect()
}

/// What one answer is judged with.
pub struct Answer<'a> {
    pub route: &'a Route<'a>,
    pub incoming: &'a Incoming,
    /// The body as JSON, when it is JSON.
    pub body: Option<&'a Value>,
    pub correlation_id: &'a str,
    pub replay: &'a Replay,
    /// The request asked for the operation's event stream (`Operation::asks_for_stream`).
    pub streamed: bool,
}

/// Every rule that applies to `answer`.
pub fn judge(answer: &Answer<'_>) -> Vec<RuleCheck> {
    let mut checks = vec![
        media_type(answer),
        correlation_id_echo(answer),
        idempotent_replay(answer),
    ];
    if let (true, Some(body)) = (answer.incoming.status >= 400, answer.body) {
        checks.extend(error_rules(answer.route, answer.incoming.status, body));
    }
    checks.sort_by_key(|check| check.rule);
    checks
}

fn media_type_essence(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

fn media_type(answer: &Answer<'_>) -> RuleCheck {
    let success = answer
        .route
        .operation()
        .filter(|_| answer.incoming.status < 400);
    let declared = if answer.streamed && success.is_some() {
        EVENT_STREAM_MEDIA_TYPE
    } else {
        success
            .and_then(|op| op.response_media_type.as_deref())
            .map_or("application/json", media_type_essence)
    };
    let sent = answer
        .incoming
        .headers
        .get("content-type")
        .map(|value| media_type_essence(value));
    let is_json = declared != "application/json" || answer.body.is_some();
    let broken = if sent != Some(declared) {
        Some(match sent {
            Some(sent) => format!("answered `{sent}` instead of `{declared}`"),
            None => format!("answered without a `content-type` (`{declared}` expected)"),
        })
    } else if !is_json {
        Some("answered a body that is not JSON".to_owned())
    } else {
        None
    };
    RuleCheck::judged(
        Rule::MediaType,
        broken,
        json!({"content-type": declared, "json": declared == "application/json"}),
        json!({"content-type": sent, "json": answer.body.is_some()}),
    )
}

fn correlation_id_echo(answer: &Answer<'_>) -> RuleCheck {
    let sent = answer.correlation_id;
    let header = answer
        .incoming
        .headers
        .get(CORRELATION_ID)
        .map(String::as_str);
    // A replay's body is the first answer's, with the first request's id.
    let body = match answer.replay {
        Replay::Repeat(_) => None,
        _ => answer
            .body
            .and_then(|body| body.get("correlation_id"))
            .and_then(Value::as_str),
    };
    let mut broken = Vec::new();
    match header {
        None => broken.push("header absent".to_owned()),
        Some(other) if other != sent => broken.push("header differs".to_owned()),
        Some(_) => {}
    }
    // The values go in `actual`: a finding is the same words for every answer it names.
    if body.is_some_and(|echoed| echoed != sent) {
        broken.push("body `correlation_id` differs".to_owned());
    }
    let finding = (!broken.is_empty())
        .then(|| format!("`{CORRELATION_ID}` not echoed ({})", broken.join(", ")));
    RuleCheck::judged(
        Rule::CorrelationIdEcho,
        finding,
        json!({"header": sent, "body": body.map(|_| sent)}),
        json!({"header": header, "body": body}),
    )
}

fn idempotent_replay(answer: &Answer<'_>) -> RuleCheck {
    let header = answer
        .incoming
        .headers
        .get(IDEMPOTENT_REPLAYED)
        .map(String::as_str);
    let name = title_case(IDEMPOTENT_REPLAYED);
    let Replay::Repeat(first) = answer.replay else {
        let finding = header.map(|_| format!("`{name}` on an answer that is not a replay"));
        return RuleCheck::judged(
            Rule::IdempotentReplay,
            finding,
            json!({"header": absent()}),
            json!({"header": header.map_or_else(absent, |h| json!(h))}),
        );
    };
    let body = answer.body.cloned().unwrap_or(Value::Null);
    let mut broken = Vec::new();
    if header != Some("true") {
        broken.push(format!("no `{name}: true` header on replay"));
    }
    if answer.incoming.status != first.status {
        broken.push(format!(
            "replay answered {} where the first answer was {}",
            answer.incoming.status, first.status
        ));
    } else if body != first.body {
        broken.push("replay answered another body than the first".to_owned());
    }
    let expected = json!({"header": "true", "status": first.status, "replay_of": first.label});
    let actual = json!({"header": header.map_or_else(absent, |h| json!(h)), "status": answer.incoming.status});
    if broken.is_empty() {
        RuleCheck::held(Rule::IdempotentReplay, expected, actual)
    } else {
        RuleCheck::judged(
            Rule::IdempotentReplay,
            Some(broken.join("; ")),
            expected,
            actual,
        )
    }
}

/// `Idempotent-Replayed` for `idempotent-replayed`: how people write a header name.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The envelope, its reason and the registry's word for it. A body that is not an envelope
/// is judged once, as such: its reason and message are not judged again.
fn error_rules(route: &Route<'_>, status: u16, body: &Value) -> Vec<RuleCheck> {
    let failures = schema_failures(ERROR_ENVELOPE, body);
    let envelope = RuleCheck::judged(
        Rule::ErrorEnvelope,
        (!failures.is_empty()).then(|| {
            format!(
                "a {status} answer is not the error envelope ({})",
                failures.first().map_or("", String::as_str)
            )
        }),
        json!(ERROR_ENVELOPE),
        json!(failures),
    );
    if !envelope.passed {
        return vec![envelope];
    }
    let code = body
        .pointer("/error/details/reason_code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(reason) = Reason::from_code(code) else {
        return vec![envelope];
    };
    let allowed = route.allowed_reasons();
    let declared = RuleCheck::judged(
        Rule::DeclaredReason,
        (!allowed.contains(&reason))
            .then(|| format!("answered `{code}`, which this operation may not answer")),
        json!(allowed.iter().map(|r| r.code()).collect::<Vec<_>>()),
        json!(code),
    );
    let expected = json!({"status": reason.status(), "code": reason.class().code(), "message": reason.message()});
    let actual = json!({
        "status": status,
        "code": body.pointer("/error/code"),
        "message": body.pointer("/error/message"),
    });
    let registry = RuleCheck::judged(
        Rule::RegistryError,
        (expected != actual).then(|| {
            format!(
                "`{code}` answered with another status, error code or message than the registry's"
            )
        }),
        expected,
        actual,
    );
    vec![envelope, declared, registry]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use marketref::manifest::Manifest;

    use super::*;
    use crate::replay::FirstAnswer;

    fn incoming(status: u16, headers: &[(&str, &str)], body: &Value) -> Incoming {
        Incoming {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            body: serde_json::to_vec(body).unwrap(),
        }
    }

    fn broken(route: &Route<'_>, incoming: &Incoming, replay: &Replay) -> Vec<&'static str> {
        let body: Value = serde_json::from_slice(&incoming.body).unwrap();
        judge(&Answer {
            route,
            incoming,
            body: Some(&body),
            correlation_id: "verify:T:s:x",
            replay,
            streamed: false,
        })
        .into_iter()
        .filter(|check| !check.passed)
        .map(|check| check.rule.name())
        .collect()
    }

    fn run_route() -> Route<'static> {
        crate::route::resolve(Manifest::embedded(), "POST", "/marketplace/matching/runs")
    }

    #[test]
    fn names_are_stable_and_parse_back() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_name(rule.name()), Some(rule));
            assert_eq!(json!(rule), json!(rule.name()), "serialised by its name");
        }
        assert_eq!(Rule::from_name("correlation"), None);
    }

    #[test]
    fn a_missing_echo_breaks_only_the_echo() {
        let reason = Reason::MarketplaceMatchingInvalidRequest;
        let body = json!({"correlation_id": "server-1", "error": {"code": reason.class().code(), "message": reason.message(), "details": {"reason_code": reason.code()}}});
        let answer = incoming(400, &[("content-type", "application/json")], &body);
        assert_eq!(
            broken(&run_route(), &answer, &Replay::First),
            ["correlation-id-echo"]
        );
    }

    #[test]
    fn a_replay_without_its_header_breaks_the_replay_rule_only() {
        let body = json!({"correlation_id": "verify:T:s:first"});
        let first = FirstAnswer {
            label: "s/first".to_owned(),
            status: 200,
            body: body.clone(),
        };
        let echoed = [
            ("content-type", "application/json"),
            (CORRELATION_ID, "verify:T:s:x"),
        ];
        let answer = incoming(200, &echoed, &body);
        let replay = Replay::Repeat(first);
        assert_eq!(
            broken(&run_route(), &answer, &replay),
            ["idempotent-replay"]
        );
        let with_header = incoming(
            200,
            &[echoed[0], echoed[1], (IDEMPOTENT_REPLAYED, "true")],
            &body,
        );
        assert!(broken(&run_route(), &with_header, &replay).is_empty());
        let fresh = json!({"correlation_id": "verify:T:s:x"});
        let fresh_with_header = incoming(
            200,
            &[echoed[0], echoed[1], (IDEMPOTENT_REPLAYED, "true")],
            &fresh,
        );
        assert_eq!(
            broken(&run_route(), &fresh_with_header, &Replay::First),
            ["idempotent-replay"],
            "the header on a first answer is a break too"
        );
    }

    #[test]
    fn a_body_that_is_no_envelope_is_one_break() {
        let answer = incoming(
            500,
            &[
                ("content-type", "application/json"),
                (CORRELATION_ID, "verify:T:s:x"),
            ],
            &json!({"message": "boom"}),
        );
        assert_eq!(
            broken(&run_route(), &answer, &Replay::First),
            ["error-envelope"]
        );
    }

    #[test]
    fn a_streamed_answer_must_be_an_event_stream_and_a_plain_one_must_not() {
        let manifest = Manifest::embedded();
        let route = crate::route::resolve(manifest, "GET", "/api/training/runs/run_000001/logs");
        let media_type_broken = |content_type: &str, streamed: bool| {
            let answer = Incoming {
                status: 200,
                headers: [("content-type".to_owned(), content_type.to_owned())].into(),
                body: b"id: 1\nevent: log\ndata: x\n\n".to_vec(),
            };
            !media_type(&Answer {
                route: &route,
                incoming: &answer,
                body: None,
                correlation_id: "verify:T:s:x",
                replay: &Replay::NotIdempotent,
                streamed,
            })
            .passed
        };
        assert!(!media_type_broken("text/event-stream", true));
        assert!(media_type_broken("text/plain; charset=utf-8", true));
        assert!(!media_type_broken("text/plain; charset=utf-8", false));
        assert!(media_type_broken("text/event-stream", false));
    }
}
