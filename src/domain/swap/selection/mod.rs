//! Choosing which candidate proposals to keep: the contract's greedy pick, or an optimal one.
//!
//! Every candidate is a set of 2 or 3 intents with a confidence score; a selection is a set of
//! pairwise disjoint candidates. Greedy (the M111 contract) takes them in score order and skips
//! conflicts. Optimal maximises the total score (or the number of matched intents, ties broken by
//! score) and says how close to the best possible it got:
//!
//! - the candidates split into conflict components (candidates linked by shared intents),
//!   solved independently and in parallel (largest first): the answer does not depend on the
//!   number of threads;
//! - in each component, a Lagrangian relaxation gives an upper bound and reduced costs. It
//!   dualises the "each intent at most once" rows and, when the budget affords them, odd-set
//!   rows that every disjoint selection keeps but the LP relaxation does not (`rows`): clique
//!   rows over intent triples, and odd rings of five or seven intents separated from the
//!   relaxation's own fractional solution. Its multipliers come from accelerated gradient
//!   steps on a smoothed dual. At its limit the bound is the LP relaxation's over all those
//!   rows, tighter than the plain LP's by about half of the LP's excess over the optimum;
//! - two searches start side by side from greedy picks in two orders: the relaxation's averaged
//!   solution and the reduced costs at the best bound; each improves by large-neighbourhood
//!   search: a window of up to 64 candidates around a chosen one is re-solved exactly while the
//!   rest stays fixed, until no window improves or the budget is spent;
//! - components of at most 64 candidates are settled exactly by branch and bound;
//! - the result is never worse than greedy's: a search is kept only when it beats greedy's
//!   choice in the component.
//!
//! All the work is counted in deterministic units (candidate and intent visits) and the budget
//! in units comes from `max_solve_ms`, so the same input and parameters always give the same
//! selection, on any machine and any number of threads. Weights are integers (scores are
//! rounded to 4 decimals), so comparisons are exact; only the bound is a float.

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::json::{JsNumber, round_to};

mod components;
mod dual;
mod exact;
mod rows;
mod search;
mod transpose;

use components::{Component, Solved, components};

/// Work units a millisecond of budget buys: calibrated on the project machine (release build,
/// one core), where every phase does about this many units per millisecond. A budget of
/// `max_solve_ms` is about that much CPU time; the wall time is lower on several cores, since
/// components and the two search starts of a component run side by side.
const UNITS_PER_MS: u64 = 100_000;
/// Components and search windows up to this many candidates are solved exactly (bit masks).
const EXACT_LIMIT: usize = 64;
/// Marks a free intent.
const FREE: u32 = u32::MAX;

/// How to choose.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Score order, skip conflicts: the M111 contract.
    #[default]
    Greedy,
    /// A maximum-weight disjoint selection, with a bound on how far from optimal it is.
    Optimal,
}

/// What to maximise.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The total confidence score.
    #[default]
    Score,
    /// The number of matched intents; ties broken by score.
    Intents,
}

/// One candidate as the selection sees it. Candidates are given in the contract's order (score
/// descending, then proposal id), which also breaks every tie here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    nodes: [u32; 3],
    len: u8,
    /// The confidence score in units of 0.0001.
    score: i64,
}

impl Item {
    /// A candidate over 2 or 3 intents (graph nodes) with a score rounded to 4 decimals.
    pub fn new(nodes: &[u32], score: f64) -> Item {
        let mut array = [0u32; 3];
        let len = nodes.len().min(3);
        array[..len].copy_from_slice(&nodes[..len]);
        #[allow(clippy::cast_possible_truncation)]
        Item {
            nodes: array,
            len: len as u8,
            score: (score * 10_000.0).round() as i64,
        }
    }

    fn nodes(&self) -> &[u32] {
        &self.nodes[..usize::from(self.len)]
    }
}

