//! The rows of the relaxation that bounds a component: inequalities every disjoint selection
//! keeps, which the Lagrangian dualises.
//!
//! One row per intent ("held at most once") gives the LP relaxation's bound, which on the
//! benchmark load lies about 2% above the optimum. Two families of odd-set rows close most of
//! that. For any set S of intents, a candidate holding two or more of them uses up two, so a
//! disjoint selection holds at most ⌊|S| / 2⌋ such candidates (the rank-2 Chvátal-Gomory cut
//! of S's intent rows, as in Edmonds' blossom inequalities for matchings):
//!
//! - |S| = 3 (clique rows): any two candidates holding two of three intents share one. They are
//!   found from the candidates' own intent pairs, all at once: every triangle of pairs.
//! - |S| = 5 or 7 (ring rows): the LP likes odd rings of pairs at 1/2 each (2.5 against
//!   2 for a ring of five). They are too many to list, so they are separated: rings whose pairs
//!   carry enough of the relaxation's averaged solution.
//!
//! On the 5,000-intent benchmark load the LP bound is 1,633.0, with clique rows 1,614.4, with
//! five- and seven-rings as well 1,604.4; the optimum is 1,598.6 (`scripts/selection_bounds.py`).
//! A row is kept only when it says something the intent rows do not: at least three candidates,
//! and no intent held by all of them.

use super::transpose::{Transposed, transpose};

/// Work units per item pair when finding cliques (sorting, merging, gathering members), in the
/// other phases' units (see `UNITS_PER_MS`).
const PAIR_COST: u64 = 48;
/// A pair carries at least this much of the averaged solution to be a ring's side.
const RING_SIDE_MIN: f64 = 0.1;
/// A ring's row is added when the averaged solution exceeds its right-hand side by this much:
/// the average only approximates an LP solution.
const RING_MARGIN: f64 = 0.01;
/// The longest ring searched for, in nodes (odd).
const MAX_RING: usize = 7;

/// The relaxation's rows of each item: `rows[starts[item]..starts[item + 1]]`, with the
/// right-hand side of each row. Rows `0..node_count` are the intents (row id = node id), the
/// extra rows follow in the order given.
pub(super) struct Rows {
    starts: Vec<usize>,
    rows: Vec<u32>,
    rhs: Vec<f64>,
}

/// An extra row: the items it holds (ascending) and its right-hand side.
pub(super) type Extra = (Vec<u32>, f64);

impl Rows {
    /// The intent rows of `item_nodes` (each item's nodes, over `node_count` nodes) and `extra`.
    /// Returns the rows and the work it took, in units.
    pub(super) fn build(item_nodes: &[&[u32]], node_count: usize, extra: &[Extra]) -> (Rows, u64) {
        let mut starts = Vec::with_capacity(item_nodes.len() + 1);
        let mut rows = Vec::new();
        starts.push(0);
        for nodes in item_nodes {
            rows.extend_from_slice(nodes);
            starts.push(rows.len());
        }
        let mut built = Rows {
            starts,
            rows,
            rhs: vec![1.0; node_count],
        };
        built.extend(extra);
        let work = (built.rows.len() * 4 + built.rhs.len()) as u64 / 4;
        (built, work)
    }

    /// Appends the rows `more` (after the existing ones, in order), as [`Rows::build`] with
    /// them at the end of `extra` would. Returns the work it took, in units: a copy of every
    /// (item, row) entry.
    pub(super) fn extend(&mut self, more: &[Extra]) -> u64 {
        let item_count = self.starts.len() - 1;
        let first = self.rhs.len() as u32;
        // The new rows of each item, ascending: a counting sort of their members.
        let (new_starts, new_rows) = transpose(more.len(), item_count, |row| &more[row].0);
        // In place, from the last item back: each item's entries move right by the new
        // entries of the items before it, so no item's old entries are overwritten before
        // they are moved, and no second copy of the table is needed.
        let old_len = self.rows.len();
        self.rows.resize(old_len + new_rows.len(), 0);
        let mut end = self.rows.len();
        for item in (0..item_count).rev() {
            let (from, to) = (self.starts[item], self.starts[item + 1]);
            let added = &new_rows[new_starts[item]..new_starts[item + 1]];
            self.starts[item + 1] = end;
            end -= added.len();
            for (slot, &row) in self.rows[end..end + added.len()].iter_mut().zip(added) {
                *slot = first + row;
            }
            end -= to - from;
            self.rows.copy_within(from..to, end);
        }
        self.rhs.extend(more.iter().map(|(_, right)| *right));
        (self.rows.len() + new_rows.len()) as u64 / 4
    }

