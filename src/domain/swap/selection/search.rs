//! The searches of an optimal solve: a greedy start in a given order, improved by
//! large-neighbourhood search, each window of the selection re-solved exactly ([`super::exact`])
//! with everything outside it fixed.

use super::components::{Chosen, Component};
use super::{EXACT_LIMIT, FREE, Work};

/// Candidates a search window aims at.
const WINDOW_TARGET: usize = 64;

impl Component {
    /// Greedy in descending `key` order, ties by the contract's order.
    pub(super) fn greedy_by(&self, key: &[f64], work: &mut Work) -> Chosen {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_by(|&a, &b| key[b as usize].total_cmp(&key[a as usize]).then(a.cmp(&b)));
        work.spend(self.len() as u64 * 4);
        let mut chosen = self.chosen(vec![false; self.len()]);
        for item in order {
            let item = item as usize;
            if self.weight[item] > 0 && self.fits(&chosen, item) {
                self.set(&mut chosen, item, true);
            }
        }
        chosen
    }

    /// Large-neighbourhood search: around each chosen item, a window of nearby items is
    /// re-solved exactly with everything outside it fixed. A window is looked at again only
    /// when something in it changed; stops when none is left or the budget is spent.
    pub(super) fn neighbourhoods(&self, chosen: &mut Chosen, work: &mut Work) {
        let mut in_window = vec![false; self.len()];
        let mut node_in = vec![false; self.node_count()];
        let mut queued = vec![false; self.len()];
        let mut queue: std::collections::VecDeque<u32> = std::collections::VecDeque::new();
        for item in (0..self.len()).filter(|&i| chosen.on[i]) {
            queued[item] = true;
            queue.push_back(item as u32);
        }
        while let Some(seed) = queue.pop_front() {
            queued[seed as usize] = false;
            if !chosen.on[seed as usize] {
                continue;
            }
            let window = self.window(chosen, seed as usize, &mut in_window, &mut node_in);
            if !work.spend(window.len() as u64 * 16) {
                return;
            }
            let current: Vec<u32> = window
                .iter()
                .copied()
                .filter(|&i| chosen.on[i as usize])
                .collect();
            let current_weight: i64 = current.iter().map(|&i| self.weight[i as usize]).sum();
            // Free the window's chosen items, then solve over the items that fit.
            for &i in &current {
                self.set(chosen, i as usize, false);
            }
            let fitting: Vec<u32> = window
                .iter()
                .copied()
                .filter(|&i| self.fits(chosen, i as usize))
                .collect();
            match self.exact(&fitting, current_weight, work) {
                Some((weight, members)) if weight > current_weight => {
                    for m in members {
                        self.set(chosen, m as usize, true);
                    }
                    // Everything chosen next to the window may now do better: look again.
                    for &i in &window {
                        for &n in self.item_nodes(i as usize) {
                            for &other in self.items_of(n) {
                                let holder =
                                    chosen.holder[self.item_nodes(other as usize)[0] as usize];
                                for candidate in [other, holder] {
                                    if candidate != FREE
                                        && chosen.on[candidate as usize]
                                        && !queued[candidate as usize]
                                    {
                                        queued[candidate as usize] = true;
                                        queue.push_back(candidate);
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {
                    for &i in &current {
                        self.set(chosen, i as usize, true);
                    }
                }
            }
        }
    }

    /// Items around `seed`: its neighbours and theirs, breadth first through the chosen items
    /// that hold their intents, up to [`WINDOW_TARGET`] (never more than [`EXACT_LIMIT`]).
    fn window(
        &self,
        chosen: &Chosen,
        seed: usize,
        in_window: &mut [bool],
        node_in: &mut [bool],
    ) -> Vec<u32> {
        let mut window: Vec<u32> = Vec::new();
        let mut touched_nodes: Vec<u32> = Vec::new();
        let mut frontier = std::collections::VecDeque::from([seed as u32]);
        while let Some(anchor) = frontier.pop_front() {
            for &n in self.item_nodes(anchor as usize) {
                if node_in[n as usize] {
                    continue;
                }
                node_in[n as usize] = true;
                touched_nodes.push(n);
                for &item in self.items_of(n) {
                    if in_window[item as usize] {
                        continue;
                    }
                    if window.len() >= EXACT_LIMIT {
                        break;
                    }
                    in_window[item as usize] = true;
                    window.push(item);
                    // Grow through the chosen items that block this one.
                    for &m in self.item_nodes(item as usize) {
                        let h = chosen.holder[m as usize];
                        if h != FREE && !in_window[h as usize] && window.len() < WINDOW_TARGET {
                            frontier.push_back(h);
                        }
                    }
                }
            }
            if window.len() >= WINDOW_TARGET {
                break;
            }
        }
        for &item in &window {
            in_window[item as usize] = false;
        }
        for n in touched_nodes {
            node_in[n as usize] = false;
        }
        window.sort_unstable();
        window
    }
}
