//! The fixture server's state and its operations, as a scripted model of M111's part of the
//! contract: intents, runs, proposals and the health counters, kept in memory.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::matching::{self, number};
use super::{Answer, Divergences, error};

/// Who calls, from the gateway headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub kind: String,
    pub id: String,
}

impl Caller {
    fn actor(&self) -> Value {
        json!({"type": self.kind, "id": self.id})
    }
}

/// One call that passed auth and idempotency.
pub struct Call<'a> {
    pub caller: Option<&'a Caller>,
    /// The path's one parameter, when it has one.
    pub param: Option<&'a str>,
    /// The body as JSON, or `Err` when it is not JSON.
    pub body: Result<Value, ()>,
}

#[derive(Default)]
pub struct Model {
    /// Intent id to the intent and who submitted it.
    intents: BTreeMap<String, (Value, Caller)>,
    proposals: BTreeMap<String, Value>,
    values: BTreeMap<String, Value>,
    runs: BTreeMap<String, Value>,
    run_counter: u64,
}

fn caller<'a>(call: &'a Call<'_>) -> &'a Caller {
    call.caller
        .expect("an authenticated operation has a caller")
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

impl Model {
    pub fn health(&self) -> Answer {
        let marketplace = self
            .proposals
            .values()
            .filter(|p| p["origin"] == "marketplace")
            .count();
        (
            200,
            json!({
                "ok": true,
                "store": {"backend": "sqlite", "path": "memory"},
                "summary": {
                    "intents": self.intents.len(),
                    "proposals": self.proposals.len(),
                    "marketplace_asset_values": self.values.len(),
                    "marketplace_matching_runs": self.runs.len(),
                    "marketplace_matching_proposals": marketplace,
                },
            }),
        )
    }

    pub fn create_intent(&mut self, call: &Call<'_>) -> Answer {
        let caller = caller(call);
        let Some(mut intent) = call
            .body
            .as_ref()
            .ok()
            .and_then(|body| body.get("intent"))
            .filter(|intent| intent["id"].is_string() && intent["actor"].is_object())
            .cloned()
        else {
            let errors = json!([{"instance_path": "/intent", "keyword": "required"}]);
            return error("swap_intent_invalid", json!({"errors": errors}));
        };
        if caller.kind == "user" && intent["actor"] != caller.actor() {
            return error(
                "swap_intent_actor_mismatch",
                json!({"caller": caller.actor(), "intent_actor": intent["actor"]}),
            );
        }
        let id = intent["id"].as_str().unwrap_or_default().to_owned();
        if self.intents.contains_key(&id) {
            return error("swap_intent_already_exists", json!({"intent_id": id}));
        }
        if intent.get("status").is_none() {
            intent["status"] = json!("active");
        }
        self.intents.insert(id, (intent.clone(), caller.clone()));
        (201, json!({"intent": intent}))
    }

    pub fn cancel_intent(&mut self, call: &Call<'_>) -> Answer {
        let caller = caller(call);
        let id = call.param.unwrap_or_default();
        let Some((intent, submitter)) = self.intents.get_mut(id) else {
            return error("swap_intent_not_found", json!({"intent_id": id}));
        };
        if intent["actor"] != caller.actor() && submitter != caller {
            return error("swap_intent_not_found", json!({"intent_id": id}));
        }
        if intent["status"] == "cancelled" {
            return error("swap_intent_already_cancelled", json!({"intent_id": id}));
        }
        intent["status"] = json!("cancelled");
        (200, json!({"intent": intent}))
    }

    pub fn run(&mut self, call: &Call<'_>, now: &str, divergences: &Divergences) -> Answer {
        let request = match run_request(&call.body, now, divergences) {
            Ok(request) => request,
            Err(answer) => return answer,
        };
        let caller = caller(call);
        for (asset, value) in &request.values {
            self.values.insert(asset.clone(), value.clone());
        }
        if self.values.is_empty() {
            return error("marketplace_matching_asset_values_missing", json!({}));
        }
        let recorded = parse_time(&request.recorded_at);
        let (mut expired, mut replaced) = (0, 0);
        let ids: Vec<String> = self.proposals.keys().cloned().collect();
        for id in ids {
            let expires = parse_time(
                self.proposals[&id]["expires_at"]
                    .as_str()
                    .unwrap_or_default(),
            );
            if expires.zip(recorded).is_some_and(|(e, r)| e <= r) {
                self.proposals.remove(&id);
                expired += 1;
            } else if request.replace_existing {
                self.proposals.remove(&id);
                replaced += 1;
            }
        }
        let active: Vec<Value> = self
            .intents
            .values()
            .map(|(intent, _)| intent)
            .filter(|i| i["status"] == "active" && i["actor"]["type"] == "user")
            .cloned()
            .collect();
        let values: BTreeMap<String, f64> = self
            .values
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .collect();
        let matching = matching::run(&active, &values);
        self.run_counter += 1;
        let run_id = format!("mrun_{:06}", self.run_counter);
        let kept: Vec<usize> = matching
            .selected
            .iter()
            .copied()
            .take(request.max_proposals)
            .collect();
        let mut proposal_ids = Vec::new();
        for index in &kept {
            let mut body = matching.candidates[*index].body.clone();
            body["owner"] = caller.actor();
            body["matching_run_id"] = json!(run_id);
            body["created_at"] = json!(request.recorded_at);
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            proposal_ids.push(id.clone());
            self.proposals.insert(id, body);
        }
        let run = json!({
            "run_id": run_id,
            "requested_by": caller.actor(),
            "recorded_at": request.recorded_at,
            "replace_existing": request.replace_existing,
            "max_proposals": request.max_proposals,
            "active_intents_count": active.len(),
            "selected_proposals_count": kept.len(),
            "stored_proposals_count": kept.len(),
            "replaced_proposals_count": replaced,
            "expired_proposals_count": expired,
            "proposal_ids": proposal_ids,
            "stats": {
                "intents_active": active.len(),
                "edges": matching.edges,
                "candidate_cycles": matching.candidate_cycles,
                "candidate_proposals": matching.candidates.len(),
                "selected_proposals": matching.selected.len(),
            },
            "diagnostics": {
                "edges_skipped_missing_value": matching.skipped_missing_value,
                "cycles_dropped_max_length": matching.dropped_max_length,
            },
        });
        self.runs.insert(run_id, run.clone());
        (200, json!({"run": run}))
    }

    pub fn get_run(&self, call: &Call<'_>) -> Answer {
        let id = call.param.unwrap_or_default();
        match self.runs.get(id) {
            Some(run) => (200, json!({"run": run})),
            None => error("marketplace_matching_run_not_found", json!({"run_id": id})),
        }
    }

    fn visible(&self, caller: &Caller) -> impl Iterator<Item = &Value> {
        let actor = caller.actor();
        let partner = caller.kind == "partner";
        self.proposals.values().filter(move |p| {
            if partner {
                p["owner"] == actor
            } else {
                p["participants"]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|part| part["actor"] == actor))
            }
        })
    }

    pub fn list_proposals(&self, call: &Call<'_>) -> Answer {
        let proposals: Vec<&Value> = self.visible(caller(call)).collect();
        (200, json!({"proposals": proposals}))
    }

    pub fn get_proposal(&self, call: &Call<'_>) -> Answer {
        let id = call.param.unwrap_or_default();
        match self.visible(caller(call)).find(|p| p["id"] == id) {
            Some(proposal) => (200, json!({"proposal": proposal})),
            None => error("cycle_proposal_not_found", json!({"proposal_id": id})),
        }
    }
}

