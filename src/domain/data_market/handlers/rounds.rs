//! Training rounds: a round binds the waiting contracts, trains on their shards and averages
//! the global model (spec section 5).

use serde_json::json;

use crate::api::{OpContext, Page, Reply, respond};
use crate::error::ApiError;
use crate::json::{JsNumber, round_to};
use crate::reason::Reason;
use crate::store::Tx;

use super::super::store::{self, Sequenced};
use super::super::training::{self, ShardSpec};
use super::super::types::{
    Contract, ContractState, RoundParticipant, TimelineEventKind, TrainingRound,
    TrainingRoundListResponse, TrainingRoundRequest, TrainingRoundResponse,
};
use super::contracts::{record, stored_contract};
use super::{cursor_seq, next_id, now_text};

/// Starts and completes the next round: binds each waiting contract once, trains, averages.
pub(super) fn create(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let request: TrainingRoundRequest = ctx.body()?;
    let contracts = match &request.contract_ids {
        Some(ids) => {
            let mut named = Vec::with_capacity(ids.len());
            for id in ids {
                let contract = stored_contract(tx, id)?;
                if contract.state != ContractState::Created {
                    return Err(ApiError::new(Reason::ContractAlreadyBound)
                        .with("contract_id", id)
                        .with("state", contract.state));
                }
                named.push(contract);
            }
            named
        }
        None => tx.contracts_in_state(ContractState::Created)?,
    };
    if contracts.is_empty() {
        return Err(ApiError::new(Reason::TrainingRoundNoContracts));
    }
    let (seq, round_id) = next_id(tx, "training_round", "round")?;
    let stamp = now_text(ctx);
    let specs: Vec<(&Contract, ShardSpec<'_>)> = contracts
        .iter()
        .flat_map(|contract| {
            contract.selected_offers.iter().map(move |offer| {
                (
                    contract,
                    ShardSpec {
                        dataset_fingerprint: &offer.dataset_fingerprint,
                        quality_score: offer.quality_score.get(),
                        sample_count: offer.sample_count,
                    },
                )
            })
        })
        .collect();
    let shards: Vec<ShardSpec<'_>> = specs.iter().map(|(_, spec)| spec.clone()).collect();
    let global = tx.model()?.unwrap_or_default();
    let outcome = training::run_round(&global, &shards);
    tx.put_model(&outcome.model)?;
    let offers = contracts.iter().flat_map(|contract| {
        contract
            .selected_offers
            .iter()
            .map(move |offer| (contract, offer))
    });
    let participants = offers
        .zip(&outcome.shares)
        .map(|((contract, offer), (samples, weight))| RoundParticipant {
            contract_id: contract.contract_id.clone(),
            offer_id: offer.offer_id.clone(),
            seller_node_id: offer.seller_node_id.clone(),
            dataset_fingerprint: offer.dataset_fingerprint.clone(),
            shard_samples: *samples,
            weight: JsNumber(round_to(*weight, 6)),
        })
        .collect();
    let round = TrainingRound {
        round_id: round_id.clone(),
        round_number: seq,
        bound_contract_ids: contracts.iter().map(|c| c.contract_id.clone()).collect(),
        participants,
        accuracy: JsNumber(round_to(outcome.accuracy, 6)),
        loss: JsNumber(round_to(outcome.loss, 6)),
        started_at: stamp.clone(),
        completed_at: stamp.clone(),
    };
    tx.insert_round(&round, seq)?;
    for mut contract in contracts {
        contract.state = ContractState::BoundToRound;
        contract.bound_round = Some(round_id.clone());
        let data = json!({"round_id": round_id, "accuracy": round.accuracy, "loss": round.loss});
        record(
            tx,
            &mut contract,
            &stamp,
            TimelineEventKind::BoundToRound,
            caller,
            data,
        )?;
    }
    respond(&TrainingRoundResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        round,
    })
}

pub(super) fn get(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let round_id = ctx.path_param("round_id");
    let round = tx
        .round(round_id)?
        .ok_or_else(|| ApiError::new(Reason::TrainingRoundNotFound).with("round_id", round_id))?;
    respond(&TrainingRoundResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        round,
    })
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let page = Page::from_query(ctx);
    let before = cursor_seq(ctx, tx, Sequenced::Rounds)?;
    let rounds = tx.rounds_page(before, page.fetch())?;
    let (rounds, next_cursor) = page.split(rounds, |round: &TrainingRound| round.round_id.clone());
    respond(&TrainingRoundListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        rounds,
        next_cursor,
    })
}
