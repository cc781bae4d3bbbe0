//! The data marketplace's pure rules (spec sections 3 and 4): eligibility, scoring, budgeted
//! selection with its diagnostics, and the status tables. No store, no clock: "now" is passed in.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::actor::ActorType;
use crate::clock::parse_rfc3339;
use crate::contracts::schemas::enum_variants;
use crate::error::ApiError;
use crate::json::{JsNumber, round_to};
use crate::reason::Reason;

use super::money::Money;
use super::types::{
    AttestationStatus, ContractState, Modality, Offer, OfferStatus, RankedOffer, RoundIntentStatus,
    ScoreBreakdown, SelectedOffer, SelectionDiagnostics,
};

/// Every eligibility rule, in the order the spec lists them.
pub const REJECTION_REASONS: [&str; 6] = [
    "offer_not_active",
    "offer_expired",
    "task_not_supported",
    "modality_mismatch",
    "quality_below_threshold",
    "offer_already_committed",
];

/// Each eligibility rule in words, for people reading diagnostics (the console's failure
/// view), in the order of [`REJECTION_REASONS`].
pub const REJECTION_WORDS: [&str; 6] = [
    "the offer is paused or retired",
    "the offer's expires_at has passed",
    "the offer's allowed_tasks do not include the intent's task_type",
    "the offer's modality is not one of the intent's required_modalities",
    "the offer's quality_score is below the intent's min_quality_score",
    "the offer is in another contract whose escrow is not released yet",
];

/// How many ranked offers the diagnostics show.
const TOP_RANKED: usize = 5;

/// What a selection runs under: the intent's policy, possibly overridden by a preview.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub task_type: String,
    pub required_modalities: Vec<Modality>,
    pub min_quality_score: f64,
    pub budget_total: Money,
    pub max_offers: u32,
}

/// The rules `offer` fails for `policy` at `now`; empty when it is compatible.
pub fn rejections(
    offer: &Offer,
    policy: &Policy,
    now: OffsetDateTime,
    committed: &BTreeSet<String>,
) -> Vec<&'static str> {
    let mut failed = Vec::new();
    if offer.status != OfferStatus::Active {
        failed.push(REJECTION_REASONS[0]);
    }
    let expired = offer
        .expires_at
        .as_deref()
        .and_then(parse_rfc3339)
        .is_some_and(|expires| expires <= now);
    if expired {
        failed.push(REJECTION_REASONS[1]);
    }
    if !offer.allowed_tasks.is_empty() && !offer.allowed_tasks.contains(&policy.task_type) {
        failed.push(REJECTION_REASONS[2]);
    }
    if !policy.required_modalities.is_empty()
        && !policy.required_modalities.contains(&offer.modality)
    {
        failed.push(REJECTION_REASONS[3]);
    }
    if offer.quality_score.get() < policy.min_quality_score {
        failed.push(REJECTION_REASONS[4]);
    }
    if committed.contains(&offer.offer_id) {
        failed.push(REJECTION_REASONS[5]);
    }
    failed
}

/// The score of an offer; each part and the total rounded to 6 decimals.
pub fn score(offer: &Offer) -> ScoreBreakdown {
    let quality = 0.5 * offer.quality_score.get();
    let cost = 0.3 / (1.0 + offer.price_per_round.as_f64());
    let trust = 0.2
        * if offer.attestation_status == AttestationStatus::Verified {
            1.0
        } else {
            0.5
        };
    ScoreBreakdown {
        quality: JsNumber(round_to(quality, 6)),
        cost: JsNumber(round_to(cost, 6)),
        trust: JsNumber(round_to(trust, 6)),
        total: JsNumber(round_to(quality + cost + trust, 6)),
    }
}

/// A selection and why it came out so.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    pub selected: Vec<SelectedOffer>,
    pub total: Money,
    pub diagnostics: SelectionDiagnostics,
}

