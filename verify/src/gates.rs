//! The gates that run before any scenario:
//!
//! 1. **contracts**: the drift check of `marketref contracts check` on the milestone's
//!    repository (committed schemas, reason registry and OpenAPI document equal the generated
//!    ones; every example validates).
//! 2. **routing**: every operation of the milestone is in the manifest (checked at load) and
//!    routed by the server: a probe to its method and path is answered by that operation, not
//!    by a 404 `route_not_found` or a 405.
//! 3. **auth**: every auth rule of those operations is enforced, by generated requests: no
//!    identity (401), an unknown actor type, each actor type the rule refuses (403), each
//!    required scope missing (403 `INSUFFICIENT_SCOPE` naming it), and each admitted actor
//!    type with all the scopes (not refused). Probes send no idempotency key, so a server that
//!    checked idempotency before authorization fails them.
//!
//! Probes run before the seed, on whatever state the server has; the only ones that can change
//! state are those of unauthenticated writes (`POST /dev/reset` empties the store, which the
//! seed does anyway).

use std::collections::BTreeMap;
use std::path::Path;

use marketref::actor::ActorType;
use marketref::contracts::{self, CheckReport};
use marketref::credentials::{self, TokenKind};
use marketref::headers::AUTHORIZATION;
use marketref::manifest::Operation;
use marketref::reason::Reason;
use serde::Serialize;
use serde_json::{Value, json};

use crate::check::Check;
use crate::driver::{Driver, Label};
use crate::exchange::{Exchange, Phase};
use crate::milestone::Milestone;
use crate::route;
use crate::target::{self, Outgoing};

/// The value of every path parameter in a probe.
pub const PROBE_PARAM: &str = "verify-probe";
/// The actor id of every probe that identifies itself.
pub const PROBE_ACTOR: &str = "verify-probe";
/// The number in the credential id of every probe's token (`key_999999999`): one no server
/// issues before its billionth key.
pub const PROBE_TOKEN_NUMBER: &str = "999999999";
/// An actor type no server knows.
pub const UNKNOWN_ACTOR_TYPE: &str = "verify-unknown-type";

