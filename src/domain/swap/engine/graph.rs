//! The graph phase: the edges "A would receive B's offer" over the matchable intents, found
//! through the offer index ([`super::offers`]) rather than by trying every pair, and held as
//! compressed rows both ways, since the cycle search walks out-edges and closes on in-edges.

use rayon::prelude::*;

use super::super::types::{AssetRef, SwapIntent};
use super::offers::OfferIndex;
use super::{AssetValues, CHUNK, is_matchable};

/// The graph of "A would receive B's offer" edges over the matchable intents.
#[derive(Debug)]
pub struct Graph<'a> {
    /// Active user intents, sorted by id (byte order), so that node order is id order.
    pub(super) intents: Vec<&'a SwapIntent>,
    /// Total value of each node's offer; `None` when an offered asset has no value.
    pub(super) offer_values: Vec<Option<f64>>,
    /// Out-edges in compressed rows: node `a`'s targets are
    /// `targets[offsets[a]..offsets[a + 1]]`, ascending.
    offsets: Vec<usize>,
    targets: Vec<u32>,
    /// In-edges, the same way: node `a`'s sources are `sources[in_offsets[a]..in_offsets[a + 1]]`.
    in_offsets: Vec<usize>,
    sources: Vec<u32>,
    pub(super) edges_skipped_missing_value: u64,
}

/// Total USD value of an offer, or `None` when any asset has no known value.
fn offer_value(offer: &[AssetRef], values: &AssetValues<'_>) -> Option<f64> {
    offer
        .iter()
        .map(|asset| values.get(asset.asset_id.as_str()).copied())
        .sum()
}

impl<'a> Graph<'a> {
    /// Builds the edge set through indexes of offers by asset key and by category, so that the
    /// work grows with the number of edges, not with the square of the number of intents.
    pub fn build(intents: &'a [SwapIntent], values: &AssetValues<'_>) -> Graph<'a> {
        let mut nodes: Vec<&SwapIntent> = intents.iter().filter(|i| is_matchable(i)).collect();
        if !nodes.is_sorted_by(|a, b| a.id.as_bytes() <= b.id.as_bytes()) {
            sort_by_id(&mut nodes);
        }
        let offer_values: Vec<Option<f64>> = nodes
            .par_iter()
            .map(|i| offer_value(&i.offer, values))
            .collect();
        let offers = OfferIndex::build(&nodes);

        let chunks: Vec<EdgeChunk> = nodes
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(chunk, members)| {
                let first = chunk * CHUNK;
                let mut out = EdgeChunk::default();
                let mut wanted: Vec<u32> = Vec::new();
                for (offset, intent) in members.iter().enumerate() {
                    let a = first + offset;
                    wanted.clear();
                    for clause in &intent.want_spec.any_of {
                        wanted.extend_from_slice(offers.offering(clause));
                    }
                    wanted.sort_unstable();
                    wanted.dedup();
                    let band = &intent.value_band;
                    let (min, max) = (band.min_usd.as_f64(), band.max_usd.as_f64());
                    for &b in &wanted {
                        if b as usize == a {
                            continue;
                        }
                        match offer_values[b as usize] {
                            None => out.skipped += 1,
                            Some(v) if min <= v && v <= max => out.targets.push(b),
                            Some(_) => {}
                        }
                    }
                    out.ends.push(out.targets.len());
                }
                out
            })
            .collect();

        let mut offsets = Vec::with_capacity(nodes.len() + 1);
        offsets.push(0);
        let mut targets = Vec::with_capacity(chunks.iter().map(|c| c.targets.len()).sum());
        let mut edges_skipped_missing_value = 0;
        for chunk in chunks {
            let base = targets.len();
            offsets.extend(chunk.ends.iter().map(|end| base + end));
            targets.extend_from_slice(&chunk.targets);
            edges_skipped_missing_value += chunk.skipped;
        }
        let (in_offsets, sources) = reverse(nodes.len(), &offsets, &targets);

        Graph {
            intents: nodes,
            offer_values,
            offsets,
            targets,
            in_offsets,
            sources,
            edges_skipped_missing_value,
        }
    }

    pub fn node_count(&self) -> usize {
        self.intents.len()
    }

    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    pub fn edges_skipped_missing_value(&self) -> u64 {
        self.edges_skipped_missing_value
    }

    pub(super) fn out(&self, node: u32) -> &[u32] {
        let node = node as usize;
        &self.targets[self.offsets[node]..self.offsets[node + 1]]
    }

    pub(super) fn sources_of(&self, node: u32) -> &[u32] {
        let node = node as usize;
        &self.sources[self.in_offsets[node]..self.in_offsets[node + 1]]
    }
}

/// The out-edges of one chunk of nodes, before they are joined.
#[derive(Default)]
struct EdgeChunk {
    targets: Vec<u32>,
    /// Per node of the chunk, the end of its targets in `targets`.
    ends: Vec<usize>,
    skipped: u64,
}

/// Sorts intents by id in byte order. Most comparisons are settled by the ids' first 16 bytes
/// held next to each reference, without reading the ids themselves. Stable, so that even
/// duplicate ids (which the store cannot hold) keep one order.
fn sort_by_id(nodes: &mut Vec<&SwapIntent>) {
    let mut keyed: Vec<(u128, &SwapIntent)> = nodes
        .par_iter()
        .map(|intent| (id_prefix(&intent.id), *intent))
        .collect();
    keyed.par_sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.id.as_bytes().cmp(b.1.id.as_bytes()))
    });
    nodes.clear();
    nodes.extend(keyed.into_iter().map(|(_, intent)| intent));
}

/// The first 16 bytes of `id`, zero-padded, as a big-endian number: comparing two of them
/// orders ids as their bytes do, except that equal prefixes need the full comparison.
fn id_prefix(id: &str) -> u128 {
    let mut prefix = [0u8; 16];
    let bytes = &id.as_bytes()[..id.len().min(16)];
    prefix[..bytes.len()].copy_from_slice(bytes);
    u128::from_be_bytes(prefix)
}

/// The in-edge rows of a graph given by its out-edge rows; each row ascending, because
/// sources are visited in order.
fn reverse(n: usize, offsets: &[usize], targets: &[u32]) -> (Vec<usize>, Vec<u32>) {
    let mut in_offsets = vec![0usize; n + 1];
    for &b in targets {
        in_offsets[b as usize + 1] += 1;
    }
    for node in 0..n {
        in_offsets[node + 1] += in_offsets[node];
    }
    let mut fill = in_offsets.clone();
    let mut sources = vec![0u32; targets.len()];
    for a in 0..n {
        for &b in &targets[offsets[a]..offsets[a + 1]] {
            sources[fill[b as usize]] = node_id(a);
            fill[b as usize] += 1;
        }
    }
    (in_offsets, sources)
}

pub(super) fn node_id(index: usize) -> u32 {
    u32::try_from(index).expect("more than 4 billion intents in one run")
}