/// Ranks the compatible offers by total score (then offer id) and walks the ranking: an offer
/// whose price would push the sum over the budget is skipped and counted; the walk stops at
/// `max_offers`.
pub fn select(
    offers: &[Offer],
    policy: &Policy,
    now: OffsetDateTime,
    committed: &BTreeSet<String>,
) -> Selection {
    let mut rejection_reasons: BTreeMap<String, u64> = REJECTION_REASONS
        .iter()
        .map(|reason| ((*reason).to_owned(), 0))
        .collect();
    let mut ranked: Vec<(&Offer, ScoreBreakdown)> = Vec::new();
    for offer in offers {
        let failed = rejections(offer, policy, now, committed);
        if failed.is_empty() {
            ranked.push((offer, score(offer)));
        }
        for reason in failed {
            *rejection_reasons.entry(reason.to_owned()).or_default() += 1;
        }
    }
    ranked.sort_by(|(a, sa), (b, sb)| {
        sb.total
            .get()
            .total_cmp(&sa.total.get())
            .then_with(|| a.offer_id.cmp(&b.offer_id))
    });

    let mut selected = Vec::new();
    let mut total = Money::ZERO;
    let mut budget_rejected = 0;
    let mut top_ranked_offers = Vec::new();
    let max_offers = usize::try_from(policy.max_offers).unwrap_or(usize::MAX);
    for (offer, breakdown) in &ranked {
        let mut entry = RankedOffer {
            offer_id: offer.offer_id.clone(),
            score_breakdown: *breakdown,
            selected: false,
            skipped_for_budget: false,
        };
        if selected.len() < max_offers {
            if total + offer.price_per_round > policy.budget_total {
                budget_rejected += 1;
                entry.skipped_for_budget = true;
            } else {
                total = total + offer.price_per_round;
                entry.selected = true;
                selected.push(SelectedOffer {
                    offer_id: offer.offer_id.clone(),
                    seller_node_id: offer.seller_node_id.clone(),
                    price_per_round: offer.price_per_round,
                    quality_score: offer.quality_score,
                    sample_count: offer.sample_count,
                    dataset_fingerprint: offer.dataset_fingerprint.clone(),
                    score: breakdown.total,
                    score_breakdown: *breakdown,
                });
            }
        }
        if top_ranked_offers.len() < TOP_RANKED {
            top_ranked_offers.push(entry);
        }
    }
    Selection {
        selected,
        total,
        diagnostics: SelectionDiagnostics {
            offers_evaluated: offers.len() as u64,
            compatible_offers: ranked.len() as u64,
            budget_rejected,
            rejection_reasons,
            top_ranked_offers,
        },
    }
}

/// Whether a round intent may go from `from` to `to` by an edit (spec section 3). `matched` is
/// reached only by a match; `matched -> closed` only once the contract's escrow is released.
pub fn intent_transition_allowed(
    from: RoundIntentStatus,
    to: RoundIntentStatus,
    contract_released: bool,
) -> bool {
    use RoundIntentStatus::{Cancelled, Closed, Matched, Open};
    match (from, to) {
        (Open, Cancelled | Closed) => true,
        (Matched, Closed) => contract_released,
        _ => false,
    }
}

/// Whether a contract in `state` has released its escrow: what lets its matched intent close
/// (the intent table's `contract_released`).
pub fn contract_released(state: ContractState) -> bool {
    state == ContractState::EscrowReleased
}

/// Why a contract in `state` cannot release its escrow, if its state alone says so (spec
/// section 6): the reason `escrow.release` answers. A bound contract releases once its round
/// is stored.
pub fn release_blocker(state: ContractState) -> Option<Reason> {
    match state {
        ContractState::Created => Some(Reason::ContractRoundNotCompleted),
        ContractState::BoundToRound => None,
        ContractState::EscrowReleased => Some(Reason::ContractAlreadyReleased),
    }
}

/// What the web console shows of these rules, computed from them: the intent status table,
/// the contract states that block a release, the eligibility rules with their words, the
/// reason a match answers when it selects nothing, and the roles one acts as.
pub fn console_facts() -> Result<Value, ApiError> {
    let statuses: Vec<RoundIntentStatus> = enum_variants().map_err(ApiError::internal)?;
    let mut transitions = Vec::new();
    for &from in &statuses {
        for &to in &statuses {
            let when = if intent_transition_allowed(from, to, false) {
                "always"
            } else if intent_transition_allowed(from, to, true) {
                "contract_released"
            } else {
                continue;
            };
            transitions.push(json!({"from": from, "to": to, "when": when}));
        }
    }
    let mut release_blockers = serde_json::Map::new();
    let mut released_states = Vec::new();
    for state in enum_variants::<ContractState>().map_err(ApiError::internal)? {
        if let Some(reason) = release_blocker(state) {
            release_blockers.insert(state.as_str().to_owned(), json!(reason.code()));
        }
        if contract_released(state) {
            released_states.push(state);
        }
    }
    let rejection_reasons: Vec<Value> = REJECTION_REASONS
        .iter()
        .zip(REJECTION_WORDS)
        .map(|(code, words)| json!({"code": code, "words": words}))
        .collect();
    Ok(json!({
        "intent_statuses": statuses,
        "intent_transitions": transitions,
        "release_blockers": release_blockers,
        "released_contract_states": released_states,
        "rejection_reasons": rejection_reasons,
        "empty_selection_reason": Reason::NoCompatibleOffersFound.code(),
        "roles": console_roles(),
    }))
}

