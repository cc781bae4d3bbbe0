//! The matching engine of `swap-matching.md` section 4. Pure: intents and asset values in,
//! counts and selected proposals out; no store, no clock, no randomness, no hash-map order.
//!
//! The phases are public so that the benchmark can time each one:
//! [`Graph::build`] (indexed, never all-pairs), [`Graph::cycles`], [`Graph::candidates`],
//! [`select_greedy`], then [`Graph::proposal`] for the few that are kept.
//!
//! The graph build, the cycle search, the scoring and the proposal build run on rayon's pool,
//! split by node (or by cycle) into chunks whose results are joined in chunk order, and the
//! ranking is a total order; so the answer is the same byte for byte on any number of threads.

use std::collections::{BTreeMap, HashMap};

use foldhash::fast::FixedState;
use rayon::prelude::*;

use crate::actor::ActorType;
use crate::json::round_to;

use super::selection::{self, Item, Objective, Strategy};
use super::types::{IntentStatus, RunDiagnostics, RunStats, SwapIntent};

mod candidates;
mod cycles;
mod graph;
mod offers;
mod proposal;

pub use candidates::{Candidate, Candidates};
pub use cycles::Cycle;
pub use graph::Graph;
pub use proposal::ProposalDraft;

/// Nodes (or cycles) per parallel task: enough work to outweigh a task's scheduling, small
/// enough to balance two to a few dozen cores.
const CHUNK: usize = 2048;

/// Asset values in USD by bare `asset_id`, borrowing the ids from the merged values. Looked up
/// once per offered asset of every intent, never iterated.
pub type AssetValues<'a> = HashMap<&'a str, f64, FixedState>;

/// How a run chooses among the candidates when its request says so (the default, `None`, is
/// the M111 contract's greedy pick, with no report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectionChoice {
    pub strategy: Strategy,
    pub objective: Objective,
    pub max_solve_ms: u64,
}

/// Everything a matching run needs from the engine.
#[derive(Debug)]
pub struct MatchOutcome {
    pub stats: RunStats,
    pub diagnostics: RunDiagnostics,
    /// Ids of every selected proposal, in engine order.
    pub selected_ids: Vec<String>,
    /// Selected proposals in engine order: all of them from [`run`], the first
    /// `keep` from [`run_observed`].
    pub selected: Vec<ProposalDraft>,
    /// The total confidence score of every selected proposal.
    pub selected_score_sum: f64,
    /// Intents matched by the selected proposals.
    pub selected_intents: u64,
}

/// A phase of the engine that has just finished, reported to [`run_observed`]'s observer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// [`Graph::build`].
    Graph,
    /// [`Graph::cycles`].
    Cycles,
    /// [`Graph::candidates`]: scored, hashed and ranked.
    Candidates,
    /// [`select_greedy`] and the proposals of the selected candidates.
    Select,
}

/// Runs the whole engine over any intents: only active user intents take part.
pub fn run(intents: &[SwapIntent], values: &AssetValues<'_>) -> MatchOutcome {
    run_observed(intents, values, usize::MAX, None, &mut |_| {})
}

/// [`run`], building the full proposal of only the first `keep` selected ones (a run stores no
/// more than its `max_proposals`; every count still covers all of them), and telling
/// `observer` as each phase ends. The benchmark reads its clock there; the engine never does.
pub fn run_observed(
    intents: &[SwapIntent],
    values: &AssetValues<'_>,
    keep: usize,
    choice: Option<SelectionChoice>,
    observer: &mut dyn FnMut(Phase),
) -> MatchOutcome {
    let graph = Graph::build(intents, values);
    observer(Phase::Graph);
    let cycles = graph.cycles();
    observer(Phase::Cycles);
    let candidates = graph.candidates(&cycles);
    let candidate_cycles = cycles.len() as u64;
    drop(cycles);
    observer(Phase::Candidates);
    let (picked, report) = match choice {
        None => (select_greedy(graph.node_count(), &candidates.ranked), None),
        Some(choice) => {
            let items: Vec<Item> = candidates
                .ranked
                .iter()
                .map(|candidate| Item::new(candidate.cycle.nodes(), candidate.confidence_score))
                .collect();
            let chosen = selection::select(
                graph.node_count(),
                &items,
                choice.strategy,
                choice.objective,
                choice.max_solve_ms,
            );
            (chosen.picked, Some(chosen.report))
        }
    };
    let selected_score_sum = round_to(
        picked
            .iter()
            .map(|&index| candidates.ranked[index].confidence_score)
            .sum(),
        4,
    );
    let selected_intents = picked
        .iter()
        .map(|&index| candidates.ranked[index].cycle.nodes().len() as u64)
        .sum();
    let selected_ids: Vec<String> = picked
        .iter()
        .map(|&index| candidates.ranked[index].id())
        .collect();
    let selected: Vec<ProposalDraft> = picked[..picked.len().min(keep)]
        .par_iter()
        .map(|&index| graph.proposal(&candidates.ranked[index]))
        .collect();
    observer(Phase::Select);
    MatchOutcome {
        stats: RunStats {
            intents_active: graph.node_count() as u64,
            edges: graph.edge_count() as u64,
            candidate_cycles,
            candidate_proposals: candidates.ranked.len() as u64,
            selected_proposals: picked.len() as u64,
        },
        diagnostics: RunDiagnostics {
            edges_skipped_missing_value: graph.edges_skipped_missing_value,
            cycles_dropped_max_length: candidates.cycles_dropped_max_length,
            selection: report,
        },
        selected_ids,
        selected,
        selected_score_sum,
        selected_intents,
    }
}

