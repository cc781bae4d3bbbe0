//! Choosing which candidate proposals to keep: the contract's greedy pick, or an optimal one.
//!
//! Every candidate is a set of 2 or 3 intents with a confidence score; a selection is a set of
//! pairwise disjoint candidates. Greedy (the M111 contract) takes them in score order and skips
//! conflicts. Optimal maximises the total score (or the number of matched intents, ties broken by
//! score) and proves how close it got:
//!
//! - the candidates split into conflict components (candidates linked by shared intents), solved
//!   independently, so the answer does not depend on the number of threads;
//! - in each component a Lagrangian relaxation of the "each intent at most once" constraints,
//!   driven by subgradient steps, gives an upper bound (the LP bound at its limit) and reduced
//!   costs; greedy picks in reduced-cost order, improved by local search (add one candidate and
//!   drop what it conflicts with; eject one and refill what it freed), give the selections;
//! - small components are settled exactly by branch and bound;
//! - the best selection is never worse than greedy's, because greedy's is one of those tried.
//!
//! All the work is counted in deterministic units (candidate and intent visits), and the budget
//! in units is derived from `max_solve_ms`, so the same input and parameters always give the
//! same selection, on any machine and any number of threads. Weights are integers (scores are
//! rounded to 4 decimals), so optimality is decided exactly; only the bound is a float.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Work units a millisecond of budget buys: calibrated on the project machine so that a
/// budget of `max_solve_ms` takes well under that much time.
const UNITS_PER_MS: u64 = 150_000;
/// Components up to this many candidates are settled exactly.
const EXACT_LIMIT: usize = 40;
/// Branch-and-bound nodes allowed for one small component.
const EXACT_NODES: u64 = 200_000;
/// Subgradient steps at most, per component.
const MAX_SUBGRADIENT_STEPS: usize = 400;

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
    pub value: crate::json::JsNumber,
    /// No disjoint selection can do better than this (a Lagrangian, LP-strength bound).
    pub upper_bound: crate::json::JsNumber,
    /// `(upper_bound - value) / upper_bound`, 0 when both are 0.
    pub gap: crate::json::JsNumber,
    /// The value is proven to be the best possible.
    pub proven_optimal: bool,
    /// Time spent choosing, in milliseconds (a measurement: it varies between runs).
    pub solve_ms: u64,
}

/// The chosen candidates (indexes into the input, ascending) and the report.
#[derive(Clone, Debug)]
pub struct Selection {
    pub picked: Vec<usize>,
    pub report: SelectionReport,
}