/// How the selection went, for the run record and the benchmark.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectionReport {
    pub strategy: Strategy,
    pub objective: Objective,
    /// The objective's value: the total score, or the number of matched intents.
    pub value: JsNumber,
    /// No disjoint selection does better than this. Per component: the value of one solved
    /// exactly, or a Lagrangian bound over the intent rows and, budget permitting, clique and
    /// odd-ring rows (at best the LP relaxation's over those rows, tighter than the plain LP's).
    pub upper_bound: JsNumber,
    /// `(upper_bound - value) / upper_bound`, 0 when both are 0.
    pub gap: JsNumber,
    /// The value is proven to be the best possible.
    pub proven_optimal: bool,
    /// Time spent choosing, in milliseconds: a measurement, it varies between runs.
    pub solve_ms: u64,
}

/// The chosen candidates (indexes into the input, ascending) and the report.
#[derive(Clone, Debug)]
pub struct Selection {
    pub picked: Vec<usize>,
    pub report: SelectionReport,
}

/// Chooses among `items` (over `node_count` intents) as `strategy` and `objective` say, within
/// a work budget derived from `max_solve_ms`.
pub fn select(
    node_count: usize,
    items: &[Item],
    strategy: Strategy,
    objective: Objective,
    max_solve_ms: u64,
) -> Selection {
    let started = Instant::now();
    let greedy = greedy(node_count, items.iter().map(Item::nodes));
    let budget = max_solve_ms.saturating_mul(UNITS_PER_MS);
    let components = components(node_count, items);
    let total_items = items.len().max(1) as u128;

    // Each component gets a share of the budget in proportion to its size, fixed before any is
    // solved, so that the answer depends neither on the order nor on the threads.
    // Largest first, each its own task: the large components (which hold the lowest item
    // indexes) then run side by side rather than one after another on one thread.
    let mut by_size: Vec<usize> = (0..components.len()).collect();
    by_size.sort_by_key(|&c| (std::cmp::Reverse(components[c].len()), c));
    let mut solved: Vec<(usize, Solved)> = by_size
        .par_iter()
        .with_max_len(1)
        .map(|&c| {
            let members = &components[c];
            let share = (u128::from(budget) * members.len() as u128 / total_items) as u64;
            let solved = Component::new(items, members, objective).solve(
                strategy,
                &greedy,
                share.max(20_000),
            );
            (c, solved)
        })
        .collect();
    solved.sort_by_key(|(c, _)| *c);
    let solved: Vec<Solved> = solved.into_iter().map(|(_, s)| s).collect();

    let mut picked: Vec<usize> = solved
        .iter()
        .flat_map(|s| s.picked.iter().copied())
        .collect();
    picked.sort_unstable();
    let proven = solved.iter().all(|s| s.proven);
    let upper: f64 = solved.iter().map(|s| s.upper_bound).sum();
    let value = primary_value(items, &picked, objective);
    let upper_bound = if proven { value } else { upper.max(value) };
    let gap = if upper_bound <= 0.0 {
        0.0
    } else {
        ((upper_bound - value) / upper_bound).max(0.0)
    };
    Selection {
        picked,
        report: SelectionReport {
            strategy,
            objective,
            value: JsNumber(round_to(value, 4)),
            upper_bound: JsNumber(round_to(upper_bound, 4)),
            gap: JsNumber(round_to(gap, 6)),
            proven_optimal: proven,
            solve_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
    }
}

/// The objective's value of a selection.
pub fn primary_value(items: &[Item], picked: &[usize], objective: Objective) -> f64 {
    match objective {
        Objective::Score => picked.iter().map(|&i| items[i].score).sum::<i64>() as f64 / 10_000.0,
        Objective::Intents => picked
            .iter()
            .map(|&i| usize::from(items[i].len))
            .sum::<usize>() as f64,
    }
}

/// Greedy in the given order (the M111 contract's pick): take a candidate, given by its intents
/// (graph nodes), when it shares no intent with one taken. Returns the indexes taken, in order.
pub fn greedy<'a>(node_count: usize, candidates: impl Iterator<Item = &'a [u32]>) -> Vec<usize> {
    let mut taken = vec![false; node_count];
    let mut picked = Vec::new();
    for (index, nodes) in candidates.enumerate() {
        if nodes.iter().any(|&n| taken[n as usize]) {
            continue;
        }
        for &n in nodes {
            taken[n as usize] = true;
        }
        picked.push(index);
    }
    picked
}