/// The people of the loop the console lets one act as: what each drives, the id it starts
/// with, and, where the manifest admits several actor types for those operations, the one the
/// guide (`docs/first-ten-minutes.md`) gives it. Scopes are not here: the console derives them,
/// and checks the actor type, from the manifest's auth rules of these operations and of the
/// reads every role makes.
fn console_roles() -> Value {
    json!([
        {
            "key": "provider",
            "label": "Data provider",
            "actor_id": "node_alpha",
            "actor_type": ActorType::Agent,
            "drives": ["dataOffers.create"],
        },
        {
            "key": "owner",
            "label": "Model owner",
            "actor_id": "owner_ada",
            "actor_type": ActorType::User,
            "drives": ["roundIntents.create", "roundIntents.update"],
        },
        {
            "key": "operator",
            "label": "Operator",
            "actor_id": "operator_main",
            "drives": [
                "dataMarketplace.preview",
                "dataMarketplace.match",
                "trainingRounds.create",
                "escrow.release",
            ],
        },
    ])
}

/// Whether an offer may go from `from` to `to`: active and paused alternate, either may
/// retire, a retired offer stays retired.
pub fn offer_transition_allowed(from: OfferStatus, to: OfferStatus) -> bool {
    use OfferStatus::{Active, Paused, Retired};
    matches!(
        (from, to),
        (Active, Paused | Retired) | (Paused, Active | Retired)
    ) || (from == to && from != Retired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;

    #[test]
    fn the_console_sees_the_status_table_the_rules_apply() {
        assert_eq!(
            console_facts().unwrap()["intent_transitions"],
            json!([
                {"from": "open", "to": "cancelled", "when": "always"},
                {"from": "open", "to": "closed", "when": "always"},
                {"from": "matched", "to": "closed", "when": "contract_released"},
            ])
        );
    }

    #[test]
    fn the_console_sees_the_reasons_a_release_is_refused_with() {
        assert_eq!(
            console_facts().unwrap()["release_blockers"],
            json!({"created": "contract_round_not_completed", "escrow_released": "contract_already_released"})
        );
    }

    fn offer(id: &str, quality: f64, price: f64, verified: bool) -> Offer {
        Offer {
            offer_id: id.into(),
            seller_node_id: format!("node_{id}"),
            dataset_fingerprint: format!("sha256:{id}00000000"),
            title: "t".into(),
            description: String::new(),
            modality: Modality::Tabular,
            label_schema: "unknown".into(),
            privacy_profile: "dp-ready".into(),
            sample_count: 100,
            quality_score: JsNumber(quality),
            allowed_tasks: vec![],
            attestation_status: if verified {
                AttestationStatus::Verified
            } else {
                AttestationStatus::Unknown
            },
            price_per_round: Money::from_usd(price).unwrap(),
            min_rounds: 1,
            expires_at: None,
            status: OfferStatus::Active,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    fn policy(budget: f64, max_offers: u32) -> Policy {
        Policy {
            task_type: "classification".into(),
            required_modalities: vec![],
            min_quality_score: 0.0,
            budget_total: Money::from_usd(budget).unwrap(),
            max_offers,
        }
    }

    fn now() -> OffsetDateTime {
        parse_rfc3339("2026-03-01T00:00:00Z").unwrap()
    }

    #[test]
    fn score_parts_follow_the_formula() {
        let breakdown = score(&offer("a", 0.9, 2.0, true));
        assert_eq!(breakdown.quality.get(), 0.45);
        assert_eq!(breakdown.cost.get(), 0.1);
        assert_eq!(breakdown.trust.get(), 0.2);
        assert_eq!(breakdown.total.get(), 0.75);
        let unverified = score(&offer("b", 0.8, 0.5, false));
        assert_eq!(unverified.cost.get(), 0.2);
        assert_eq!(unverified.trust.get(), 0.1);
    }

    #[test]
    fn the_budget_skips_an_offer_and_the_walk_goes_on() {
        // Ranked a (best), b, c. a + b is over budget, a + c is not.
        let offers = [
            offer("a", 1.0, 6.0, true),
            offer("b", 0.9, 5.0, true),
            offer("c", 0.1, 3.0, false),
        ];
        let selection = select(&offers, &policy(10.0, 3), now(), &BTreeSet::new());
        let ids: Vec<&str> = selection
            .selected
            .iter()
            .map(|s| s.offer_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(selection.total, Money::from_usd(9.0).unwrap());
        assert_eq!(selection.diagnostics.budget_rejected, 1);
        assert!(selection.diagnostics.top_ranked_offers[1].skipped_for_budget);
    }

    #[test]
    fn max_offers_stops_the_walk_without_counting_budget() {
        let offers = [offer("a", 1.0, 1.0, true), offer("b", 0.9, 100.0, true)];
        let selection = select(&offers, &policy(10.0, 1), now(), &BTreeSet::new());
        assert_eq!(selection.selected.len(), 1);
        assert_eq!(selection.diagnostics.budget_rejected, 0);
    }

    #[test]
    fn ties_break_by_offer_id() {
        let offers = [offer("b", 0.5, 1.0, false), offer("a", 0.5, 1.0, false)];
        let selection = select(&offers, &policy(10.0, 1), now(), &BTreeSet::new());
        assert_eq!(selection.selected[0].offer_id, "a");
    }

    #[test]
    fn every_rule_is_counted_and_an_offer_may_fail_several() {
        let mut paused_expired = offer("a", 0.9, 1.0, false);
        paused_expired.status = OfferStatus::Paused;
        paused_expired.expires_at = Some("2026-02-01T00:00:00.000Z".into());
        let mut wrong_task = offer("b", 0.1, 1.0, false);
        wrong_task.allowed_tasks = vec!["segmentation".into()];
        wrong_task.modality = Modality::Image;
        let committed = offer("c", 0.9, 1.0, false);
        let mut policy = policy(10.0, 3);
        policy.min_quality_score = 0.5;
        policy.required_modalities = vec![Modality::Tabular];
        let selection = select(
            &[paused_expired, wrong_task, committed],
            &policy,
            now(),
            &BTreeSet::from(["c".to_owned()]),
        );
        let counts: Vec<u64> = REJECTION_REASONS
            .iter()
            .map(|r| selection.diagnostics.rejection_reasons[*r])
            .collect();
        assert_eq!(counts, [1, 1, 1, 1, 1, 1]);
        assert_eq!(selection.diagnostics.compatible_offers, 0);
        assert!(selection.selected.is_empty());
    }

    #[test]
    fn an_offer_expiring_exactly_now_is_expired() {
        let mut at_now = offer("a", 0.9, 1.0, false);
        at_now.expires_at = Some("2026-03-01T00:00:00.000Z".into());
        assert_eq!(
            rejections(&at_now, &policy(10.0, 1), now(), &BTreeSet::new()),
            ["offer_expired"]
        );
    }

    #[test]
    fn intent_status_table() {
        use RoundIntentStatus::{Cancelled, Closed, Matched, Open};
        assert!(intent_transition_allowed(Open, Cancelled, false));
        assert!(intent_transition_allowed(Open, Closed, false));
        assert!(
            !intent_transition_allowed(Open, Matched, false),
            "only a match"
        );
        assert!(!intent_transition_allowed(Matched, Closed, false));
        assert!(intent_transition_allowed(Matched, Closed, true));
        assert!(!intent_transition_allowed(Matched, Open, true));
        assert!(!intent_transition_allowed(Cancelled, Open, true));
        assert!(!intent_transition_allowed(Closed, Cancelled, true));
    }

    #[test]
    fn offer_status_table() {
        use OfferStatus::{Active, Paused, Retired};
        assert!(offer_transition_allowed(Active, Paused));
        assert!(offer_transition_allowed(Paused, Active));
        assert!(offer_transition_allowed(Paused, Retired));
        assert!(!offer_transition_allowed(Retired, Active));
        assert!(!offer_transition_allowed(Retired, Retired));
    }
}
