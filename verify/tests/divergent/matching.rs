//! The fixture server's matching: spec section 4 written again from the page, small and slow
//! (every pair and triple of intents is compared, which is fine for a handful), sharing no code
//! with marketref's engine.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One engine pass over the active user intents (by id) and the asset values.
pub struct Matching {
    pub edges: usize,
    pub candidate_cycles: usize,
    pub dropped_max_length: usize,
    pub skipped_missing_value: usize,
    /// Every candidate proposal, best first.
    pub candidates: Vec<Candidate>,
    /// Indexes into `candidates` of the greedy disjoint pick.
    pub selected: Vec<usize>,
}

pub struct Candidate {
    pub intent_ids: Vec<String>,
    pub score: f64,
    /// The proposal body without its owner, run and creation time.
    pub body: Value,
}

/// A number as the contract writes it: whole numbers as integers.
pub fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        return json!(x as i64);
    }
    json!(x)
}

fn round_to(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

fn offer_value(offer: &Value, values: &BTreeMap<String, f64>) -> Option<f64> {
    offer.as_array()?.iter().try_fold(0.0, |sum, asset| {
        let id = asset["asset_id"].as_str()?;
        values.get(id).map(|v| sum + v)
    })
}

fn wants(receiver: &Value, giver: &Value) -> bool {
    let offered = giver["offer"].as_array().cloned().unwrap_or_default();
    receiver["want_spec"]["any_of"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|clause| {
            offered.iter().any(|asset| match clause["type"].as_str() {
                Some("specific_asset") => {
                    let key = format!(
                        "{}:{}",
                        asset["platform"].as_str().unwrap_or_default(),
                        asset["asset_id"].as_str().unwrap_or_default()
                    );
                    clause["asset_key"].as_str() == Some(key.as_str())
                }
                Some("category") => {
                    asset["metadata"]["category"].is_string()
                        && asset["metadata"]["category"] == clause["category"]
                }
                _ => false,
            })
        })
}

fn in_band(receiver: &Value, value: f64) -> bool {
    let band = &receiver["value_band"];
    band["min_usd"].as_f64().is_some_and(|min| min <= value)
        && band["max_usd"].as_f64().is_some_and(|max| value <= max)
}

/// Runs the engine over `intents` (active user intents, by id).
pub fn run(intents: &[Value], values: &BTreeMap<String, f64>) -> Matching {
    let n = intents.len();
    let mut out = vec![Vec::new(); n];
    let mut skipped = 0;
    for a in 0..n {
        for b in 0..n {
            if a == b || !wants(&intents[a], &intents[b]) {
                continue;
            }
            match offer_value(&intents[b]["offer"], values) {
                Some(value) if in_band(&intents[a], value) => out[a].push(b),
                Some(_) => {}
                None => skipped += 1,
            }
        }
    }
    let edges = out.iter().map(Vec::len).sum();
    // Intents are in id order, so a cycle that starts at its smallest index is canonical.
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    for a in 0..n {
        for &b in out[a].iter().filter(|&&b| b > a) {
            if out[b].contains(&a) {
                cycles.push(vec![a, b]);
            }
            for &c in out[b].iter().filter(|&&c| c > a && c != b) {
                if out[c].contains(&a) {
                    cycles.push(vec![a, b, c]);
                }
            }
        }
    }
    let candidate_cycles = cycles.len();
    let mut dropped = 0;
    let mut candidates = Vec::new();
    for cycle in cycles {
        let members: Vec<&Value> = cycle.iter().map(|&i| &intents[i]).collect();
        let length = members.len();
        if members.iter().any(|intent| {
            intent["trust_constraints"]["max_cycle_length"]
                .as_u64()
                .is_some_and(|max| max < length as u64)
        }) {
            dropped += 1;
            continue;
        }
        candidates.push(proposal(&members, values));
    }
    candidates.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then_with(|| x.body["id"].as_str().cmp(&y.body["id"].as_str()))
    });
    let mut taken: Vec<&str> = Vec::new();
    let mut selected = Vec::new();
    for (index, candidate) in candidates.iter().enumerate() {
        if candidate
            .intent_ids
            .iter()
            .all(|id| !taken.contains(&id.as_str()))
        {
            taken.extend(candidate.intent_ids.iter().map(String::as_str));
            selected.push(index);
        }
    }
    Matching {
        edges,
        candidate_cycles,
        dropped_max_length: dropped,
        skipped_missing_value: skipped,
        candidates,
        selected,
    }
}

fn proposal(members: &[&Value], values: &BTreeMap<String, f64>) -> Candidate {
    let length = members.len();
    let ids: Vec<String> = members
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let gets: Vec<f64> = (0..length)
        .map(|i| offer_value(&members[(i + 1) % length]["offer"], values).unwrap_or(0.0))
        .collect();
    let max = gets.iter().copied().fold(f64::MIN, f64::max);
    let min = gets.iter().copied().fold(f64::MAX, f64::min);
    let spread = if max <= 0.0 {
        0.0
    } else {
        round_to((max - min) / max, 4)
    };
    let base = if length == 2 { 0.90 } else { 0.85 };
    let score = round_to(base - spread, 4).clamp(0.0, 1.0);
    let participants: Vec<Value> = (0..length)
        .map(|i| {
            json!({
                "intent_id": ids[i],
                "actor": members[i]["actor"],
                "give": members[i]["offer"],
                "get": members[(i + 1) % length]["offer"],
            })
        })
        .collect();
    let fees: Vec<Value> = (0..length)
        .map(|i| json!({"actor": members[i]["actor"], "fee_usd": number(round_to(0.01 * gets[i], 2))}))
        .collect();
    let expires_at = members
        .iter()
        .filter_map(|i| i["time_constraints"]["expires_at"].as_str())
        .min()
        .unwrap_or("1970-01-01T00:00:00.000Z");
    let digest = Sha256::digest(ids.join(">").as_bytes());
    let id = format!("cycle_{}", &hex::encode(digest)[..12]);
    Candidate {
        intent_ids: ids,
        score,
        body: json!({
            "id": id,
            "status": "proposed",
            "origin": "marketplace",
            "participants": participants,
            "confidence_score": number(score),
            "value_spread": number(spread),
            "fee_breakdown": fees,
            "expires_at": expires_at,
            "explainability": [
                "All wants satisfied within explicit constraints",
                format!("cycle_length={length}"),
                format!("value_spread={spread}"),
                format!("confidence_score={score}"),
            ],
        }),
    }
}
