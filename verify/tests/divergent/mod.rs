//! A server we did not write: a small axum server that answers M111's operations from a
//! scripted model ([`model`], [`matching`]), the way an older implementation of the same
//! contract would, with chosen divergences planted. It imports nothing of marketref's but the
//! published contract file `schemas/reason_codes.json`, which any implementation reads for its
//! messages; its routes, auth, idempotency, validation and engine are its own.
//!
//! Like the older JavaScript runtime, it checks identity before routing and has no seeding
//! routes: `POST /dev/reset` without identity is answered 401.

mod matching;
mod model;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::support::Served;
use model::{Call, Caller, Model};

/// What this server does differently from the contract.
#[derive(Clone, Copy, Debug)]
pub struct Divergences {
    /// No `x-correlation-id` header, and its own id in the body.
    pub no_correlation_echo: bool,
    /// `max_proposals` above 200 is run as 200 instead of refused.
    pub clamps_max_proposals: bool,
    /// A body that is not JSON is answered 500.
    pub malformed_json_500: bool,
    /// Replays come without `Idempotent-Replayed: true`.
    pub no_replay_header: bool,
}

impl Divergences {
    /// Every divergence planted: what the older runtime did.
    pub const ALL: Divergences = Divergences {
        no_correlation_echo: true,
        clamps_max_proposals: true,
        malformed_json_500: true,
        no_replay_header: true,
    };
    /// None but the missing seeding routes.
    pub const NONE: Divergences = Divergences {
        no_correlation_echo: false,
        clamps_max_proposals: false,
        malformed_json_500: false,
        no_replay_header: false,
    };
}

/// A status and a body, before the correlation id goes in.
pub type Answer = (u16, Value);

/// The registry's word for each reason: status, class, message.
fn registry() -> &'static BTreeMap<String, (u16, String, String)> {
    static REGISTRY: std::sync::OnceLock<BTreeMap<String, (u16, String, String)>> =
        std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        let text = include_str!("../../../schemas/reason_codes.json");
        let document: Value = serde_json::from_str(text).expect("the registry is JSON");
        document["reason_codes"]
            .as_array()
            .expect("a list of reasons")
            .iter()
            .map(|r| {
                let text = |key: &str| r[key].as_str().unwrap_or_default().to_owned();
                let status = u16::try_from(r["status"].as_u64().unwrap_or(500)).unwrap_or(500);
                (text("code"), (status, text("class"), text("message")))
            })
            .collect()
    })
}

/// The error envelope of `reason`, with `details` beside its reason code.
pub fn error(reason: &str, mut details: Value) -> Answer {
    let (status, class, message) = registry()
        .get(reason)
        .cloned()
        .unwrap_or_else(|| panic!("`{reason}` is in the registry"));
    details["reason_code"] = json!(reason);
    (
        status,
        json!({"error": {"code": class, "message": message, "details": details}}),
    )
}

/// An operation of this server: method, path (one `{}` parameter at most), who may call it
/// and with which scope, and whether it takes an idempotency key.
struct Operation {
    id: &'static str,
    method: Method,
    path: &'static str,
    actors: &'static [&'static str],
    scope: Option<&'static str>,
    idempotent: bool,
}

const OPERATIONS: &[Operation] = &[
    Operation {
        id: "system.health",
        method: Method::GET,
        path: "/healthz",
        actors: &[],
        scope: None,
        idempotent: false,
    },
    Operation {
        id: "swapIntents.create",
        method: Method::POST,
        path: "/swap-intents",
        actors: &["user", "partner"],
        scope: Some("swap_intents:write"),
        idempotent: true,
    },
    Operation {
        id: "swapIntents.cancel",
        method: Method::POST,
        path: "/swap-intents/{}/cancel",
        actors: &["user", "partner"],
        scope: Some("swap_intents:write"),
        idempotent: true,
    },
    Operation {
        id: "marketplaceMatching.run",
        method: Method::POST,
        path: "/marketplace/matching/runs",
        actors: &["partner"],
        scope: Some("settlement:write"),
        idempotent: true,
    },
    Operation {
        id: "marketplaceMatchingRun.get",
        method: Method::GET,
        path: "/marketplace/matching/runs/{}",
        actors: &["partner"],
        scope: Some("settlement:read"),
        idempotent: false,
    },
    Operation {
        id: "cycleProposals.list",
        method: Method::GET,
        path: "/cycle-proposals",
        actors: &["user", "partner"],
        scope: Some("cycle_proposals:read"),
        idempotent: false,
    },
    Operation {
        id: "cycleProposals.get",
        method: Method::GET,
        path: "/cycle-proposals/{}",
        actors: &["user", "partner"],
        scope: Some("cycle_proposals:read"),
        idempotent: false,
    },
];

/// The operation and its parameter for a method and path.
fn route<'p>(method: &Method, path: &'p str) -> Option<(&'static Operation, Option<&'p str>)> {
    OPERATIONS
        .iter()
        .filter(|op| op.method == *method)
        .find_map(|op| match op.path.split_once("{}") {
            None => (op.path == path).then_some((op, None)),
            Some((head, tail)) => {
                let param = path.strip_prefix(head)?.strip_suffix(tail)?;
                (!param.is_empty() && !param.contains('/')).then_some((op, Some(param)))
            }
        })
}

#[derive(Default)]
struct Server {
    model: Model,
    /// (actor type, actor id, operation, key) to the request's JSON and the answer.
    records: BTreeMap<(String, String, String, String), (String, Answer)>,
    served: u64,
}

