//! The full proposal of a selected candidate (spec section 4 step 3): participants, fees,
//! expiry and explainability. Built only for the candidates a run keeps, after selection.

use crate::json::{JsNumber, round_to};

use super::super::types::{Fee, Participant, SwapIntent};
use super::candidates::Candidate;
use super::graph::Graph;

/// The instant used when no participant has an expiry.
const NO_EXPIRY: &str = "1970-01-01T00:00:00.000Z";

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

impl Graph<'_> {
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