/// Whether an intent takes part in matching: active, and owned by a user.
pub fn is_matchable(intent: &SwapIntent) -> bool {
    intent.status == IntentStatus::Active && intent.actor.kind == ActorType::User
}

/// The asset values of a matching run (spec section 5 step 1): `stored`, overlaid by the price
/// hints of the matchable intents' offered assets (intents in id order), overlaid by
/// `requested`. Numbers keep their JSON form.
pub fn merge_asset_values(
    stored: BTreeMap<String, serde_json::Number>,
    intents: &[SwapIntent],
    requested: impl IntoIterator<Item = (String, serde_json::Number)>,
) -> BTreeMap<String, serde_json::Number> {
    let mut merged = stored;
    // Only intents with a hint need their id order; most loads have few or none.
    let mut hints: Vec<(&str, &str, serde_json::Number)> = intents
        .iter()
        .filter(|intent| is_matchable(intent))
        .flat_map(|intent| {
            intent.offer.iter().filter_map(|asset| {
                Some((
                    intent.id.as_str(),
                    asset.asset_id.as_str(),
                    asset.value_hint()?,
                ))
            })
        })
        .collect();
    // Stable: one intent's assets keep their offer order.
    hints.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (_, asset_id, value) in hints {
        merged.insert(asset_id.to_owned(), value);
    }
    merged.extend(requested);
    merged
}

/// Asset values as the engine reads them.
pub fn engine_values(values: &BTreeMap<String, serde_json::Number>) -> AssetValues<'_> {
    let mut engine = AssetValues::with_capacity_and_hasher(values.len(), FixedState::default());
    engine.extend(
        values
            .iter()
            .filter_map(|(asset_id, value)| Some((asset_id.as_str(), value.as_f64()?))),
    );
    engine
}

/// Greedy disjoint pick over ranked candidates: take one when it shares no intent with one
/// already taken. Returns indexes into `ranked`, in order.
pub fn select_greedy(node_count: usize, ranked: &[Candidate]) -> Vec<usize> {
    selection::greedy(
        node_count,
        ranked.iter().map(|candidate| candidate.cycle.nodes()),
    )
}

#[cfg(test)]
mod tests {
    use super::super::types::{Platform, WantClause};
    use super::*;
    use serde_json::{Value, json};

    /// The worked example of spec section 9, from the same fixture file the M111 milestone seeds.
    /// Its intents and its asset values (as a run merges them, before [`engine_values`]).
    fn worked_example() -> (Vec<SwapIntent>, BTreeMap<String, serde_json::Number>) {
        let fixture: Value = serde_json::from_str(include_str!(
            "../../../../fixtures/swap/worked-example.json"
        ))
        .unwrap();
        let intents = serde_json::from_value(fixture["intents"].clone()).unwrap();
        let values = serde_json::from_value(fixture["asset_values_usd"].clone()).unwrap();
        (intents, values)
    }