/// Chooses among `items` (over `node_count` intents) as `strategy` and `objective` say, within a
/// work budget derived from `max_solve_ms`.
pub fn select(
    node_count: usize,
    items: &[Item],
    strategy: Strategy,
    objective: Objective,
    max_solve_ms: u64,
) -> Selection {
    let started = Instant::now();
    let greedy = greedy(node_count, items);
    let budget = max_solve_ms.saturating_mul(UNITS_PER_MS);
    let components = components(node_count, items);
    let total_items: usize = components.iter().map(Vec::len).sum::<usize>().max(1);

    let mut picked = Vec::new();
    let mut upper = 0.0;
    let mut proven = true;
    for component in &components {
        // Each component gets a share of the budget in proportion to its size, so that the
        // split does not depend on the order the components are solved in.
        let share = (budget as u128 * component.len() as u128 / total_items as u128) as u64;
        let solved =
            Component::new(items, component, objective).solve(strategy, &greedy, share.max(10_000));
        picked.extend(solved.picked);
        upper += solved.upper_bound;
        proven &= solved.proven;
    }
    picked.sort_unstable();

    let value = primary_value(items, &picked, objective);
    // The bound of a proven component is its value; float sums may still drift by a hair.
    let upper_bound = if proven { value } else { upper.max(value) };
    let gap = if upper_bound <= 0.0 {
        0.0
    } else {
        (upper_bound - value) / upper_bound
    };
    let decimals = match objective {
        Objective::Score => 4,
        Objective::Intents => 0,
    };
    Selection {
        picked,
        report: SelectionReport {
            strategy,
            objective,
            value: crate::json::JsNumber(crate::json::round_to(value, decimals)),
            upper_bound: crate::json::JsNumber(crate::json::round_to(upper_bound, 4)),
            gap: crate::json::JsNumber(crate::json::round_to(gap.max(0.0), 6)),
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

/// Greedy in the given order: take an item when it shares no intent with one taken.
pub fn greedy(node_count: usize, items: &[Item]) -> Vec<usize> {
    let mut taken = vec![false; node_count];
    let mut picked = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if item.nodes().iter().any(|&n| taken[n as usize]) {
            continue;
        }
        for &n in item.nodes() {
            taken[n as usize] = true;
        }
        picked.push(index);
    }
    picked
}

/// Items grouped by conflict component, each group ascending; groups ordered by first item.
fn components(node_count: usize, items: &[Item]) -> Vec<Vec<usize>> {
    let mut parent: Vec<u32> = (0..u32::try_from(items.len()).unwrap_or(u32::MAX)).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    let mut owner: Vec<u32> = vec![u32::MAX; node_count];
    for (index, item) in items.iter().enumerate() {
        let index = index as u32;
        for &n in item.nodes() {
            let first = owner[n as usize];
            if first == u32::MAX {
                owner[n as usize] = index;
            } else {
                let (a, b) = (find(&mut parent, first), find(&mut parent, index));
                if a != b {
                    // The smaller root wins, so that roots are each group's first item.
                    let (low, high) = if a < b { (a, b) } else { (b, a) };
                    parent[high as usize] = low;
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut slot: Vec<u32> = vec![u32::MAX; items.len()];
    for index in 0..items.len() {
        let root = find(&mut parent, index as u32) as usize;
        if slot[root] == u32::MAX {
            slot[root] = groups.len() as u32;
            groups.push(Vec::new());
        }
        groups[slot[root] as usize].push(index);
    }
    groups
}

/// One conflict component, renumbered densely.
struct Component {
    /// Global item indexes, ascending (the contract's order).
    global: Vec<usize>,
    /// Local node ids of each item.
    nodes: Vec<[u32; 3]>,
    lens: Vec<u8>,
    /// The objective's own weight (the bound is on this).
    primary: Vec<f64>,
    /// The weight the search maximises: the objective, then score, as one integer.
    weight: Vec<i64>,
    /// Items of each local node.
    node_items: Vec<Vec<u32>>,
}

struct Solved {
    picked: Vec<usize>,
    upper_bound: f64,
    proven: bool,
}

impl Component {
    fn new(items: &[Item], global: &[usize], objective: Objective) -> Component {
        let mut local_of = std::collections::HashMap::new();
        let mut node_items: Vec<Vec<u32>> = Vec::new();
        let mut nodes = Vec::with_capacity(global.len());
        let mut lens = Vec::with_capacity(global.len());
        let score_total: i64 = global.iter().map(|&g| items[g].score.max(0)).sum();
        let mut primary = Vec::with_capacity(global.len());
        let mut weight = Vec::with_capacity(global.len());
        for (local, &g) in global.iter().enumerate() {
            let item = &items[g];
            let mut mapped = [0u32; 3];
            for (slot, &n) in item.nodes().iter().enumerate() {
                let next = local_of.len() as u32;
                let id = *local_of.entry(n).or_insert(next);
                if id as usize == node_items.len() {
                    node_items.push(Vec::new());
                }
                node_items[id as usize].push(local as u32);
                mapped[slot] = id;
            }
            nodes.push(mapped);
            lens.push(item.len);
            match objective {
                Objective::Score => {
                    primary.push(item.score as f64 / 10_000.0);
                    weight.push(item.score);
                }
                Objective::Intents => {
                    primary.push(f64::from(item.len));
                    weight.push(i64::from(item.len) * (score_total + 1) + item.score.max(0));
                }
            }
        }
        Component {
            global: global.to_vec(),
            nodes,
            lens,
            primary,
            weight,
            node_items,
        }
    }

    fn len(&self) -> usize {
        self.global.len()
    }

    fn item_nodes(&self, item: usize) -> &[u32] {
        &self.nodes[item][..usize::from(self.lens[item])]
    }

    fn weight_of(&self, picked: &[bool]) -> i64 {
        picked
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .map(|(i, _)| self.weight[i])
            .sum()
    }

    fn solve(&self, strategy: Strategy, greedy: &[usize], budget: u64) -> Solved {
        // Greedy's choice inside this component: the baseline never to fall below.
        let mut baseline = vec![false; self.len()];
        for &g in greedy {
            if let Ok(local) = self.global.binary_search(&g) {
                baseline[local] = true;
            }
        }
        let mut work = Work::new(budget);
        if self.len() == 1 {
            let take = self.weight[0] > 0;
            return Solved {
                picked: if take {
                    vec![self.global[0]]
                } else {
                    Vec::new()
                },
                upper_bound: self.primary[0].max(0.0),
                proven: true,
            };
        }
        let mut best = baseline.clone();
        let mut best_weight = self.weight_of(&best);
        let (bound, improved) =
            self.lagrangian(&mut work, strategy == Strategy::Optimal, best_weight);
        if let Some(candidate) = improved {
            let candidate_weight = self.weight_of(&candidate);
            if candidate_weight > best_weight {
                best = candidate;
                best_weight = candidate_weight;
            }
        }
        let mut proven = false;
        if strategy == Strategy::Optimal {
            self.improve(&mut best, &mut work);
            best_weight = self.weight_of(&best);
            if self.len() <= EXACT_LIMIT
                && let Some(exact) = self.branch_and_bound(best_weight)
            {
                if self.weight_of(&exact) > best_weight {
                    best = exact;
                }
                proven = true;
            }
        } else if self.len() <= EXACT_LIMIT {
            proven = self
                .branch_and_bound(best_weight)
                .is_some_and(|exact| self.weight_of(&exact) <= best_weight);
        }
        let value: f64 = best
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .map(|(i, _)| self.primary[i])
            .sum();
        if bound - value < 1e-9 {
            proven = true;
        }
        Solved {
            picked: best
                .iter()
                .enumerate()
                .filter(|(_, p)| **p)
                .map(|(i, _)| self.global[i])
                .collect(),
            upper_bound: if proven { value } else { bound },
            proven,
        }
    }

    /// Subgradient optimisation of the Lagrangian dual; returns the best bound found and, when
    /// `search` is on, the best selection its reduced costs led to.
    fn lagrangian(
        &self,
        work: &mut Work,
        search: bool,
        incumbent: i64,
    ) -> (f64, Option<Vec<bool>>) {
        let nodes = self.node_items.len();
        // Start where every reduced cost is at most 0: the bound is the sum of multipliers.
        let mut lambda = vec![0.0f64; nodes];
        for (item, primary) in self.primary.iter().enumerate() {
            let share = primary.max(0.0) / f64::from(self.lens[item]);
            for &n in self.item_nodes(item) {
                lambda[n as usize] = lambda[n as usize].max(share);
            }
        }
        let mut best_bound = f64::INFINITY;
        let mut best_selection: Option<Vec<bool>> = None;
        let mut best_weight = incumbent;
        let mut target: f64 = 0.0;
        let mut theta = 2.0;
        let mut stale = 0;
        let mut reduced = vec![0.0f64; self.len()];
        let mut gradient = vec![0.0f64; nodes];
        for step in 0..MAX_SUBGRADIENT_STEPS {
            if !work.spend((self.len() + nodes) as u64) {
                break;
            }
            let mut bound: f64 = lambda.iter().sum();
            gradient.iter_mut().for_each(|g| *g = 1.0);
            for (item, slot) in reduced.iter_mut().enumerate() {
                let cost = self.primary[item]
                    - self
                        .item_nodes(item)
                        .iter()
                        .map(|&n| lambda[n as usize])
                        .sum::<f64>();
                *slot = cost;
                if cost > 0.0 {
                    bound += cost;
                    for &n in self.item_nodes(item) {
                        gradient[n as usize] -= 1.0;
                    }
                }
            }
            if bound < best_bound - 1e-12 {
                best_bound = bound;
                stale = 0;
            } else {
                stale += 1;
                if stale >= 15 {
                    theta /= 2.0;
                    stale = 0;
                }
            }
            if search && (step % 10 == 0) {
                let selection = self.greedy_by(&reduced, work);
                let weight = self.weight_of(&selection);
                if weight > best_weight {
                    best_weight = weight;
                    best_selection = Some(selection);
                }
                let value: f64 = best_selection
                    .as_ref()
                    .map(|s| {
                        s.iter()
                            .enumerate()
                            .filter(|(_, p)| **p)
                            .map(|(i, _)| self.primary[i])
                            .sum()
                    })
                    .unwrap_or(0.0);
                target = target.max(value);
            }
            let norm: f64 = gradient.iter().map(|g| g * g).sum();
            if norm < 1e-12 || best_bound - target < 1e-9 || theta < 1e-4 {
                break;
            }
            let t = theta * (bound - target).max(1e-6) / norm;
            for (l, g) in lambda.iter_mut().zip(&gradient) {
                *l = (*l - t * g).max(0.0);
            }
        }
        (best_bound, best_selection)
    }

    /// Greedy by a key (descending), ties by the contract's order.
    fn greedy_by(&self, key: &[f64], work: &mut Work) -> Vec<bool> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| key[b].total_cmp(&key[a]).then(a.cmp(&b)));
        work.spend(self.len() as u64);
        let mut taken = vec![false; self.node_items.len()];
        let mut picked = vec![false; self.len()];
        for item in order {
            if self.weight[item] <= 0 || self.item_nodes(item).iter().any(|&n| taken[n as usize]) {
                continue;
            }
            for &n in self.item_nodes(item) {
                taken[n as usize] = true;
            }
            picked[item] = true;
        }
        self.improve(&mut picked, work);
        picked
    }

    /// Local search until no move improves: add an item and drop what it conflicts with; eject
    /// an item and refill the intents it freed.
    fn improve(&self, picked: &mut [bool], work: &mut Work) {
        let nodes = self.node_items.len();
        let mut holder = vec![u32::MAX; nodes];
        for (item, _) in picked.iter().enumerate().filter(|(_, p)| **p) {
            for &n in self.item_nodes(item) {
                holder[n as usize] = item as u32;
            }
        }
        loop {
            if !work.spend(self.len() as u64 * 2) {
                return;
            }
            let mut changed = false;
            // Add one, drop its conflicts.
            for item in 0..self.len() {
                if picked[item] || self.weight[item] <= 0 {
                    continue;
                }
                let mut conflicts: Vec<u32> = self
                    .item_nodes(item)
                    .iter()
                    .map(|&n| holder[n as usize])
                    .filter(|&h| h != u32::MAX)
                    .collect();
                conflicts.sort_unstable();
                conflicts.dedup();
                let lost: i64 = conflicts.iter().map(|&c| self.weight[c as usize]).sum();
                if self.weight[item] > lost {
                    for &c in &conflicts {
                        self.set(picked, &mut holder, c as usize, false);
                    }
                    self.set(picked, &mut holder, item, true);
                    changed = true;
                }
            }
            // Eject one, refill what it freed.
            for item in 0..self.len() {
                if !picked[item] {
                    continue;
                }
                self.set(picked, &mut holder, item, false);
                let mut refill: Vec<usize> = self
                    .item_nodes(item)
                    .iter()
                    .flat_map(|&n| self.node_items[n as usize].iter().map(|&c| c as usize))
                    .filter(|&c| c != item && self.weight[c] > 0)
                    .collect();
                refill.sort_by(|&a, &b| self.weight[b].cmp(&self.weight[a]).then(a.cmp(&b)));
                refill.dedup();
                let mut added = Vec::new();
                let mut gained = 0;
                for candidate in refill {
                    if self
                        .item_nodes(candidate)
                        .iter()
                        .all(|&n| holder[n as usize] == u32::MAX)
                    {
                        self.set(picked, &mut holder, candidate, true);
                        added.push(candidate);
                        gained += self.weight[candidate];
                    }
                }
                if gained > self.weight[item] {
                    changed = true;
                } else {
                    for candidate in added {
                        self.set(picked, &mut holder, candidate, false);
                    }
                    self.set(picked, &mut holder, item, true);
                }
            }
            if !changed {
                return;
            }
        }
    }

    fn set(&self, picked: &mut [bool], holder: &mut [u32], item: usize, on: bool) {
        picked[item] = on;
        for &n in self.item_nodes(item) {
            holder[n as usize] = if on { item as u32 } else { u32::MAX };
        }
    }

    /// Exact search for a component of at most [`EXACT_LIMIT`] items, better than
    /// `incumbent`; `None` when the node budget ran out before it finished.
    fn branch_and_bound(&self, incumbent: i64) -> Option<Vec<bool>> {
        let n = self.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| self.weight[b].cmp(&self.weight[a]).then(a.cmp(&b)));
        let position: Vec<usize> = {
            let mut position = vec![0; n];
            for (p, &item) in order.iter().enumerate() {
                position[item] = p;
            }
            position
        };
        // Conflicts as bit masks over positions in `order`.
        let mut conflicts = vec![0u64; n];
        for (p, &item) in order.iter().enumerate() {
            for &node in self.item_nodes(item) {
                for &other in &self.node_items[node as usize] {
                    let q = position[other as usize];
                    if q != p {
                        conflicts[p] |= 1 << q;
                    }
                }
            }
        }
        let weights: Vec<i64> = order.iter().map(|&item| self.weight[item].max(0)).collect();
        let mut suffix = vec![0i64; n + 1];
        for p in (0..n).rev() {
            suffix[p] = suffix[p + 1] + weights[p];
        }
        struct Search<'a> {
            conflicts: &'a [u64],
            weights: &'a [i64],
            suffix: &'a [i64],
            best: i64,
            best_mask: u64,
            nodes: u64,
        }
        fn dfs(s: &mut Search<'_>, p: usize, chosen: u64, blocked: u64, value: i64) -> bool {
            s.nodes += 1;
            if s.nodes > EXACT_NODES {
                return false;
            }
            if value > s.best {
                s.best = value;
                s.best_mask = chosen;
            }
            if p == s.weights.len() || value + s.suffix[p] <= s.best {
                return true;
            }
            if blocked & (1 << p) == 0 && s.weights[p] > 0 {
                let ok = dfs(
                    s,
                    p + 1,
                    chosen | (1 << p),
                    blocked | s.conflicts[p],
                    value + s.weights[p],
                );
                if !ok {
                    return false;
                }
            }
            dfs(s, p + 1, chosen, blocked, value)
        }
        let mut search = Search {
            conflicts: &conflicts,
            weights: &weights,
            suffix: &suffix,
            best: incumbent,
            best_mask: 0,
            nodes: 0,
        };
        if !dfs(&mut search, 0, 0, 0, 0) {
            return None;
        }
        if search.best_mask == 0 {
            // Nothing beat the incumbent: the incumbent is optimal; the caller keeps it.
            return Some(vec![false; n]);
        }
        let mut picked = vec![false; n];
        for (p, &item) in order.iter().enumerate() {
            if search.best_mask & (1 << p) != 0 {
                picked[item] = true;
            }
        }
        Some(picked)
    }
}

/// A deterministic work budget.
struct Work {
    left: u64,
}

impl Work {
    fn new(budget: u64) -> Work {
        Work { left: budget }
    }

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
        assert!(greedy.report.upper_bound.0 >= 1.78 - 1e-9);
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
            let optimal = select(400, &items, Strategy::Optimal, Objective::Score, 200);
            assert!(
                optimal.report.value.0 >= greedy.report.value.0,
                "never worse than greedy"
            );
        }
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
