//! The exact solve of up to [`EXACT_LIMIT`] items by branch and bound over bit masks: it
//! settles small components outright and re-solves the search's windows.

use super::components::Component;
use super::{EXACT_LIMIT, Work};

/// Branch-and-bound nodes allowed for one exact solve.
const EXACT_NODES: u64 = 100_000;

impl Component {
    /// The heaviest disjoint subset of `members` (at most [`EXACT_LIMIT`]) when it beats
    /// `incumbent`, by branch and bound; `Some((incumbent, []))` when nothing does, `None` when
    /// the node budget ran out first.
    ///
    /// The bound at each search node splits every available item's weight evenly over its
    /// intents and counts, per intent, the best share still available: each intent is used at
    /// most once, so no completion can beat it. Items are searched in share order, so that the
    /// best share of an intent is the first available item holding it.
    pub(super) fn exact(
        &self,
        members: &[u32],
        incumbent: i64,
        work: &mut Work,
    ) -> Option<(i64, Vec<u32>)> {
        let n = members.len().min(EXACT_LIMIT);
        let share = |item: u32| {
            self.weight[item as usize].max(0) as f64 / f64::from(self.lens[item as usize])
        };
        let mut order: Vec<u32> = members[..n].to_vec();
        order.sort_by(|&a, &b| share(b).total_cmp(&share(a)).then(a.cmp(&b)));
        let mut local_nodes: Vec<u32> = order
            .iter()
            .flat_map(|&item| self.item_nodes(item as usize).iter().copied())
            .collect();
        local_nodes.sort_unstable();
        local_nodes.dedup();
        let mut holders = vec![0u64; local_nodes.len()];
        let mut conflicts = vec![0u64; n];
        for (p, &item) in order.iter().enumerate() {
            for node in self.item_nodes(item as usize) {
                if let Ok(slot) = local_nodes.binary_search(node) {
                    holders[slot] |= 1 << p;
                }
            }
        }
        for mask in &holders {
            let mut bits = *mask;
            while bits != 0 {
                let p = bits.trailing_zeros() as usize;
                conflicts[p] |= mask & !(1 << p);
                bits &= bits - 1;
            }
        }
        let weights: Vec<i64> = order
            .iter()
            .map(|&i| self.weight[i as usize].max(0))
            .collect();
        // Slot 64 (the trailing zeros of an empty mask) holds 0, so that the bound adds one
        // share per intent without a branch; adding 0 leaves the sum exactly as it was.
        let mut shares = [0.0f64; 65];
        for (slot, &item) in order.iter().enumerate() {
            shares[slot] = share(item);
        }
        struct Search<'a> {
            conflicts: &'a [u64],
            holders: &'a [u64],
            weights: &'a [i64],
            shares: &'a [f64; 65],
            best: i64,
            best_mask: u64,
            nodes: u64,
        }
        impl Search<'_> {
            fn bound(&self, available: u64) -> f64 {
                // An intent's best share among the items still available to hold it: the
                // lowest set bit, as items are in descending share order.
                self.holders
                    .iter()
                    .map(|mask| self.shares[(mask & available).trailing_zeros() as usize])
                    .sum()
            }
        }
        fn dfs(s: &mut Search<'_>, available: u64, chosen: u64, value: i64) -> bool {
            s.nodes += 1;
            if s.nodes > EXACT_NODES {
                return false;
            }
            if value > s.best {
                s.best = value;
                s.best_mask = chosen;
            }
            if available == 0 || value as f64 + s.bound(available) <= s.best as f64 + 1e-9 {
                return true;
            }
            let p = available.trailing_zeros() as usize;
            let rest = available & !(1 << p);
            if s.weights[p] > 0
                && !dfs(
                    s,
                    rest & !s.conflicts[p],
                    chosen | (1 << p),
                    value + s.weights[p],
                )
            {
                return false;
            }
            dfs(s, rest, chosen, value)
        }
        let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        let mut search = Search {
            conflicts: &conflicts,
            holders: &holders,
            weights: &weights,
            shares: &shares,
            best: incumbent,
            best_mask: 0,
            nodes: 0,
        };
        let finished = dfs(&mut search, all, 0, 0);
        // A search node costs about one visit of each local intent.
        work.spend(search.nodes * holders.len() as u64 / 4 + n as u64);
        if !finished {
            return None;
        }
        let members = (0..n)
            .filter(|p| search.best_mask & (1 << p) != 0)
            .map(|p| order[p])
            .collect();
        Some((search.best, members))
    }
}