/// A deterministic work budget.
struct Work {
    left: u64,
}

impl Work {
    /// Takes `units`; false when the budget is spent.
    fn spend(&mut self, units: u64) -> bool {
        if self.left < units {
            self.left = 0;
            return false;
        }
        self.left -= units;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exhaustive(node_count: usize, items: &[Item], objective: Objective) -> f64 {
        let n = items.len();
        let mut best = 0.0f64;
        for mask in 0u32..(1 << n) {
            let picked: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let mut used = vec![false; node_count];
            let feasible = picked.iter().all(|&i| {
                items[i]
                    .nodes()
                    .iter()
                    .all(|&node| !std::mem::replace(&mut used[node as usize], true))
            });
            if feasible {
                best = best.max(primary_value(items, &picked, objective));
            }
        }
        best
    }

    fn disjoint(items: &[Item], picked: &[usize]) -> bool {
        let mut used = std::collections::BTreeSet::new();
        picked
            .iter()
            .all(|&i| items[i].nodes().iter().all(|n| used.insert(*n)))
    }

    #[test]
    fn greedy_is_provably_worse_here() {
        // a=0 b=1 c=2 d=3: {a,b} 0.9, {a,c} 0.89, {b,d} 0.89.
        let items = [
            Item::new(&[0, 1], 0.9),
            Item::new(&[0, 2], 0.89),
            Item::new(&[1, 3], 0.89),
        ];
        let greedy = select(4, &items, Strategy::Greedy, Objective::Score, 500);
        assert_eq!(greedy.picked, [0]);
        assert_eq!(greedy.report.value.0, 0.9);
        assert_eq!(
            greedy.report.upper_bound.0, 1.78,
            "the exact optimum bounds greedy"
        );
        assert!(!greedy.report.proven_optimal);
        let optimal = select(4, &items, Strategy::Optimal, Objective::Score, 500);
        assert_eq!(optimal.picked, [1, 2]);
        assert_eq!(optimal.report.value.0, 1.78);
        assert!(optimal.report.proven_optimal);
        assert_eq!(optimal.report.gap.0, 0.0);
    }

    /// A small deterministic generator, for instances.
    fn instance(seed: u64, nodes: u32, count: usize) -> Vec<Item> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        };
        let mut items = Vec::new();
        while items.len() < count {
            let len = 2 + (next() % 2) as usize;
            let mut picked: Vec<u32> = Vec::new();
            while picked.len() < len {
                let node = next() % nodes;
                if !picked.contains(&node) {
                    picked.push(node);
                }
            }
            let score = f64::from(5000 + next() % 4000) / 10_000.0;
            items.push(Item::new(&picked, score));
        }
        items.sort_by_key(|item| std::cmp::Reverse(item.score));
        items
    }

    #[test]
    fn optimal_equals_exhaustive_search_on_small_instances() {
        for seed in 0..40 {
            let items = instance(seed, 12, 14);
            for objective in [Objective::Score, Objective::Intents] {
                let best = exhaustive(12, &items, objective);
                let solved = select(12, &items, Strategy::Optimal, objective, 500);
                assert!(disjoint(&items, &solved.picked), "seed {seed}");
                let value = primary_value(&items, &solved.picked, objective);
                assert!(
                    (value - best).abs() < 1e-9,
                    "seed {seed} {objective:?}: {value} vs {best}"
                );
                assert!(solved.report.proven_optimal, "seed {seed}");
            }
        }
    }

    #[test]
    fn the_bound_is_never_below_the_value_and_selections_are_disjoint() {
        for seed in 0..10 {
            let items = instance(seed, 400, 900);
            for strategy in [Strategy::Greedy, Strategy::Optimal] {
                for objective in [Objective::Score, Objective::Intents] {
                    let solved = select(400, &items, strategy, objective, 200);
                    assert!(disjoint(&items, &solved.picked));
                    assert!(solved.report.upper_bound.0 + 1e-9 >= solved.report.value.0);
                    assert!(solved.report.gap.0 >= 0.0);
                }
            }
            let greedy = select(400, &items, Strategy::Greedy, Objective::Score, 200);
            for budget in [1, 200] {
                let optimal = select(400, &items, Strategy::Optimal, Objective::Score, budget);
                assert!(
                    optimal.report.value.0 >= greedy.report.value.0,
                    "never worse than greedy, even when the budget runs out at once"
                );
            }
        }
    }

    /// The dual's bound on all of `items` as one component, with budget to spare.
    fn dual_bound(items: &[Item], objective: Objective) -> f64 {
        let all: Vec<usize> = (0..items.len()).collect();
        let component = Component::new(items, &all, objective);
        component.dual(&mut Work { left: 1 << 40 }, 0.0).0
    }

    #[test]
    fn the_dual_bound_with_its_extra_rows_is_never_below_the_optimum() {
        for seed in 0..40 {
            let items = instance(seed, 12, 16);
            for objective in [Objective::Score, Objective::Intents] {
                let best = exhaustive(12, &items, objective);
                let bound = dual_bound(&items, objective);
                assert!(
                    bound + 1e-9 >= best,
                    "seed {seed} {objective:?}: {bound} < {best}"
                );
            }
        }
    }

    #[test]
    fn clique_and_ring_rows_cut_below_the_lp_bound() {
        // Three pairs around a triangle: the LP takes 1/2 of each (1.35), a selection one (0.9).
        let triangle = [
            Item::new(&[0, 1], 0.9),
            Item::new(&[1, 2], 0.9),
            Item::new(&[0, 2], 0.9),
        ];
        let bound = dual_bound(&triangle, Objective::Score);
        assert!((0.9 - 1e-9..1.0).contains(&bound), "{bound}");
        // Five pairs around a ring: the LP takes 1/2 of each (2.25), a selection two (1.8). The
        // ring's row is separated from step 40 on; the steps that follow, sized for large
        // components, bring the bound most of the way down.
        let ring: Vec<Item> = (0..5).map(|i| Item::new(&[i, (i + 1) % 5], 0.9)).collect();
        let bound = dual_bound(&ring, Objective::Score);
        assert!((1.8 - 1e-9..2.1).contains(&bound), "{bound}");
    }

    #[test]
    fn the_answer_does_not_depend_on_the_budget_once_proven() {
        let items = instance(7, 30, 40);
        let a = select(30, &items, Strategy::Optimal, Objective::Score, 100);
        let b = select(30, &items, Strategy::Optimal, Objective::Score, 5_000);
        if a.report.proven_optimal && b.report.proven_optimal {
            assert_eq!(a.report.value, b.report.value);
        }
        let again = select(30, &items, Strategy::Optimal, Objective::Score, 100);
        assert_eq!(a.picked, again.picked, "deterministic");
    }

    #[test]
    fn intents_objective_prefers_more_intents_then_score() {
        // One triple (3 intents, 0.6) against a pair (2 intents, 0.9) on the same intents.
        let items = [Item::new(&[0, 1], 0.9), Item::new(&[0, 1, 2], 0.6)];
        let by_score = select(3, &items, Strategy::Optimal, Objective::Score, 100);
        assert_eq!(by_score.picked, [0]);
        let by_intents = select(3, &items, Strategy::Optimal, Objective::Intents, 100);
        assert_eq!(by_intents.picked, [1]);
        assert_eq!(by_intents.report.value.0, 3.0);
    }
}