/// Starts the server on 127.0.0.1:0 with `divergences` planted.
pub fn start(divergences: Divergences) -> Served {
    let server = Arc::new(Mutex::new(Server::default()));
    let router = axum::Router::new().fallback(
        move |method: Method, uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let server = server.clone();
            async move {
                let mut server = server.lock().expect("one request at a time");
                server.answer(&divergences, &method, uri.path(), &headers, &body)
            }
        },
    );
    Served::router(router)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The caller, or the auth refusal of `operation`.
fn authenticate(operation: &Operation, headers: &HeaderMap) -> Result<Option<Caller>, Answer> {
    let (kind, id) = (
        header(headers, "x-actor-type"),
        header(headers, "x-actor-id"),
    );
    if operation.actors.is_empty() {
        return Ok(None);
    }
    let (Some(kind), Some(id)) = (kind, id.filter(|id| !id.is_empty())) else {
        return Err(error(
            "auth_identity_missing",
            json!({"required_headers": ["x-actor-type", "x-actor-id"]}),
        ));
    };
    if !["user", "partner", "agent"].contains(&kind) {
        return Err(error(
            "auth_actor_type_unknown",
            json!({"actor_type": kind, "known_actor_types": ["user", "partner", "agent"]}),
        ));
    }
    if !operation.actors.contains(&kind) {
        return Err(error(
            "auth_actor_type_not_allowed",
            json!({"operation_id": operation.id, "actor_type": kind, "allowed_actor_types": operation.actors}),
        ));
    }
    let mut provided: Vec<&str> = header(headers, "x-auth-scopes")
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    provided.sort_unstable();
    provided.dedup();
    if let Some(scope) = operation.scope.filter(|s| !provided.contains(s)) {
        return Err(error(
            "auth_scope_missing",
            json!({"operation_id": operation.id, "required_scopes": [scope], "provided_scopes": provided, "missing_scopes": [scope]}),
        ));
    }
    Ok(Some(Caller {
        kind: kind.to_owned(),
        id: id.to_owned(),
    }))
}

impl Server {
    fn answer(
        &mut self,
        divergences: &Divergences,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Response {
        self.served += 1;
        let sent = header(headers, "x-correlation-id").map(str::to_owned);
        let correlation_id = match (&sent, divergences.no_correlation_echo) {
            (Some(sent), false) => sent.clone(),
            _ => format!("req-{}", self.served),
        };
        let (answer, replayed) =
            self.dispatch(divergences, &correlation_id, method, path, headers, body);
        let (status, mut body) = answer;
        // A replay keeps the first answer's body, correlation id included.
        if !replayed && let Some(fields) = body.as_object_mut() {
            fields.insert("correlation_id".to_owned(), json!(correlation_id));
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response();
        if !divergences.no_correlation_echo
            && let Some(value) = sent.and_then(|s| HeaderValue::from_str(&s).ok())
        {
            response.headers_mut().insert("x-correlation-id", value);
        }
        if replayed && !divergences.no_replay_header {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }

    /// The answer, and whether it is a replay. Identity is checked before routing.
    fn dispatch(
        &mut self,
        divergences: &Divergences,
        correlation_id: &str,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> (Answer, bool) {
        let Some((operation, param)) = route(method, path) else {
            if header(headers, "x-actor-type").is_none() {
                let details = json!({"required_headers": ["x-actor-type", "x-actor-id"]});
                return (error("auth_identity_missing", details), false);
            }
            return (error("route_not_found", json!({"path": path})), false);
        };
        let caller = match authenticate(operation, headers) {
            Ok(caller) => caller,
            Err(refusal) => return (refusal, false),
        };
        let parsed = serde_json::from_slice::<Value>(body).map_err(|_| ());
        let scope = if operation.idempotent {
            let Some(key) = header(headers, "idempotency-key") else {
                let details = json!({"header": "Idempotency-Key"});
                return (error("idempotency_key_required", details), false);
            };
            let who = caller.clone().expect("idempotent operations authenticate");
            let fingerprint = match &parsed {
                Ok(value) => value.to_string(),
                Err(()) => String::from_utf8_lossy(body).into_owned(),
            };
            let scope = (who.kind, who.id, operation.id.to_owned(), key.to_owned());
            match self.records.get(&scope) {
                Some((recorded, answer)) if *recorded == fingerprint => {
                    return (answer.clone(), true);
                }
                Some(_) => {
                    let details = json!({"operation_id": operation.id, "idempotency_key": key});
                    return (
                        error("idempotency_key_reuse_payload_mismatch", details),
                        false,
                    );
                }
                None => Some((scope, fingerprint)),
            }
        } else {
            None
        };
        let now = header(headers, "x-now-iso").unwrap_or("2026-02-28T20:00:00Z");
        let call = Call {
            caller: caller.as_ref(),
            param,
            body: parsed,
        };
        let model = &mut self.model;
        let answer = match operation.id {
            "system.health" => model.health(),
            "swapIntents.create" => model.create_intent(&call),
            "swapIntents.cancel" => model.cancel_intent(&call),
            "marketplaceMatching.run" => model.run(&call, now, divergences),
            "marketplaceMatchingRun.get" => model.get_run(&call),
            "cycleProposals.list" => model.list_proposals(&call),
            _ => model.get_proposal(&call),
        };
        // A crash is not recorded; every other answer of the operation is.
        if let (Some((scope, fingerprint)), true) = (scope, answer.0 < 500) {
            let mut recorded = answer.clone();
            if let Some(fields) = recorded.1.as_object_mut() {
                fields.insert("correlation_id".to_owned(), json!(correlation_id));
            }
            self.records.insert(scope, (fingerprint, recorded));
        }
        (answer, false)
    }
}
