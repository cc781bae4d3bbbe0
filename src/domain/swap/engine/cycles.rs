//! The cycle phase: every directed simple cycle of length 2 and 3. Each is found once, from its
//! smallest node, and the per-chunk lists are joined in chunk order, so the list is the same on
//! any number of threads.

use rayon::prelude::*;

use super::CHUNK;
use super::graph::{Graph, node_id};

/// A directed simple cycle in canonical form: smallest node first, direction kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cycle {
    pub(super) nodes: [u32; 3],
    pub(super) len: u8,
}

impl Cycle {
    pub fn nodes(&self) -> &[u32] {
        &self.nodes[..usize::from(self.len)]
    }
}

impl Graph<'_> {
    /// All directed simple cycles of length 2 and 3, each once, starting at its smallest node,
    /// ordered by start node, then by the out-edge order of the second and third.
    pub fn cycles(&self) -> Vec<Cycle> {
        let n = self.node_count();
        let chunks: Vec<Vec<Cycle>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            // `closes[c] == a + 1` marks an edge c -> a back to the current start `a`: one
            // array write per in-edge instead of a search per candidate. Marks are unique per
            // start, so a worker reuses its array across chunks.
            .map_init(
                || vec![0u32; n],
                |closes, chunk| {
                    let mut cycles = Vec::new();
                    for a in chunk * CHUNK..((chunk + 1) * CHUNK).min(n) {
                        let a = node_id(a);
                        let mark = a + 1;
                        for &c in self.sources_of(a) {
                            closes[c as usize] = mark;
                        }
                        for &b in self.out(a) {
                            if b <= a {
                                continue;
                            }
                            if closes[b as usize] == mark {
                                cycles.push(Cycle {
                                    nodes: [a, b, 0],
                                    len: 2,
                                });
                            }
                            for &c in self.out(b) {
                                if c > a && c != b && closes[c as usize] == mark {
                                    cycles.push(Cycle {
                                        nodes: [a, b, c],
                                        len: 3,
                                    });
                                }
                            }
                        }
                    }
                    cycles
                },
            )
            .collect();
        chunks.concat()
    }
}