/// The drift check, as recorded in `contract_validation.json`.
#[derive(Clone, Debug, Serialize)]
pub struct ContractsGate {
    pub passed: bool,
    pub files_checked: usize,
    pub examples_checked: usize,
    pub problems: Vec<ContractProblem>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ContractProblem {
    pub path: String,
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Runs the drift check of the repository at `root`.
pub fn contracts_gate(root: &Path) -> ContractsGate {
    match contracts::check(root) {
        Ok(report) => from_report(&report),
        Err(error) => ContractsGate {
            passed: false,
            files_checked: 0,
            examples_checked: 0,
            problems: vec![ContractProblem {
                path: ".".to_owned(),
                kind: "Unreadable".to_owned(),
                message: error.to_string(),
                diff: None,
            }],
        },
    }
}

fn from_report(report: &CheckReport) -> ContractsGate {
    ContractsGate {
        passed: report.is_clean(),
        files_checked: report.files_checked,
        examples_checked: report.examples_checked,
        problems: report
            .problems
            .iter()
            .map(|problem| ContractProblem {
                path: problem.path.clone(),
                kind: format!("{:?}", problem.kind),
                message: problem.message.clone(),
                diff: problem.diff.clone(),
            })
            .collect(),
    }
}

fn probe_path(operation: &Operation) -> String {
    let params: BTreeMap<String, String> = operation
        .path_params()
        .into_iter()
        .map(|name| (name.to_owned(), PROBE_PARAM.to_owned()))
        .collect();
    route::fill(&operation.path, &params)
}

/// One probe per operation of the milestone: is it routed?
pub async fn routing_probes(driver: &Driver<'_>, milestone: &Milestone) -> Vec<Exchange> {
    let mut probes = Vec::new();
    for operation_id in &milestone.operations {
        let Some(operation) = driver.manifest.operation(operation_id) else {
            continue;
        };
        let correlation_id = format!("verify:{}:routing:{operation_id}", milestone.id);
        let request = Outgoing {
            method: operation.method.as_str().to_owned(),
            path: probe_path(operation),
            headers: target::base_headers(&correlation_id, &milestone.clock),
            body: None,
        };
        let label = Label {
            phase: Phase::Routing,
            scenario: "routing",
            step: operation_id,
            line: None,
            correlation_id: &correlation_id,
        };
        let judge = |_: &crate::target::Incoming, body: &Value| {
            let reason = body
                .pointer("/error/details/reason_code")
                .and_then(Value::as_str);
            let routed = !matches!(reason, Some("route_not_found" | "method_not_allowed"));
            vec![Check::judged(
                "routed to the operation",
                routed,
                json!(format!(
                    "{} {} answered by {operation_id}",
                    operation.method.as_str(),
                    operation.path
                )),
                json!(reason.unwrap_or("answered")),
            )]
        };
        probes.push(driver.exchange(&label, request, &[], &judge).await);
    }
    probes
}

/// One auth rule of one operation, as a probe.
struct AuthProbe {
    name: String,
    actor: Option<(String, Vec<String>)>,
    /// The `Authorization` header's value, for the bearer schemes.
    authorization: Option<String>,
    expect: AuthExpect,
}

enum AuthExpect {
    Refused { reason: Reason, details: Value },
    Admitted,
}

fn auth_probes_of(operation: &Operation) -> Vec<AuthProbe> {
    let rule = &operation.auth;
    if !rule.required {
        return Vec::new();
    }
    if let Some(kind) = rule.scheme.token_kind() {
        return bearer_probes_of(operation, kind);
    }
    let all_scopes: Vec<String> = rule.required_scopes.clone();
    let mut probes = vec![
        AuthProbe {
            name: "identity-missing".to_owned(),
            actor: None,
            authorization: None,
            expect: AuthExpect::Refused {
                reason: Reason::AuthIdentityMissing,
                details: json!({}),
            },
        },
        AuthProbe {
            name: "actor-type-unknown".to_owned(),
            actor: Some((UNKNOWN_ACTOR_TYPE.to_owned(), all_scopes.clone())),
            authorization: None,
            expect: AuthExpect::Refused {
                reason: Reason::AuthActorTypeUnknown,
                details: json!({"actor_type": UNKNOWN_ACTOR_TYPE}),
            },
        },
    ];
    for kind in ActorType::ALL {
        if rule.allowed_actor_types.contains(&kind) {
            probes.push(AuthProbe {
                name: format!("admits-{}", kind.as_str()),
                actor: Some((kind.as_str().to_owned(), all_scopes.clone())),
                authorization: None,
                expect: AuthExpect::Admitted,
            });
        } else {
            probes.push(AuthProbe {
                name: format!("refuses-{}", kind.as_str()),
                actor: Some((kind.as_str().to_owned(), all_scopes.clone())),
                authorization: None,
                expect: AuthExpect::Refused {
                    reason: Reason::AuthActorTypeNotAllowed,
                    details: json!({
                        "operation_id": operation.operation_id,
                        "actor_type": kind.as_str(),
                        "allowed_actor_types": rule.allowed_actor_types,
                    }),
                },
            });
        }
    }
    if let Some(admitted) = rule.allowed_actor_types.first() {
        for scope in &rule.required_scopes {
            let others: Vec<String> = all_scopes.iter().filter(|s| *s != scope).cloned().collect();
            probes.push(AuthProbe {
                name: format!("requires-scope-{scope}"),
                actor: Some((admitted.as_str().to_owned(), others)),
                authorization: None,
                expect: AuthExpect::Refused {
                    reason: Reason::AuthScopeMissing,
                    details: json!({
                        "operation_id": operation.operation_id,
                        "missing_scopes": [scope],
                    }),
                },
            });
        }
    }
    probes
}

/// The refusals of a bearer scheme that need no issued token, in the pipeline's order: no
/// `Authorization` header, a text that is not a token, a well-formed token of the other kind,
/// and a well-formed token of the right kind that no server issued. (Scopes and revocation need
/// real tokens: milestones test them with the tokens their steps capture.)
fn bearer_probes_of(operation: &Operation, kind: TokenKind) -> Vec<AuthProbe> {
    let never_issued = |kind: TokenKind| {
        let id = format!("{}_{PROBE_TOKEN_NUMBER}", kind.id_prefix());
        format!(
            "Bearer {}",
            credentials::compose(kind, &id, &"0".repeat(43)).token
        )
    };
    let other = TokenKind::ALL.into_iter().find(|other| *other != kind);
    let mut probes = vec![
        AuthProbe {
            name: "token-missing".to_owned(),
            actor: None,
            authorization: None,
            expect: AuthExpect::Refused {
                reason: Reason::AuthHeaderRequired,
                details: json!({"header": "Authorization", "scheme": "Bearer"}),
            },
        },
        AuthProbe {
            name: "token-malformed".to_owned(),
            actor: None,
            authorization: Some(format!("Bearer {PROBE_ACTOR}")),
            expect: AuthExpect::Refused {
                reason: Reason::TokenMalformed,
                details: json!({"rule": "shape"}),
            },
        },
    ];
    if let Some(other) = other {
        probes.push(AuthProbe {
            name: format!("refuses-{}", other.as_str()),
            actor: None,
            authorization: Some(never_issued(other)),
            expect: AuthExpect::Refused {
                reason: Reason::TokenScopeInsufficient,
                details: json!({
                    "operation_id": operation.operation_id,
                    "token_type": other.as_str(),
                    "required_token_type": kind.as_str(),
                }),
            },
        });
    }
    probes.push(AuthProbe {
        name: "token-never-issued".to_owned(),
        actor: None,
        authorization: Some(never_issued(kind)),
        expect: AuthExpect::Refused {
            reason: Reason::TokenInactive,
            details: json!({}),
        },
    });
    probes
}

/// The name of an auth rule, as coverage counts it: `<operation_id> <probe>`.
pub fn auth_rule_name(operation_id: &str, probe: &str) -> String {
    format!("{operation_id} {probe}")
}

/// Every auth rule the manifest declares, by operation.
pub fn all_auth_rules(operations: &[Operation]) -> Vec<String> {
    operations
        .iter()
        .flat_map(|op| {
            auth_probes_of(op)
                .into_iter()
                .map(|probe| auth_rule_name(&op.operation_id, &probe.name))
        })
        .collect()
}

const AUTH_REASONS: [Reason; 8] = [
    Reason::AuthIdentityMissing,
    Reason::AuthActorTypeUnknown,
    Reason::AuthActorTypeNotAllowed,
    Reason::AuthScopeMissing,
    Reason::AuthHeaderRequired,
    Reason::TokenMalformed,
    Reason::TokenInactive,
    Reason::TokenScopeInsufficient,
];

/// Every auth rule of every operation of the milestone, probed.
pub async fn auth_probes(driver: &Driver<'_>, milestone: &Milestone) -> Vec<Exchange> {
    let mut exchanges = Vec::new();
    for operation_id in &milestone.operations {
        let Some(operation) = driver.manifest.operation(operation_id) else {
            continue;
        };
        for probe in auth_probes_of(operation) {
            let step = format!("{operation_id}/{}", probe.name);
            let correlation_id = format!("verify:{}:auth:{step}", milestone.id);
            let mut headers = target::base_headers(&correlation_id, &milestone.clock);
            if let Some((kind, scopes)) = &probe.actor {
                target::identify(&mut headers, kind, PROBE_ACTOR, scopes);
            }
            if let Some(authorization) = &probe.authorization {
                headers.push((AUTHORIZATION.to_owned(), authorization.clone()));
            }
            let request = Outgoing {
                method: operation.method.as_str().to_owned(),
                path: probe_path(operation),
                headers,
                body: None,
            };
            let label = Label {
                phase: Phase::Auth,
                scenario: "auth",
                step: &step,
                line: None,
                correlation_id: &correlation_id,
            };
            let judge = |incoming: &crate::target::Incoming, body: &Value| {
                judge_auth(&probe.expect, incoming, body)
            };
            exchanges.push(driver.exchange(&label, request, &[], &judge).await);
        }
    }
    exchanges
}

fn judge_auth(expect: &AuthExpect, incoming: &crate::target::Incoming, body: &Value) -> Vec<Check> {
    let reason = body
        .pointer("/error/details/reason_code")
        .and_then(Value::as_str);
    match expect {
        AuthExpect::Refused {
            reason: expected,
            details,
        } => {
            let mut checks = vec![
                Check::new("status", json!(expected.status()), json!(incoming.status)),
                Check::new("details.reason_code", json!(expected.code()), json!(reason)),
            ];
            if let Value::Object(fields) = details {
                for (key, want) in fields {
                    let got = body.pointer(&format!("/error/details/{key}")).cloned();
                    let passed = match (want, &got) {
                        // Order inside the listed sets is the server's business.
                        (Value::Array(want), Some(Value::Array(got))) => {
                            let mut want = want.clone();
                            let mut got = got.clone();
                            want.sort_by_key(Value::to_string);
                            got.sort_by_key(Value::to_string);
                            want == got
                        }
                        (want, Some(got)) => want == got,
                        (_, None) => false,
                    };
                    checks.push(Check::judged(
                        format!("details.{key}"),
                        passed,
                        want.clone(),
                        got.unwrap_or_else(crate::check::absent),
                    ));
                }
            }
            checks
        }
        AuthExpect::Admitted => {
            let refused = reason
                .and_then(Reason::from_code)
                .is_some_and(|r| AUTH_REASONS.contains(&r));
            vec![Check::judged(
                "admitted (not refused by auth)",
                !refused,
                json!("any answer but an auth refusal"),
                json!(reason.map_or_else(|| incoming.status.to_string(), str::to_owned)),
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marketref::manifest::Manifest;

    #[test]
    fn a_partner_only_operation_gets_every_probe() {
        let op = Manifest::embedded()
            .operation("marketplaceMatching.run")
            .unwrap();
        let names: Vec<String> = auth_probes_of(op).into_iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "identity-missing",
                "actor-type-unknown",
                "refuses-user",
                "admits-partner",
                "refuses-agent",
                "requires-scope-settlement:write"
            ]
        );
    }

    #[test]
    fn a_bearer_operation_gets_the_refusals_that_need_no_token() {
        let op = Manifest::embedded()
            .operation("mlHeartbeats.record")
            .unwrap();
        let probes = auth_probes_of(op);
        let names: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "token-missing",
                "token-malformed",
                "refuses-vendor_key",
                "token-never-issued"
            ]
        );
        let never_issued = probes[3].authorization.as_deref().unwrap();
        assert!(
            never_issued.starts_with("Bearer sit_tok_999999999_"),
            "{never_issued}"
        );
        let token = never_issued.trim_start_matches("Bearer ");
        assert!(
            credentials::ParsedToken::parse(token).is_ok(),
            "the checksum holds"
        );
    }

    #[test]
    fn operations_without_auth_have_no_rules() {
        let op = Manifest::embedded().operation("system.health").unwrap();
        assert!(auth_probes_of(op).is_empty());
    }
}