struct RunRequest {
    replace_existing: bool,
    max_proposals: usize,
    recorded_at: String,
    values: BTreeMap<String, Value>,
}

/// The run body's rules (spec section 5), with the planted clamp.
fn run_request(
    body: &Result<Value, ()>,
    now: &str,
    divergences: &Divergences,
) -> Result<RunRequest, Answer> {
    let invalid = |mut errors: Vec<(String, &str)>| {
        errors.sort();
        let (path, rule) = errors[0].clone();
        let field = path.trim_start_matches('/').replace('/', ".");
        let list: Vec<Value> = errors
            .iter()
            .map(|(at, keyword)| json!({"instance_path": at, "keyword": keyword}))
            .collect();
        error(
            "marketplace_matching_invalid_request",
            json!({"errors": list, "field": field, "rule": rule}),
        )
    };
    let body = match body {
        Ok(body) => body,
        Err(()) if divergences.malformed_json_500 => {
            return Err(error("internal_error", json!({})));
        }
        Err(()) => return Err(invalid(vec![(String::new(), "json_parse")])),
    };
    let Some(fields) = body.as_object() else {
        return Err(invalid(vec![(String::new(), "type")]));
    };
    let mut errors = Vec::new();
    let mut request = RunRequest {
        replace_existing: true,
        max_proposals: 50,
        recorded_at: now.to_owned(),
        values: BTreeMap::new(),
    };
    for (name, value) in fields {
        let at = format!("/{name}");
        match name.as_str() {
            "replace_existing" => match value.as_bool() {
                Some(flag) => request.replace_existing = flag,
                None => errors.push((at, "type")),
            },
            "max_proposals" => match value.as_u64() {
                Some(0) => errors.push((at, "minimum")),
                Some(above) if above > 200 && divergences.clamps_max_proposals => {
                    request.max_proposals = 200;
                }
                Some(above) if above > 200 => errors.push((at, "maximum")),
                Some(n) => request.max_proposals = usize::try_from(n).unwrap_or(200),
                None => errors.push((at, "type")),
            },
            "recorded_at" => match value.as_str().filter(|t| parse_time(t).is_some()) {
                Some(text) => request.recorded_at = text.to_owned(),
                None => errors.push((at, "format")),
            },
            "asset_values_usd" => {
                for (asset, price) in value.as_object().into_iter().flatten() {
                    match price.as_f64() {
                        Some(usd) if usd >= 0.0 => {
                            request.values.insert(asset.clone(), number(usd));
                        }
                        _ => errors.push((format!("{at}/{asset}"), "minimum")),
                    }
                }
            }
            _ => errors.push((at, "additionalProperties")),
        }
    }
    if errors.is_empty() {
        Ok(request)
    } else {
        Err(invalid(errors))
    }
}