    /// What [`item_pairs`] and [`triple_cliques`] cost on `item_nodes`, in work units: sorting
    /// the pairs dominates.
    pub(super) fn clique_cost(item_nodes: &[&[u32]]) -> u64 {
        let pairs: usize = item_nodes.iter().map(|n| n.len() * (n.len() - 1) / 2).sum();
        pairs as u64 * PAIR_COST
    }

    /// How many rows there are.
    pub(super) fn count(&self) -> usize {
        self.rhs.len()
    }

    /// The right-hand sides, by row.
    pub(super) fn rhs(&self) -> &[f64] {
        &self.rhs
    }

    /// What one dual step over these rows costs, in work units: a visit of every
    /// (item, row) entry and of every row.
    pub(super) fn step_cost(&self) -> u64 {
        (self.rows.len() + self.rhs.len()) as u64 / 4
    }

    /// The rows `item` appears in.
    pub(super) fn of(&self, item: usize) -> &[u32] {
        &self.rows[self.starts[item]..self.starts[item + 1]]
    }
}

/// Each row's active items, as positions in the list of active items (ascending): the
/// transpose of the active items' rows. Dual steps between full ones gather only these.
#[derive(Default)]
pub(super) struct ActiveRows {
    positions: Transposed,
}

impl ActiveRows {
    /// Replaces the contents with the rows of `rows` over the items `active`, in the
    /// buffers the last one used.
    pub(super) fn refill(&mut self, active: &[u32], rows: &Rows) {
        self.positions
            .fill(active.len(), rows.count(), |k| rows.of(active[k] as usize));
    }

    /// How many (active item, row) entries there are.
    pub(super) fn entries(&self) -> usize {
        self.positions.entries.len()
    }

    /// The positions (in the active list) of `row`'s active items.
    pub(super) fn of(&self, row: usize) -> &[u32] {
        self.positions.of(row)
    }
}

/// Every pair of nodes an item holds, with the item, sorted: the items of a pair are a run.
pub(super) fn item_pairs(item_nodes: &[&[u32]]) -> Vec<(u32, u32, u32)> {
    let mut pairs: Vec<(u32, u32, u32)> = Vec::new();
    for (item, nodes) in item_nodes.iter().enumerate() {
        for (i, &a) in nodes.iter().enumerate() {
            for &b in &nodes[i + 1..] {
                pairs.push((a.min(b), a.max(b), item as u32));
            }
        }
    }
    pairs.sort_unstable();
    pairs
}

/// Whether `members` says more than an intent row: three or more, and no node held by all.
fn beyond_intent_rows(item_nodes: &[&[u32]], members: &[u32]) -> bool {
    members.len() >= 3
        && !item_nodes[members[0] as usize].iter().any(|node| {
            members
                .iter()
                .all(|&m| item_nodes[m as usize].contains(node))
        })
}

/// For every triple of nodes whose three pairs are each held by some item: the items holding
/// at least two of its nodes, ascending, when [`beyond_intent_rows`]. Triples come in ascending
/// order, so the rows do not depend on any hash order.
/// `pairs` are [`item_pairs`] of `item_nodes`.
pub(super) fn triple_cliques(item_nodes: &[&[u32]], pairs: &[(u32, u32, u32)]) -> Vec<Vec<u32>> {
    // The distinct pairs and where each one's items start.
    let mut keys: Vec<(u32, u32)> = Vec::new();
    let mut key_starts: Vec<usize> = Vec::new();
    for (index, &(a, b, _)) in pairs.iter().enumerate() {
        if keys.last() != Some(&(a, b)) {
            keys.push((a, b));
            key_starts.push(index);
        }
    }
    key_starts.push(pairs.len());
    // The partners above `a` are the second halves of the keys starting with `a`: a run.
    let higher = |a: u32| {
        let from = keys.partition_point(|&(x, _)| x < a);
        let to = keys.partition_point(|&(x, _)| x <= a);
        from..to
    };
    let items_of = |key: usize| {
        pairs[key_starts[key]..key_starts[key + 1]]
            .iter()
            .map(|p| p.2)
    };

    let mut cliques = Vec::new();
    for (ab, &(a, b)) in keys.iter().enumerate() {
        let (above_a, above_b) = (higher(a), higher(b));
        let (mut i, mut j) = (above_a.start, above_b.start);
        // Merge the two sorted partner runs: each common partner c > b closes a triangle.
        while i < above_a.end && j < above_b.end {
            let (ci, cj) = (keys[i].1, keys[j].1);
            if ci < cj {
                i += 1;
                continue;
            }
            if cj < ci {
                j += 1;
                continue;
            }
            let mut members: Vec<u32> =
                items_of(ab).chain(items_of(i)).chain(items_of(j)).collect();
            members.sort_unstable();
            members.dedup();
            if beyond_intent_rows(item_nodes, &members) {
                cliques.push(members);
            }
            i += 1;
            j += 1;
        }
    }
    cliques
}

