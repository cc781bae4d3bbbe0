//! Conflict components and the solve of one: candidates linked by shared intents form a
//! component, and no choice in one changes what another may take, so each is solved on its own
//! (and in parallel) on a share of the budget fixed before any starts.
//!
//! A [`Component`] renumbers its items and intents densely and holds the state every phase
//! works on ([`Chosen`]); [`Component::solve`] runs the phases in order: the exact solve when
//! the component is small enough, else the bound ([`super::dual`]) and the searches from its
//! rounding orders ([`super::search`]), never keeping less than greedy's choice.

use rayon::prelude::*;

use super::transpose::transpose;
use super::{EXACT_LIMIT, FREE, Item, Objective, Strategy, Work};

/// The share of an optimal solve's budget, in percent, that the bound may take; the rest, and
/// what the bound leaves unused, goes to the search.
const BOUND_SHARE: u64 = 70;

/// Items grouped by conflict component, each group ascending, groups ordered by first item.
pub(super) fn components(node_count: usize, items: &[Item]) -> Vec<Vec<usize>> {
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    let count = u32::try_from(items.len()).expect("fewer than 4 billion candidates");
    let mut parent: Vec<u32> = (0..count).collect();
    let mut owner: Vec<u32> = vec![FREE; node_count];
    for (index, item) in (0..count).zip(items) {
        for &n in item.nodes() {
            let first = owner[n as usize];
            if first == FREE {
                owner[n as usize] = index;
                continue;
            }
            let (a, b) = (find(&mut parent, first), find(&mut parent, index));
            if a != b {
                // The smaller root wins, so that a group's root is its first item.
                parent[a.max(b) as usize] = a.min(b);
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut slot: Vec<u32> = vec![FREE; items.len()];
    for index in 0..count {
        let root = find(&mut parent, index) as usize;
        if slot[root] == FREE {
            slot[root] = groups.len() as u32;
            groups.push(Vec::new());
        }
        groups[slot[root] as usize].push(index as usize);
    }
    groups
}

/// What a component's solve found.
pub(super) struct Solved {
    pub(super) picked: Vec<usize>,
    pub(super) upper_bound: f64,
    pub(super) proven: bool,
}

/// One conflict component, renumbered densely.
pub(super) struct Component {
    /// Global item indexes, ascending (the contract's order).
    global: Vec<usize>,
    /// Local node ids of each item.
    nodes: Vec<[u32; 3]>,
    pub(super) lens: Vec<u8>,
    /// The objective's own weight: what the bound is on.
    pub(super) primary: Vec<f64>,
    /// What the search maximises: the objective, then the score, as one integer.
    pub(super) weight: Vec<i64>,
    /// Items of each local node, ascending: `node_items[node_starts[n]..node_starts[n + 1]]`.
    node_starts: Vec<usize>,
    node_items: Vec<u32>,
}

/// A selection inside a component, with who holds each intent.
#[derive(Clone)]
pub(super) struct Chosen {
    pub(super) on: Vec<bool>,
    pub(super) holder: Vec<u32>,
    pub(super) weight: i64,
}

impl Component {
    pub(super) fn new(items: &[Item], global: &[usize], objective: Objective) -> Component {
        let mut local_of = std::collections::HashMap::with_capacity_and_hasher(
            global.len() * 2,
            foldhash::fast::FixedState::default(),
        );
        let mut nodes = Vec::with_capacity(global.len());
        let mut lens = Vec::with_capacity(global.len());
        let score_total: i64 = global.iter().map(|&g| items[g].score.max(0)).sum();
        let mut primary = Vec::with_capacity(global.len());
        let mut weight = Vec::with_capacity(global.len());
        for &g in global {
            let item = &items[g];
            let mut mapped = [0u32; 3];
            for (slot, &n) in item.nodes().iter().enumerate() {
                let next = local_of.len() as u32;
                mapped[slot] = *local_of.entry(n).or_insert(next);
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
        let node_count = local_of.len();
        let (node_starts, node_items) = transpose(nodes.len(), node_count, |item| {
            &nodes[item][..usize::from(lens[item])]
        });
        Component {
            global: global.to_vec(),
            nodes,
            lens,
            primary,
            weight,
            node_starts,
            node_items,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.global.len()
    }

    pub(super) fn node_count(&self) -> usize {
        self.node_starts.len() - 1
    }

    pub(super) fn item_nodes(&self, item: usize) -> &[u32] {
        &self.nodes[item][..usize::from(self.lens[item])]
    }

    pub(super) fn items_of(&self, node: u32) -> &[u32] {
        &self.node_items[self.node_starts[node as usize]..self.node_starts[node as usize + 1]]
    }

    pub(super) fn chosen(&self, on: Vec<bool>) -> Chosen {
        let mut holder = vec![FREE; self.node_count()];
        let mut weight = 0;
        for (item, _) in on.iter().enumerate().filter(|(_, on)| **on) {
            weight += self.weight[item];
            for &n in self.item_nodes(item) {
                holder[n as usize] = item as u32;
            }
        }
        Chosen { on, holder, weight }
    }

    pub(super) fn set(&self, chosen: &mut Chosen, item: usize, on: bool) {
        chosen.on[item] = on;
        let mark = if on { item as u32 } else { FREE };
        for &n in self.item_nodes(item) {
            chosen.holder[n as usize] = mark;
        }
        chosen.weight += if on {
            self.weight[item]
        } else {
            -self.weight[item]
        };
    }

    pub(super) fn fits(&self, chosen: &Chosen, item: usize) -> bool {
        self.item_nodes(item)
            .iter()
            .all(|&n| chosen.holder[n as usize] == FREE)
    }

    fn value(&self, chosen: &Chosen) -> f64 {
        chosen
            .on
            .iter()
            .enumerate()
            .filter(|(_, on)| **on)
            .map(|(i, _)| self.primary[i])
            .sum()
    }

    pub(super) fn solve(&self, strategy: Strategy, greedy: &[usize], budget: u64) -> Solved {
        let mut work = Work { left: budget };
        // Greedy's choice inside this component: where the search starts, never to fall below.
        let mut on = vec![false; self.len()];
        for &g in greedy {
            if let Ok(local) = self.global.binary_search(&g) {
                on[local] = true;
            }
        }
        let mut best = self.chosen(on);
        if self.len() <= EXACT_LIMIT {
            let all: Vec<u32> = (0..self.len() as u32).collect();
            if let Some((weight, members)) = self.exact(&all, best.weight, &mut work) {
                if weight <= best.weight {
                    return self.solved(&best, None);
                }
                let optimum = self.chosen_of(&members);
                return match strategy {
                    Strategy::Optimal => self.solved(&optimum, None),
                    // Greedy keeps its pick; the optimum is the tightest bound there is.
                    Strategy::Greedy => self.solved(&best, Some(self.value(&optimum))),
                };
            }
        }
        // An optimal solve keeps at least half of its budget for the search; what the bound
        // leaves unused goes to the search too.
        let mut bound_work = Work {
            left: match strategy {
                Strategy::Optimal => work.left / 100 * BOUND_SHARE,
                Strategy::Greedy => work.left,
            },
        };
        work.left -= bound_work.left;
        let (bound, orders) = self.dual(&mut bound_work, self.value(&best));
        work.left += bound_work.left;
        // Here an optimal solve has a large component, or a small one whose exact search ran
        // out of nodes.
        if strategy == Strategy::Optimal {
            // Each rounding order starts its own search, on its own share of the budget; the
            // two run in parallel and the better one wins (the first on a tie).
            let share = work.left / orders.len().max(1) as u64;
            let searched: Vec<Chosen> = orders
                .par_iter()
                .map(|order| {
                    let mut work = Work { left: share };
                    let mut chosen = self.greedy_by(order, &mut work);
                    self.neighbourhoods(&mut chosen, &mut work);
                    chosen
                })
                .collect();
            for candidate in searched {
                if candidate.weight > best.weight {
                    best = candidate;
                }
            }
        }
        self.solved(&best, Some(bound))
    }

    fn chosen_of(&self, members: &[u32]) -> Chosen {
        let mut on = vec![false; self.len()];
        for &m in members {
            on[m as usize] = true;
        }
        self.chosen(on)
    }

    /// The component's answer; `bound` is `None` when the selection was proven optimal.
    fn solved(&self, best: &Chosen, bound: Option<f64>) -> Solved {
        let value = self.value(best);
        let proven = bound.is_none_or(|bound| bound - value < 1e-9);
        Solved {
            picked: best
                .on
                .iter()
                .enumerate()
                .filter(|(_, on)| **on)
                .map(|(i, _)| self.global[i])
                .collect(),
            upper_bound: match bound {
                Some(bound) if !proven => bound.max(value),
                _ => value,
            },
            proven,
        }
    }
}
