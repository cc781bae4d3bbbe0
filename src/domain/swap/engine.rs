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
use sha2::{Digest, Sha256};

use crate::actor::ActorType;
use crate::json::{JsNumber, round_to};

use super::selection::{self, Item, Objective, Strategy};
use super::types::{
    AssetRef, Fee, IntentStatus, Participant, Platform, RunDiagnostics, RunStats, SwapIntent,
    WantClause,
};

/// The instant used when no participant has an expiry.
const NO_EXPIRY: &str = "1970-01-01T00:00:00.000Z";

/// Nodes (or cycles) per parallel task: enough work to outweigh a task's scheduling, small
/// enough to balance two to a few dozen cores.
const CHUNK: usize = 2048;

/// Asset values in USD by bare `asset_id`, borrowing the ids from the merged values. Looked up
/// once per offered asset of every intent, never iterated.
pub type AssetValues<'a> = HashMap<&'a str, f64, FixedState>;

/// The graph of "A would receive B's offer" edges over the matchable intents.
#[derive(Debug)]
pub struct Graph<'a> {
    /// Active user intents, sorted by id (byte order), so that node order is id order.
    intents: Vec<&'a SwapIntent>,
    /// Total value of each node's offer; `None` when an offered asset has no value.
    offer_values: Vec<Option<f64>>,
    /// Out-edges in compressed rows: node `a`'s targets are
    /// `targets[offsets[a]..offsets[a + 1]]`, ascending.
    offsets: Vec<usize>,
    targets: Vec<u32>,
    /// In-edges, the same way: node `a`'s sources are `sources[in_offsets[a]..in_offsets[a + 1]]`.
    in_offsets: Vec<usize>,
    sources: Vec<u32>,
    edges_skipped_missing_value: u64,
}

/// A directed simple cycle in canonical form: smallest node first, direction kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cycle {
    nodes: [u32; 3],
    len: u8,
}

impl Cycle {
    pub fn nodes(&self) -> &[u32] {
        &self.nodes[..usize::from(self.len)]
    }
}

/// A scored cycle that every participant accepts; cheap to sort and select.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    pub cycle: Cycle,
    pub confidence_score: f64,
    pub value_spread: f64,
    /// The 12 lowercase hex digits of the proposal id.
    id_hex: [u8; 12],
}

impl Candidate {
    pub fn id(&self) -> String {
        // The digits are ASCII hex by construction.
        format!("cycle_{}", String::from_utf8_lossy(&self.id_hex))
    }

    /// Score descending, then id ascending: the contract's order. Two cycles whose ids share
    /// their 12 hex digits (a 48-bit prefix collision, rare but possible in millions) are then
    /// ordered by their nodes, so that the order is total and the sort needs no stability.
    fn order(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
        b.confidence_score
            .total_cmp(&a.confidence_score)
            .then_with(|| a.id_hex.cmp(&b.id_hex))
            .then_with(|| a.cycle.nodes().cmp(b.cycle.nodes()))
    }
}

/// What the candidate phase produced, with the drop count.
#[derive(Debug, Default)]
pub struct Candidates {
    /// In the contract's order: score descending, then id ascending.
    pub ranked: Vec<Candidate>,
    pub cycles_dropped_max_length: u64,
}