    fn intent(
        id: &str,
        offers: &[&str],
        wants: &[&str],
        band: (f64, f64),
        max_len: u8,
    ) -> SwapIntent {
        serde_json::from_value(json!({
            "id": id,
            "actor": {"type": "user", "id": format!("u_{id}")},
            "offer": offers.iter().map(|a| json!({"platform": "steam", "asset_id": a})).collect::<Vec<_>>(),
            "want_spec": {"type": "set", "any_of": wants.iter().map(|a| json!({"type": "specific_asset", "platform": "steam", "asset_key": format!("steam:{a}")})).collect::<Vec<_>>()},
            "value_band": {"min_usd": band.0, "max_usd": band.1, "pricing_source": "test"},
            "trust_constraints": {"max_cycle_length": max_len, "min_counterparty_reliability": 0},
            "time_constraints": {"expires_at": "2026-03-01T00:00:00Z"},
            "settlement_preferences": {"require_escrow": false}
        }))
        .unwrap()
    }

    fn values<'a>(pairs: &[(&'a str, f64)]) -> AssetValues<'a> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn worked_example_matches_the_spec_exactly() {
        let (intents, merged) = worked_example();
        let vals = engine_values(&merged);
        let outcome = run(&intents, &vals);
        assert_eq!(outcome.stats.intents_active, 6);
        assert_eq!(outcome.stats.edges, 7);
        assert_eq!(outcome.stats.candidate_cycles, 3);
        assert_eq!(outcome.stats.candidate_proposals, 3);
        assert_eq!(outcome.stats.selected_proposals, 2);
        let ids: Vec<&[String]> = outcome
            .selected
            .iter()
            .map(|p| p.intent_ids.as_slice())
            .collect();
        assert_eq!(
            ids,
            [
                &["intent_d", "intent_e"][..],
                &["intent_a", "intent_b", "intent_c"][..]
            ]
        );
        assert_eq!(outcome.selected[0].id, "cycle_961f2288e6f7");
        assert_eq!(outcome.selected[0].confidence_score, 0.8804);
        assert_eq!(outcome.selected[1].confidence_score, 0.8302);
        assert_eq!(outcome.selected[0].value_spread, 0.0196);
        assert_eq!(
            outcome.selected[0].explainability,
            [
                "All wants satisfied within explicit constraints",
                "cycle_length=2",
                "value_spread=0.0196",
                "confidence_score=0.8804"
            ]
        );
        let fees: Vec<f64> = outcome.selected[0]
            .fee_breakdown
            .iter()
            .map(|f| f.fee_usd.0)
            .collect();
        assert_eq!(fees, [0.51, 0.5]);
        assert_eq!(outcome.selected[0].expires_at, "2026-03-01T00:00:00Z");
    }

    #[test]
    fn the_conflicting_third_cycle_is_ranked_but_not_selected() {
        let (intents, merged) = worked_example();
        let vals = engine_values(&merged);
        let graph = Graph::build(&intents, &vals);
        let candidates = graph.candidates(&graph.cycles());
        let scores: Vec<f64> = candidates
            .ranked
            .iter()
            .map(|c| c.confidence_score)
            .collect();
        assert_eq!(scores, [0.8804, 0.8302, 0.6192]);
        assert_eq!(
            graph.intent_ids(&candidates.ranked[2]),
            ["intent_a", "intent_b", "intent_f"]
        );
        assert_eq!(
            select_greedy(graph.node_count(), &candidates.ranked),
            [0, 1]
        );
    }

    #[test]
    fn category_wants_match_metadata_category_exactly() {
        let mut a = intent("a", &["x"], &[], (0.0, 100.0), 2);
        a.want_spec.any_of = vec![WantClause::Category {
            platform: Platform::Steam,
            app_id: super::super::types::AppId::Number(730),
            category: "knife".into(),
            constraints: None,
        }];
        let mut b = intent("b", &["y"], &["x"], (0.0, 100.0), 2);
        b.offer[0].metadata = Some(json!({"category": "knife"}).as_object().unwrap().clone());
        let mut c = intent("c", &["z"], &["x"], (0.0, 100.0), 2);
        c.offer[0].metadata = Some(json!({"category": "Knife"}).as_object().unwrap().clone());
        let outcome = run(
            &[a, b, c],
            &values(&[("x", 10.0), ("y", 10.0), ("z", 10.0)]),
        );
        // a wants knives: only b's offer is one (c's category differs in case). b and c want x.
        assert_eq!(outcome.stats.edges, 3);
        assert_eq!(outcome.selected.len(), 1);
        assert_eq!(outcome.selected[0].intent_ids, ["a", "b"]);
    }

    #[test]
    fn value_bands_are_inclusive_at_both_ends() {
        let lower = [
            intent("a", &["x"], &["y"], (50.0, 60.0), 2),
            intent("b", &["y"], &["x"], (40.0, 50.0), 2),
        ];
        let outcome = run(&lower, &values(&[("x", 50.0), ("y", 50.0)]));
        assert_eq!(
            outcome.stats.edges, 2,
            "v == min and v == max are both inside"
        );
        let outside = run(&lower, &values(&[("x", 50.0), ("y", 60.01)]));
        assert_eq!(outside.stats.edges, 1);
        assert_eq!(outside.stats.candidate_cycles, 0);
    }

    #[test]
    fn max_cycle_length_drops_a_three_cycle() {
        let intents = [
            intent("a", &["x"], &["y"], (0.0, 100.0), 3),
            intent("b", &["y"], &["z"], (0.0, 100.0), 2),
            intent("c", &["z"], &["x"], (0.0, 100.0), 3),
        ];
        let outcome = run(&intents, &values(&[("x", 10.0), ("y", 10.0), ("z", 10.0)]));
        assert_eq!(outcome.stats.candidate_cycles, 1);
        assert_eq!(outcome.stats.candidate_proposals, 0);
        assert_eq!(outcome.diagnostics.cycles_dropped_max_length, 1);
        assert!(outcome.selected.is_empty());
    }

    #[test]
    fn a_missing_value_skips_the_edge_and_is_counted() {
        let intents = [
            intent("a", &["x"], &["y"], (0.0, 100.0), 2),
            intent("b", &["y"], &["x"], (0.0, 100.0), 2),
        ];
        let outcome = run(&intents, &values(&[("x", 10.0)]));
        assert_eq!(outcome.stats.edges, 1);
        assert_eq!(outcome.diagnostics.edges_skipped_missing_value, 1);
        assert_eq!(outcome.stats.candidate_cycles, 0);
    }

    #[test]
    fn partner_and_cancelled_intents_are_left_out() {
        let mut partner = intent("b", &["y"], &["x"], (0.0, 100.0), 2);
        partner.actor.kind = ActorType::Partner;
        let mut cancelled = intent("c", &["y"], &["x"], (0.0, 100.0), 2);
        cancelled.status = IntentStatus::Cancelled;
        let a = intent("a", &["x"], &["y"], (0.0, 100.0), 2);
        let outcome = run(
            &[a.clone(), partner, cancelled],
            &values(&[("x", 10.0), ("y", 10.0)]),
        );
        assert_eq!(outcome.stats.intents_active, 1);
        assert_eq!(outcome.stats.edges, 0);
        let mut user_b = intent("b", &["y"], &["x"], (0.0, 100.0), 2);
        user_b.actor.kind = ActorType::User;
        let outcome = run(&[a, user_b], &values(&[("x", 10.0), ("y", 10.0)]));
        assert_eq!(outcome.stats.selected_proposals, 1);
    }

    #[test]
    fn the_same_node_set_in_the_other_direction_is_another_cycle() {
        // a, b, c all want each other's assets: both a>b>c and a>c>b exist, plus three 2-cycles.
        let intents = [
            intent("a", &["x"], &["y", "z"], (0.0, 100.0), 3),
            intent("b", &["y"], &["x", "z"], (0.0, 100.0), 3),
            intent("c", &["z"], &["x", "y"], (0.0, 100.0), 3),
        ];
        let outcome = run(&intents, &values(&[("x", 10.0), ("y", 10.0), ("z", 10.0)]));
        assert_eq!(outcome.stats.edges, 6);
        assert_eq!(outcome.stats.candidate_cycles, 5);
        assert_eq!(
            outcome.stats.selected_proposals, 1,
            "every candidate shares an intent with a 2-cycle"
        );
    }

    #[test]
    fn whole_fee_values_stay_integers() {
        let intents = [
            intent("a", &["x"], &["y"], (0.0, 1000.0), 2),
            intent("b", &["y"], &["x"], (0.0, 1000.0), 2),
        ];
        let outcome = run(&intents, &values(&[("x", 100.0), ("y", 100.0)]));
        let fees = serde_json::to_string(&outcome.selected[0].fee_breakdown).unwrap();
        assert!(fees.contains(r#""fee_usd":1}"#), "{fees}");
        assert_eq!(outcome.selected[0].explainability[2], "value_spread=0");
    }
}
