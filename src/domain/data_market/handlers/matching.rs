//! Preview and match: what a match would select for an intent, and the match that turns it
//! into a contract (spec section 4).

use serde_json::json;
use time::OffsetDateTime;

use crate::api::{OpContext, Reply, respond};
use crate::clock::{format_rfc3339_millis, parse_rfc3339};
use crate::error::ApiError;
use crate::json::JsNumber;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::rules::{self, Policy, Selection};
use super::super::store::{self, DataMarketStore};
use super::super::types::{
    Contract, ContractResponse, ContractState, EffectivePolicy, EscrowStatus, MatchRequest,
    PayoutStatus, Preview, PreviewRequest, PreviewResponse, RoundIntent, RoundIntentStatus,
    TimelineEvent, TimelineEventKind,
};
use super::intents::{not_open, stored_intent};
use super::{money, next_id, object};

const DEFAULT_MAX_OFFERS: u32 = 3;

fn policy_of(intent: &RoundIntent, max_offers: u32) -> Policy {
    Policy {
        task_type: intent.task_type.clone(),
        required_modalities: intent.required_modalities.clone(),
        min_quality_score: intent.min_quality_score.get(),
        budget_total: intent.budget_total,
        max_offers,
    }
}

fn effective_policy(policy: &Policy, now: OffsetDateTime) -> EffectivePolicy {
    EffectivePolicy {
        task_type: policy.task_type.clone(),
        required_modalities: policy.required_modalities.clone(),
        min_quality_score: JsNumber(policy.min_quality_score),
        budget_total: policy.budget_total,
        max_offers: policy.max_offers,
        evaluated_at: format_rfc3339_millis(now),
    }
}

fn run_selection(
    tx: &dyn DataMarketStore,
    policy: &Policy,
    now: OffsetDateTime,
) -> Result<Selection, ApiError> {
    let offers = tx.all_offers()?;
    let committed = tx.committed_offer_ids()?;
    Ok(rules::select(&offers, policy, now, &committed))
}

/// What matching would do, without changing anything.
pub(super) fn preview(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let request: PreviewRequest = ctx.body()?;
    let now = ctx.now();
    let max_offers = request.max_offers.unwrap_or(DEFAULT_MAX_OFFERS);
    let mut policy = match (&request.round_intent_id, &request.intent) {
        (Some(intent_id), None) => policy_of(&stored_intent(tx, intent_id)?, max_offers),
        (None, Some(draft)) => Policy {
            task_type: draft.task_type.clone(),
            required_modalities: draft.required_modalities.clone().unwrap_or_default(),
            min_quality_score: draft.min_quality_score.unwrap_or(0.0),
            budget_total: money(ctx, draft.budget_total, "/intent/budget_total")?,
            max_offers,
        },
        (None, None) => return Err(ctx.field_error("/intent", "required")),
        (Some(_), Some(_)) => return Err(ctx.field_error("/intent", "exactly_one")),
    };
    if let Some(overrides) = &request.policy_overrides {
        if let Some(budget) = overrides.budget_total {
            policy.budget_total = money(ctx, budget, "/policy_overrides/budget_total")?;
        }
        if let Some(min_quality) = overrides.min_quality_score {
            policy.min_quality_score = min_quality;
        }
        if let Some(modalities) = &overrides.required_modalities {
            policy.required_modalities = modalities.clone();
        }
    }
    let selection = run_selection(tx, &policy, now)?;
    respond(&PreviewResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        preview: Preview {
            policy: effective_policy(&policy, now),
            selected_offers: selection.selected,
            agreed_price_per_round_total: selection.total,
            diagnostics: selection.diagnostics,
        },
    })
}

/// Matches an open intent into a contract: the contract and the intent's move to `matched`
/// happen in the request's one transaction, or not at all.
pub(super) fn match_intent(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let request: MatchRequest = ctx.body()?;
    let now = ctx.now();
    let mut intent = stored_intent(tx, &request.round_intent_id)?;
    if intent.status != RoundIntentStatus::Open {
        return Err(not_open(&intent));
    }
    if parse_rfc3339(&intent.deadline_ts).is_some_and(|deadline| deadline <= now) {
        return Err(ApiError::new(Reason::RoundIntentDeadlinePassed)
            .with("round_intent_id", &intent.intent_id)
            .with("deadline_ts", &intent.deadline_ts));
    }
    let policy = policy_of(&intent, request.max_offers.unwrap_or(DEFAULT_MAX_OFFERS));
    let selection = run_selection(tx, &policy, now)?;
    if selection.selected.is_empty() {
        let diagnostics = &selection.diagnostics;
        return Err(ApiError::new(Reason::NoCompatibleOffersFound)
            .with("round_intent_id", &intent.intent_id)
            .with("offers_evaluated", diagnostics.offers_evaluated)
            .with("compatible_offers", diagnostics.compatible_offers)
            .with("budget_rejected", diagnostics.budget_rejected)
            .with("rejection_reasons", &diagnostics.rejection_reasons)
            .with("top_ranked_offers", &diagnostics.top_ranked_offers));
    }
    let (seq, contract_id) = next_id(tx, "data_contract", "contract")?;
    let stamp = format_rfc3339_millis(now);
    let offer_ids: Vec<&str> = selection
        .selected
        .iter()
        .map(|offer| offer.offer_id.as_str())
        .collect();
    let created = TimelineEvent {
        seq: 1,
        at: stamp.clone(),
        event: TimelineEventKind::ContractCreated,
        actor: caller.clone(),
        data: object(json!({
            "round_intent_id": intent.intent_id,
            "offer_ids": offer_ids,
            "agreed_price_per_round_total": selection.total,
        })),
    };
    let contract = Contract {
        contract_id,
        round_intent_id: intent.intent_id.clone(),
        round_id: intent.round_id.clone(),
        model_owner_id: intent.model_owner_id.clone(),
        offer_count: selection.selected.len() as u64,
        selected_offers: selection.selected,
        agreed_price_per_round_total: selection.total,
        state: ContractState::Created,
        escrow_status: EscrowStatus::Locked,
        payout_status: PayoutStatus::Pending,
        bound_round: None,
        payouts: Vec::new(),
        selection_diagnostics: selection.diagnostics,
        timeline: vec![created.clone()],
        created_at: stamp.clone(),
        updated_at: stamp.clone(),
        released_at: None,
    };
    tx.insert_contract(&contract, seq)?;
    tx.append_timeline(&contract.contract_id, &created)?;
    intent.status = RoundIntentStatus::Matched;
    intent.contract_id = Some(contract.contract_id.clone());
    intent.updated_at = stamp;
    tx.update_round_intent(&intent)?;
    respond(&ContractResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contract,
    })
}