/// A proposal before it is attributed to a run and stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ProposalDraft {
    pub id: String,
    pub intent_ids: Vec<String>,
    pub participants: Vec<Participant>,
    pub confidence_score: f64,
    pub value_spread: f64,
    pub fee_breakdown: Vec<Fee>,
    pub expires_at: String,
    pub explainability: Vec<String>,
}

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

    fn out(&self, node: u32) -> &[u32] {
        let node = node as usize;
        &self.targets[self.offsets[node]..self.offsets[node + 1]]
    }

    fn sources_of(&self, node: u32) -> &[u32] {
        let node = node as usize;
        &self.sources[self.in_offsets[node]..self.in_offsets[node + 1]]
    }

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

    /// Scores every cycle that all its participants accept and ranks them.
    pub fn candidates(&self, cycles: &[Cycle]) -> Candidates {
        let chunks: Vec<(Vec<Candidate>, u64)> = cycles
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut ranked = Vec::with_capacity(chunk.len());
                let mut dropped = 0;
                for cycle in chunk {
                    match self.candidate(*cycle) {
                        Some(candidate) => ranked.push(candidate),
                        None => dropped += 1,
                    }
                }
                (ranked, dropped)
            })
            .collect();
        let cycles_dropped_max_length = chunks.iter().map(|(_, dropped)| dropped).sum();
        let mut ranked = Vec::with_capacity(chunks.iter().map(|(c, _)| c.len()).sum());
        for (chunk, _) in chunks {
            ranked.extend_from_slice(&chunk);
        }
        ranked.par_sort_unstable_by(Candidate::order);
        Candidates {
            ranked,
            cycles_dropped_max_length,
        }
    }

    /// Values each participant gets: participant `i` gets the offer of participant `i + 1`.
    fn get_values(&self, cycle: Cycle) -> impl Iterator<Item = f64> + '_ {
        let len = usize::from(cycle.len);
        (0..len).map(move |i| {
            let next = cycle.nodes[(i + 1) % len] as usize;
            // Every node of a cycle is the target of an edge, and edges need a known value.
            self.offer_values[next].unwrap_or(0.0)
        })
    }

    fn candidate(&self, cycle: Cycle) -> Option<Candidate> {
        let len = cycle.nodes().len();
        let accepted = cycle.nodes().iter().all(|&node| {
            usize::from(
                self.intents[node as usize]
                    .trust_constraints
                    .max_cycle_length,
            ) >= len
        });
        if !accepted {
            return None;
        }
        let (mut max, mut min) = (f64::NEG_INFINITY, f64::INFINITY);
        for value in self.get_values(cycle) {
            max = max.max(value);
            min = min.min(value);
        }
        let value_spread = if max <= 0.0 {
            0.0
        } else {
            round_to((max - min) / max, 4)
        };
        let base = if len == 2 { 0.90 } else { 0.85 };
        let confidence_score = round_to(base - value_spread, 4).clamp(0.0, 1.0);
        Some(Candidate {
            cycle,
            confidence_score,
            value_spread,
            id_hex: self.id_hex(cycle),
        })
    }

    fn id_hex(&self, cycle: Cycle) -> [u8; 12] {
        let mut hasher = Sha256::new();
        for (i, &node) in cycle.nodes().iter().enumerate() {
            if i > 0 {
                hasher.update(b">");
            }
            hasher.update(self.intents[node as usize].id.as_bytes());
        }
        let digest = hasher.finalize();
        let mut hex = [0u8; 12];
        for (i, byte) in digest.iter().take(6).enumerate() {
            hex[2 * i] = HEX[usize::from(byte >> 4)];
            hex[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
        }
        hex
    }

    /// The full proposal of a candidate (section 4 step 3).
    pub fn proposal(&self, candidate: &Candidate) -> ProposalDraft {
        let nodes = candidate.cycle.nodes();
        let members: Vec<&SwapIntent> = nodes.iter().map(|&n| self.intents[n as usize]).collect();
        let gets: Vec<f64> = self.get_values(candidate.cycle).collect();
        let participants: Vec<Participant> = members
            .iter()
            .enumerate()
            .map(|(i, intent)| Participant {
                intent_id: intent.id.clone(),
                actor: intent.actor.clone(),
                give: intent.offer.clone(),
                get: members[(i + 1) % members.len()].offer.clone(),
            })
            .collect();
        let fee_breakdown = members
            .iter()
            .zip(&gets)
            .map(|(intent, get)| Fee {
                actor: intent.actor.clone(),
                fee_usd: JsNumber(round_to(0.01 * get, 2)),
            })
            .collect();
        let expires_at = members
            .iter()
            .map(|intent| intent.time_constraints.expires_at.as_str())
            .filter(|at| !at.is_empty())
            .min()
            .unwrap_or(NO_EXPIRY)
            .to_owned();
        ProposalDraft {
            id: candidate.id(),
            intent_ids: members.iter().map(|intent| intent.id.clone()).collect(),
            participants,
            confidence_score: candidate.confidence_score,
            value_spread: candidate.value_spread,
            fee_breakdown,
            expires_at,
            explainability: vec![
                "All wants satisfied within explicit constraints".to_owned(),
                format!("cycle_length={}", nodes.len()),
                format!("value_spread={}", candidate.value_spread),
                format!("confidence_score={}", candidate.confidence_score),
            ],
        }
    }

    /// The intent ids of a candidate, in cycle order.
    pub fn intent_ids(&self, candidate: &Candidate) -> Vec<&str> {
        candidate
            .cycle
            .nodes()
            .iter()
            .map(|&n| self.intents[n as usize].id.as_str())
            .collect()
    }
}

