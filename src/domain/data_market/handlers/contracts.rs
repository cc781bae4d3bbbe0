//! Contracts and escrow: reading a contract and its timeline, and releasing its escrow to the
//! sellers once its round completed (spec section 5).

use serde_json::{Value, json};

use crate::actor::ActorRef;
use crate::api::{OpContext, Page, Reply, respond};
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::rules;
use super::super::store::{self, ContractFilter, DataMarketStore, Sequenced};
use super::super::types::{
    Contract, ContractListResponse, ContractResponse, ContractState, EscrowReleaseRequest,
    EscrowStatus, Payout, PayoutStatus, TimelineEvent, TimelineEventKind, TimelineResponse,
};
use super::{cursor_seq, now_text, object};

pub(super) fn stored_contract(
    tx: &dyn DataMarketStore,
    contract_id: &str,
) -> Result<Contract, ApiError> {
    tx.contract(contract_id)?
        .ok_or_else(|| ApiError::new(Reason::ContractNotFound).with("contract_id", contract_id))
}

pub(super) fn get(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let contract = stored_contract(tx, ctx.path_param("contract_id"))?;
    respond(&ContractResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contract,
    })
}

pub(super) fn timeline(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let contract = stored_contract(tx, ctx.path_param("contract_id"))?;
    respond(&TimelineResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contract_id: contract.contract_id,
        state: contract.state,
        timeline: contract.timeline,
    })
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let page = Page::from_query(ctx);
    let after = cursor_seq(ctx, tx, Sequenced::Contracts)?;
    let filter = ContractFilter {
        state: ctx.query_str("state"),
        round_intent_id: ctx.query_str("round_intent_id"),
    };
    let contracts = tx.contracts_page(&filter, after, page.fetch())?;
    let (contracts, next_cursor) = page.split(contracts, |c: &Contract| c.contract_id.clone());
    respond(&ContractListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contracts,
        next_cursor,
    })
}

/// Appends the next timeline event and stamps the contract.
pub(super) fn record(
    tx: &mut dyn DataMarketStore,
    contract: &mut Contract,
    at: &str,
    event: TimelineEventKind,
    actor: &ActorRef,
    data: Value,
) -> Result<(), ApiError> {
    let entry = TimelineEvent {
        seq: contract.timeline.len() as u64 + 1,
        at: at.to_owned(),
        event,
        actor: actor.clone(),
        data: object(data),
    };
    tx.append_timeline(&contract.contract_id, &entry)?;
    contract.timeline.push(entry);
    contract.updated_at = at.to_owned();
    tx.update_contract(contract)?;
    Ok(())
}

/// Releases a contract's escrow to its sellers once its training round has completed.
pub(super) fn release_escrow(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let request: EscrowReleaseRequest = ctx.body()?;
    let mut contract = stored_contract(tx, &request.contract_id)?;
    let blocker = match (
        rules::release_blocker(contract.state),
        &contract.bound_round,
    ) {
        (Some(reason), _) => Some(reason),
        (None, Some(round_id)) if tx.round(round_id)?.is_some() => None,
        (None, _) => Some(Reason::ContractRoundNotCompleted),
    };
    if let Some(reason) = blocker {
        let refusal = ApiError::new(reason).with("contract_id", &contract.contract_id);
        return Err(if reason == Reason::ContractAlreadyReleased {
            refusal.with("payout_status", contract.payout_status)
        } else {
            refusal.with("state", contract.state)
        });
    }
    let stamp = now_text(ctx);
    // Sellers are paid in proportion to their prices, out of an escrow that is the sum of
    // those prices: each gets exactly its price, with no rounding left over.
    contract.payouts = contract
        .selected_offers
        .iter()
        .map(|offer| Payout {
            offer_id: offer.offer_id.clone(),
            seller_node_id: offer.seller_node_id.clone(),
            amount: offer.price_per_round,
        })
        .collect();
    contract.state = ContractState::EscrowReleased;
    contract.escrow_status = EscrowStatus::Released;
    contract.payout_status = PayoutStatus::Released;
    contract.released_at = Some(stamp.clone());
    let data =
        json!({"payout_total": contract.agreed_price_per_round_total, "payouts": contract.payouts});
    record(
        tx,
        &mut contract,
        &stamp,
        TimelineEventKind::EscrowReleased,
        caller,
        data,
    )?;
    respond(&ContractResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contract,
    })
}
