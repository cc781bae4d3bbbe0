//! The candidate phase: which cycles every participant accepts, their value spread and
//! confidence score, the proposal id hashed from the intent ids, and the contract's ranking.
//! Only the few selected candidates become full proposals ([`super::proposal`]).

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::json::round_to;

use super::CHUNK;
use super::cycles::Cycle;
use super::graph::Graph;

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

impl Graph<'_> {
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
    pub(super) fn get_values(&self, cycle: Cycle) -> impl Iterator<Item = f64> + '_ {
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
}

const HEX: &[u8; 16] = b"0123456789abcdef";
