//! `marketref bench matching`: the engine over a load, as a matching run calls it (asset values
//! merged as in step 1 of a run, then [`engine::run_observed`]), without HTTP or a store.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::swap::engine::{self, Phase, SelectionChoice};

use super::synthetic::MatchingLoad;
use super::{ms, peak_rss_mb};

/// One line of `bench matching` output. The counts and `selected_ids_sha256` are the engine's
/// answer and never vary for one load; the `*_ms` fields and `peak_rss_mb` are measurements.
#[derive(Clone, Debug, Serialize)]
pub struct MatchingReport {
    /// Intents in the load.
    pub n: usize,
    pub edges: u64,
    pub candidate_cycles: u64,
    pub candidate_proposals: u64,
    pub selected_proposals: u64,
    /// SHA-256 of the selected proposal ids joined by `\n`, in selection order.
    pub selected_ids_sha256: String,
    /// Merging the asset values and building the graph.
    pub graph_ms: f64,
    pub cycles_ms: f64,
    /// Scoring, hashing and ranking the candidates.
    pub candidates_ms: f64,
    /// The selection (greedy, or optimal with its bound) and the selected proposals.
    pub select_ms: f64,
    pub total_ms: f64,
    pub peak_rss_mb: Option<f64>,
    /// Active user intents fed to the engine.
    pub intents_active: u64,
    pub edges_skipped_missing_value: u64,
    pub cycles_dropped_max_length: u64,
    /// Full proposals built (a run's `max_proposals`).
    pub proposals_built: usize,
    /// Worker threads the engine could use.
    pub threads: usize,
    /// The total confidence score of the selected proposals.
    pub selected_score_sum: f64,
    /// Intents the selected proposals match.
    pub selected_intents: u64,
    /// `greedy` or `optimal`, with the objective, when `--selection` or `--objective` asked.
    pub selection: Option<String>,
    /// No disjoint selection does better (in the objective's unit); with `--selection`.
    pub upper_bound: Option<f64>,
    /// `(upper_bound - value) / upper_bound`; with `--selection`.
    pub gap: Option<f64>,
    pub proven_optimal: Option<bool>,
}

impl MatchingReport {
    /// The report without its measurements: what must be identical from run to run.
    pub fn answer(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.retain(|key, _| {
                !(key.ends_with("_ms") || key == "peak_rss_mb" || key == "threads")
            });
        }
        value
    }
}

/// A run's default `max_proposals`: the bench builds as many full proposals as a run would.
pub const DEFAULT_KEEP: usize = 50;

/// One selected proposal as `--emit-selection` writes it, so that anyone can check
/// disjointness and the sums.
#[derive(Clone, Debug, Serialize)]
pub struct EmittedProposal {
    pub id: String,
    pub intent_ids: Vec<String>,
    pub confidence_score: crate::json::JsNumber,
}

/// The load's values as a run merges them (step 1): the load's own as the stored ones,
/// overlaid by the intents' price hints.
fn merged_values(load: &MatchingLoad) -> BTreeMap<String, serde_json::Number> {
    let stored = load
        .asset_values_usd
        .iter()
        .map(|(asset_id, value)| (asset_id.clone(), value.0.clone()))
        .collect();
    engine::merge_asset_values(stored, &load.intents, [])
}

/// A unit enum's name as the API spells it (its serde form).
fn wire_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Writes proposals as a JSON array, one per line.
fn write_proposals(
    path: &std::path::Path,
    proposals: impl Iterator<Item = EmittedProposal>,
    what: &str,
) -> Result<(), crate::error::Error> {
    let mut text = String::from("[\n");
    for (index, proposal) in proposals.enumerate() {
        if index > 0 {
            text.push_str(",\n");
        }
        text.push_str(&serde_json::to_string(&proposal).unwrap_or_default());
    }
    text.push_str("\n]\n");
    std::fs::write(path, text).map_err(|e| super::io_error(path, what, e))
}