/// Greedy disjoint pick over ranked candidates: take one when it shares no intent with one
/// already taken. Returns indexes into `ranked`, in order.
pub fn select_greedy(node_count: usize, ranked: &[Candidate]) -> Vec<usize> {
    selection::greedy(
        node_count,
        ranked.iter().map(|candidate| candidate.cycle.nodes()),
    )
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The out-edges of one chunk of nodes, before they are joined.
#[derive(Default)]
struct EdgeChunk {
    targets: Vec<u32>,
    /// Per node of the chunk, the end of its targets in `targets`.
    ends: Vec<usize>,
    skipped: u64,
}

/// Offering nodes per asset key and per category, as compressed rows: each group's nodes are
/// ascending and distinct. One map entry per distinct key, no list per key.
struct OfferIndex<'a> {
    by_asset: HashMap<(Platform, &'a str), u32, FixedState>,
    by_category: HashMap<&'a str, u32, FixedState>,
    /// Group `g`'s nodes are `members[starts[g]..starts[g + 1]]`.
    starts: Vec<usize>,
    members: Vec<u32>,
}

impl<'a> OfferIndex<'a> {
    fn build(nodes: &[&'a SwapIntent]) -> OfferIndex<'a> {
        let offered: usize = nodes.iter().map(|intent| intent.offer.len()).sum();
        let mut by_asset = HashMap::with_capacity_and_hasher(offered, FixedState::default());
        let mut by_category = HashMap::with_hasher(FixedState::default());
        // (group, node) in node order; a node offering one key twice is listed twice here
        // and once in its group.
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(offered * 2);
        let mut groups = 0u32;
        for (node, intent) in nodes.iter().enumerate() {
            let node = node_id(node);
            for asset in &intent.offer {
                let group = *by_asset
                    .entry((asset.platform, asset.asset_id.as_str()))
                    .or_insert_with(|| next_group(&mut groups));
                pairs.push((group, node));
                if let Some(category) = asset.category() {
                    let group = *by_category
                        .entry(category)
                        .or_insert_with(|| next_group(&mut groups));
                    pairs.push((group, node));
                }
            }
        }
        let mut starts = vec![0usize; groups as usize + 1];
        for &(group, _) in &pairs {
            starts[group as usize + 1] += 1;
        }
        for g in 0..groups as usize {
            starts[g + 1] += starts[g];
        }
        let mut fill = starts.clone();
        let mut members = vec![0u32; pairs.len()];
        for (group, node) in pairs {
            let group = group as usize;
            if fill[group] > starts[group] && members[fill[group] - 1] == node {
                continue;
            }
            members[fill[group]] = node;
            fill[group] += 1;
        }
        // Compact away the slots that duplicates left empty.
        let mut compact = Vec::with_capacity(members.len());
        let mut compact_starts = Vec::with_capacity(starts.len());
        compact_starts.push(0);
        for g in 0..groups as usize {
            compact.extend_from_slice(&members[starts[g]..fill[g]]);
            compact_starts.push(compact.len());
        }
        OfferIndex {
            by_asset,
            by_category,
            starts: compact_starts,
            members: compact,
        }
    }

    fn group(&self, group: u32) -> &[u32] {
        let group = group as usize;
        &self.members[self.starts[group]..self.starts[group + 1]]
    }

    /// The nodes whose offer meets `clause`, ascending.
    fn offering(&self, clause: &WantClause) -> &[u32] {
        let group = match clause {
            WantClause::SpecificAsset { asset_key, .. } => {
                parse_asset_key(asset_key).and_then(|key| self.by_asset.get(&key))
            }
            WantClause::Category { category, .. } => self.by_category.get(category.as_str()),
        };
        group.map_or(&[], |&group| self.group(group))
    }
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

fn next_group(groups: &mut u32) -> u32 {
    let group = *groups;
    *groups += 1;
    group
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

fn node_id(index: usize) -> u32 {
    u32::try_from(index).expect("more than 4 billion intents in one run")
}

/// Splits `steam:assetA` into its platform and bare asset id.
fn parse_asset_key(key: &str) -> Option<(Platform, &str)> {
    let (platform, asset_id) = key.split_once(':')?;
    match platform {
        "steam" => Some((Platform::Steam, asset_id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The worked example of spec section 9, from the same fixture file the M111 milestone seeds.
    /// Its intents and its asset values (as a run merges them, before [`engine_values`]).
    fn worked_example() -> (Vec<SwapIntent>, BTreeMap<String, serde_json::Number>) {
        let fixture: Value =
            serde_json::from_str(include_str!("../../../fixtures/swap/worked-example.json"))
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