/// Odd rings of five or seven nodes whose row the averaged solution `average` violates: a
/// ring is a cycle of node pairs each carrying at least [`RING_SIDE_MIN`] of it; its row holds
/// the items with two or more of the ring's nodes, at most (length - 1) / 2 of them. Searches
/// until `work` is spent; rings come in ascending order of their least node, then as found,
/// each once, so the answer is fixed by the input and the budget.
/// `pairs` are [`item_pairs`] of `item_nodes`.
pub(super) fn odd_rings<'a>(
    item_nodes: &[&[u32]],
    pairs: &[(u32, u32, u32)],
    items_of: impl Fn(u32) -> &'a [u32],
    node_count: usize,
    average: &[f64],
    work: &mut u64,
) -> Vec<Extra> {
    *work = work.saturating_sub(pairs.len() as u64 * 2);
    // The pairs that carry enough, each once, in (a, b) order, with their loads.
    let mut ends: Vec<[u32; 2]> = Vec::new();
    let mut loads: Vec<f64> = Vec::new();
    let mut run = 0;
    while run < pairs.len() {
        let (a, b, _) = pairs[run];
        let mut carried = 0.0;
        while run < pairs.len() && (pairs[run].0, pairs[run].1) == (a, b) {
            carried += average[pairs[run].2 as usize];
            run += 1;
        }
        if carried >= RING_SIDE_MIN {
            ends.push([a, b]);
            loads.push(carried);
        }
    }
    // As an adjacency list of ring sides: each node's pairs in pair order, which lists the
    // other nodes ascending (the pairs with smaller nodes sort before those with larger ones).
    let (starts, by_node) = transpose(ends.len(), node_count, |k| &ends[k][..]);
    let (ends, loads) = (&ends, &loads);
    let sides: Vec<(u32, f64)> = (0..node_count)
        .flat_map(|n| {
            let node = n as u32;
            by_node[starts[n]..starts[n + 1]].iter().map(move |&k| {
                let [a, b] = ends[k as usize];
                (if a == node { b } else { a }, loads[k as usize])
            })
        })
        .collect();
    let neighbours = |n: u32| &sides[starts[n as usize]..starts[n as usize + 1]];

    let mut found: std::collections::BTreeSet<Vec<u32>> = std::collections::BTreeSet::new();
    let mut rings = Vec::new();
    let mut path: Vec<u32> = Vec::with_capacity(MAX_RING);
    let mut stack: Vec<(u32, usize, f64)> = Vec::with_capacity(MAX_RING);
    // A ring of k sides is violated when its sides carry more than (k - 1) / 2, that is when
    // the sum of (1 - 2 * side) over them is under 1 (under `slack` with the margin). Sides
    // carry at most 1/2 each but for a few, so a path whose sum already reaches `slack` is
    // dropped: that keeps the search to a few paths per node, and every node gets searched.
    let slack = 1.0 - 2.0 * RING_MARGIN;
    // Depth-first over simple paths from each start through larger nodes only, so that each
    // ring is met from its least node.
    for start in 0..node_count as u32 {
        if *work == 0 {
            break;
        }
        path.clear();
        path.push(start);
        stack.clear();
        stack.push((start, 0, 0.0));
        while let Some(top) = stack.last_mut() {
            let (node, next, deficit) = *top;
            let around = neighbours(node);
            if next >= around.len() || *work == 0 {
                stack.pop();
                path.pop();
                continue;
            }
            top.1 += 1;
            let (other, weight) = around[next];
            *work = work.saturating_sub(2);
            let deficit = deficit + 1.0 - 2.0 * weight;
            if deficit >= slack {
                continue;
            }
            let length = path.len();
            if other == start && length >= 5 && length % 2 == 1 {
                let rhs = ((length - 1) / 2) as f64;
                let mut key = path.clone();
                key.sort_unstable();
                if found.insert(key.clone()) {
                    let members = ring_members(&key, &items_of, item_nodes, work);
                    let load: f64 = members.iter().map(|&m| average[m as usize]).sum();
                    if load > rhs + RING_MARGIN && beyond_intent_rows(item_nodes, &members) {
                        rings.push((members, rhs));
                    }
                }
                continue;
            }
            if other > start && length < MAX_RING && !path.contains(&other) {
                path.push(other);
                stack.push((other, 0, deficit));
            }
        }
    }
    rings
}