/// Writes every candidate proposal of `load`, in the contract's order (score descending, then
/// id), so that an external solver can be run on exactly the choice the selection faces.
pub fn emit_candidates(
    load: &MatchingLoad,
    path: &std::path::Path,
) -> Result<usize, crate::error::Error> {
    let merged = merged_values(load);
    let graph = engine::Graph::build(&load.intents, &engine::engine_values(&merged));
    let candidates = graph.candidates(&graph.cycles());
    let emitted = candidates.ranked.iter().map(|candidate| EmittedProposal {
        id: candidate.id(),
        intent_ids: graph
            .intent_ids(candidate)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        confidence_score: crate::json::JsNumber(candidate.confidence_score),
    });
    write_proposals(path, emitted, "writing the candidates")?;
    Ok(candidates.ranked.len())
}

/// Runs the engine over `load` on the current rayon pool, choosing as `choice` says (the
/// contract's greedy pick when `None`), building the full proposals of the first `keep`
/// selected ones as a run with `max_proposals: keep` does, and reports. With `emit`, every
/// selected proposal is built and written there as a JSON array.
pub fn run(
    load: &MatchingLoad,
    keep: usize,
    choice: Option<SelectionChoice>,
    emit: Option<&std::path::Path>,
) -> Result<MatchingReport, crate::error::Error> {
    let started = Instant::now();
    let merged = merged_values(load);
    let values = engine::engine_values(&merged);

    let mut marks = [started; 4];
    let keep = if emit.is_some() { usize::MAX } else { keep };
    let outcome = engine::run_observed(&load.intents, &values, keep, choice, &mut |phase| {
        let slot = match phase {
            Phase::Graph => 0,
            Phase::Cycles => 1,
            Phase::Candidates => 2,
            Phase::Select => 3,
        };
        marks[slot] = Instant::now();
    });
    let total = started.elapsed();

    let mut hasher = Sha256::new();
    for (index, id) in outcome.selected_ids.iter().enumerate() {
        if index > 0 {
            hasher.update(b"\n");
        }
        hasher.update(id.as_bytes());
    }
    if let Some(path) = emit {
        let emitted = outcome.selected.iter().map(|draft| EmittedProposal {
            id: draft.id.clone(),
            intent_ids: draft.intent_ids.clone(),
            confidence_score: crate::json::JsNumber(draft.confidence_score),
        });
        write_proposals(path, emitted, "writing the selection")?;
    }
    let report = outcome.diagnostics.selection.as_ref();
    Ok(MatchingReport {
        n: load.intents.len(),
        edges: outcome.stats.edges,
        candidate_cycles: outcome.stats.candidate_cycles,
        candidate_proposals: outcome.stats.candidate_proposals,
        selected_proposals: outcome.stats.selected_proposals,
        selected_ids_sha256: hex::encode(hasher.finalize()),
        graph_ms: ms(marks[0] - started),
        cycles_ms: ms(marks[1] - marks[0]),
        candidates_ms: ms(marks[2] - marks[1]),
        select_ms: ms(marks[3] - marks[2]),
        total_ms: ms(total),
        peak_rss_mb: peak_rss_mb(),
        intents_active: outcome.stats.intents_active,
        edges_skipped_missing_value: outcome.diagnostics.edges_skipped_missing_value,
        cycles_dropped_max_length: outcome.diagnostics.cycles_dropped_max_length,
        proposals_built: outcome.selected.len(),
        threads: rayon::current_num_threads(),
        selected_score_sum: outcome.selected_score_sum,
        selected_intents: outcome.selected_intents,
        selection: report.map(|r| format!("{}/{}", wire_name(r.strategy), wire_name(r.objective))),
        upper_bound: report.map(|r| r.upper_bound.get()),
        gap: report.map(|r| r.gap.get()),
        proven_optimal: report.map(|r| r.proven_optimal),
    })
}