/// The items holding two or more of `ring`'s nodes (sorted), ascending.
fn ring_members<'a>(
    ring: &[u32],
    items_of: &impl Fn(u32) -> &'a [u32],
    item_nodes: &[&[u32]],
    work: &mut u64,
) -> Vec<u32> {
    let mut touching: Vec<u32> = ring
        .iter()
        .flat_map(|&n| items_of(n).iter().copied())
        .collect();
    *work = work.saturating_sub(touching.len() as u64 * 4);
    touching.sort_unstable();
    touching.dedup();
    touching.retain(|&item| {
        item_nodes[item as usize]
            .iter()
            .filter(|n| ring.binary_search(n).is_ok())
            .count()
            >= 2
    });
    touching
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holders(items: &[&[u32]], node_count: usize) -> Vec<Vec<u32>> {
        let mut of = vec![Vec::new(); node_count];
        for (item, nodes) in items.iter().enumerate() {
            for &n in *nodes {
                of[n as usize].push(item as u32);
            }
        }
        of
    }

    #[test]
    fn a_triangle_of_pairs_is_a_clique_no_intent_row_sees() {
        // {a,b}, {b,c}, {a,c}: the intent rows allow 1/2 of each (1.5 in all), the clique 1.
        let items: Vec<&[u32]> = vec![&[0, 1], &[1, 2], &[0, 2], &[2, 3]];
        assert_eq!(
            triple_cliques(&items, &item_pairs(&items)),
            vec![vec![0, 1, 2]]
        );
    }

    #[test]
    fn candidates_holding_two_of_three_intents_join_the_clique() {
        // {a,b,x}, {b,c,y}, {a,c,z} pairwise share a, b or c: the triple {a,b,c}. And {x,y}
        // closes a second triangle, {b,x,y}, with the first two: {a,b,x} and {b,c,y} share b,
        // {x,y} shares x with one and y with the other.
        let items: Vec<&[u32]> = vec![&[0, 1, 3], &[1, 2, 4], &[0, 2, 5], &[3, 4]];
        assert_eq!(
            triple_cliques(&items, &item_pairs(&items)),
            vec![vec![0, 1, 2], vec![0, 1, 3]]
        );
    }

    #[test]
    fn a_triple_whose_items_all_share_an_intent_adds_no_row() {
        // All three hold intent 3: its own row already says at most one.
        let items: Vec<&[u32]> = vec![&[0, 1, 3], &[1, 2, 3], &[0, 2, 3]];
        assert!(triple_cliques(&items, &item_pairs(&items)).is_empty());
        // Two items over one triple always share an intent: nothing to add either.
        let items: Vec<&[u32]> = vec![&[0, 1, 2], &[0, 1]];
        assert!(triple_cliques(&items, &item_pairs(&items)).is_empty());
    }

    #[test]
    fn every_clique_is_pairwise_conflicting() {
        let items: Vec<Vec<u32>> = (0..60u32)
            .map(|i| {
                let a = i % 13;
                let b = (i * 7 + 3) % 13;
                let c = (i * 5 + 1) % 13;
                let mut nodes = vec![a, b];
                if i % 3 != 0 && c != a && c != b {
                    nodes.push(c);
                }
                nodes
            })
            .filter(|nodes| nodes[0] != nodes[1])
            .collect();
        let slices: Vec<&[u32]> = items.iter().map(Vec::as_slice).collect();
        let cliques = triple_cliques(&slices, &item_pairs(&slices));
        assert!(!cliques.is_empty());
        for clique in &cliques {
            for (k, &x) in clique.iter().enumerate() {
                for &y in &clique[k + 1..] {
                    assert!(
                        slices[x as usize]
                            .iter()
                            .any(|n| slices[y as usize].contains(n)),
                        "{x} and {y} in {clique:?} share no intent"
                    );
                }
            }
        }
        let extra: Vec<Extra> = cliques.iter().map(|c| (c.clone(), 1.0)).collect();
        let (rows, _) = Rows::build(&slices, 13, &extra);
        assert_eq!(rows.count(), 13 + cliques.len());
        assert_eq!(rows.of(0)[..slices[0].len()], *slices[0]);
    }

    #[test]
    fn rows_appended_later_are_the_rows_built_at_once() {
        let items: Vec<&[u32]> = vec![&[0, 1], &[1, 2], &[0, 2], &[2, 3, 4], &[4, 0]];
        let first: Vec<Extra> = vec![(vec![0, 1, 2], 1.0)];
        let later: Vec<Extra> = vec![(vec![0, 1, 3, 4], 2.0), (vec![2, 4], 1.0)];
        let (mut grown, _) = Rows::build(&items, 5, &first);
        grown.extend(&later);
        let all: Vec<Extra> = first.iter().chain(&later).cloned().collect();
        let (built, _) = Rows::build(&items, 5, &all);
        assert_eq!(grown.rhs(), built.rhs());
        assert_eq!(grown.rhs(), [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0]);
        for (item, nodes) in items.iter().enumerate() {
            // By the definition: the item's intent rows, then each extra row holding it.
            let expected: Vec<u32> = nodes
                .iter()
                .copied()
                .chain(
                    (0..all.len() as u32)
                        .filter(|&r| all[r as usize].0.contains(&(item as u32)))
                        .map(|r| 5 + r),
                )
                .collect();
            assert_eq!(grown.of(item), expected, "item {item}");
            assert_eq!(built.of(item), expected, "item {item}");
        }
        // Intent rows first, then the extra rows in order.
        assert_eq!(grown.of(0), [0, 1, 5, 6]);
        assert_eq!(grown.of(4), [4, 0, 6, 7]);
    }

    #[test]
    fn active_rows_hold_each_rows_active_items_by_position() {
        let items: Vec<&[u32]> = vec![&[0, 1], &[1, 2], &[0, 2], &[2, 3]];
        let (rows, _) = Rows::build(&items, 4, &[(vec![0, 1, 2], 1.0)]);
        // Items 0 to 3 active, then only items 1 and 3 (at positions 0 and 1): the second
        // refill, in the first one's buffers, holds nothing of it.
        let mut active = ActiveRows::default();
        active.refill(&[0, 1, 2, 3], &rows);
        assert_eq!(active.entries(), 11);
        active.refill(&[1, 3], &rows);
        assert_eq!(active.entries(), 5);
        let of: Vec<&[u32]> = (0..rows.count()).map(|r| active.of(r)).collect();
        assert_eq!(of, [&[][..], &[0], &[0, 1], &[1], &[0]]);
    }

    /// The rings [`odd_rings`] finds among `items` (over `node_count` nodes) under `average`,
    /// with `work` units to search.
    fn rings_of(items: &[&[u32]], node_count: usize, average: &[f64], mut work: u64) -> Vec<Extra> {
        let of = holders(items, node_count);
        let pairs = item_pairs(items);
        odd_rings(
            items,
            &pairs,
            |n| &of[n as usize],
            node_count,
            average,
            &mut work,
        )
    }

    #[test]
    fn a_ring_of_five_pairs_at_one_half_gets_its_row() {
        // Pairs around 0-1-2-3-4-0, each at 1/2: the intent rows hold (2.5), the ring says 2.
        let items: Vec<&[u32]> = vec![&[0, 1], &[1, 2], &[2, 3], &[3, 4], &[4, 0], &[0, 5]];
        let average = [0.5, 0.5, 0.5, 0.5, 0.5, 0.0];
        assert_eq!(
            rings_of(&items, 6, &average, 1_000_000),
            vec![(vec![0, 1, 2, 3, 4], 2.0)]
        );
        // A ring the average does not violate (four sides at 1/2, one at 0) adds nothing.
        let average = [0.5, 0.5, 0.5, 0.5, 0.0, 0.5];
        assert!(rings_of(&items, 6, &average, 1_000_000).is_empty());
        // Nor does a spent budget search.
        assert!(rings_of(&items, 6, &[0.5; 6], 0).is_empty());
    }

    #[test]
    fn a_ring_row_holds_every_item_with_two_of_its_nodes() {
        // A ring of seven through two triples: {0,1,2} holds three ring nodes, {3,4,9} two.
        let items: Vec<&[u32]> = vec![
            &[0, 1, 2],
            &[2, 3],
            &[3, 4, 9],
            &[4, 5],
            &[5, 6],
            &[6, 0],
            &[1, 8],
        ];
        let average = [0.75, 0.5, 0.75, 0.5, 0.5, 0.5, 0.0];
        let rings = rings_of(&items, 10, &average, 1_000_000);
        for (members, rhs) in &rings {
            assert!(members.windows(2).all(|w| w[0] < w[1]));
            assert!(*rhs == 2.0 || *rhs == 3.0);
        }
        assert!(
            rings.contains(&(vec![0, 1, 2, 3, 4, 5], 3.0)),
            "the seven-ring 0-1-2-3-4-5-6-0, item 0 holding three of its nodes: {rings:?}"
        );
    }
}
