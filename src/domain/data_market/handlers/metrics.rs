//! Status and metrics: `/training/status`, `/metrics_summary` and the Prometheus text of
//! `/metrics`, read from the store and the activity log.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::api::{OpContext, Reply, respond};
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::rules::REJECTION_REASONS;
use super::super::store::{self, ContractFilter, DataMarketStore};
use super::super::types::{
    ContractsByState, MarketplaceSnapshot, MetricsSummaryResponse, PendingContractSummary,
    PendingContracts, RoundMetrics, TrainingStatusResponse,
};

/// How many recent operations `/metrics_summary` lists.
const RECENT_OPERATIONS: usize = 20;

pub(super) fn training_status(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let latest = tx.rounds_page(None, 1)?.pop();
    let pending = tx.pending_contracts()?;
    let oldest = pending.first();
    respond(&TrainingStatusResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        current_round: latest.as_ref().map(|round| round.round_id.clone()),
        rounds_completed: latest.as_ref().map_or(0, |round| round.round_number),
        last_round_metrics: latest.map(|round| RoundMetrics {
            round_id: round.round_id,
            accuracy: round.accuracy,
            loss: round.loss,
            completed_at: round.completed_at,
        }),
        marketplace_pending_contracts: PendingContracts {
            count: pending.len() as u64,
            oldest: oldest.map(|contract| PendingContractSummary {
                contract_id: contract.contract_id.clone(),
                round_id: contract.round_id.clone(),
                offer_count: contract.offer_count,
                agreed_price_per_round_total: contract.agreed_price_per_round_total,
            }),
            locked_escrow_total: pending.iter().map(|c| c.agreed_price_per_round_total).sum(),
        },
    })
}

/// The marketplace snapshot shared by `/metrics_summary` and `/metrics`.
fn snapshot(
    ctx: &OpContext<'_>,
    tx: &dyn DataMarketStore,
) -> Result<MarketplaceSnapshot, ApiError> {
    let counts = tx.data_market_counts()?;
    // Match attempts are the calls of the operations that may find no compatible offer (the
    // manifest says which); their refusals carry the rejection reasons.
    let mut attempts = Vec::new();
    for operation in &ctx.env.manifest.operations {
        if operation
            .declared_reasons()
            .any(|reason| reason == Reason::NoCompatibleOffersFound)
        {
            attempts.extend(tx.activity_of(&operation.operation_id)?);
        }
    }
    let mut rejection_reasons_total: BTreeMap<String, u64> = REJECTION_REASONS
        .iter()
        .map(|reason| ((*reason).to_owned(), 0))
        .collect();
    let mut add = |reasons: &Map<String, Value>| {
        for (reason, count) in reasons {
            *rejection_reasons_total.entry(reason.clone()).or_default() +=
                count.as_u64().unwrap_or(0);
        }
    };
    for attempt in &attempts {
        if let Some(Value::Object(reasons)) = attempt
            .event
            .details
            .as_ref()
            .and_then(|d| d.get("rejection_reasons"))
        {
            add(reasons);
        }
    }
    for contract in tx.contracts_page(&ContractFilter::default(), None, usize::MAX)? {
        let reasons = &contract.selection_diagnostics.rejection_reasons;
        add(&reasons
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(*v)))
            .collect());
    }
    Ok(MarketplaceSnapshot {
        offers_total: counts.offers_total,
        offers_active: counts.offers_active,
        open_intents: counts.open_intents,
        contracts_total: counts.contracts_created
            + counts.contracts_bound
            + counts.contracts_released,
        contracts_by_state: ContractsByState {
            created: counts.contracts_created,
            bound_to_round: counts.contracts_bound,
            escrow_released: counts.contracts_released,
        },
        locked_escrow_total: counts.locked_escrow_total,
        released_payout_total: counts.released_payout_total,
        match_attempts: attempts.len() as u64,
        match_failures: attempts.iter().filter(|a| a.event.status >= 400).count() as u64,
        rejection_reasons_total,
    })
}

pub(super) fn summary(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    respond(&MetricsSummaryResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        marketplace: snapshot(ctx, tx)?,
        operations: tx.recent_activity(RECENT_OPERATIONS)?,
    })
}

/// The snapshot in the Prometheus text format (version 0.0.4).
pub(super) fn prometheus(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let s = snapshot(ctx, tx)?;
    let mut text = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        text.push_str(&format!(
            "# HELP marketref_{name} {help}\n# TYPE marketref_{name} {kind}\n"
        ));
        for (labels, value) in samples {
            text.push_str(&format!("marketref_{name}{labels} {value}\n"));
        }
    };
    let plain = |value: u64| vec![(String::new(), value.to_string())];
    metric(
        "offers",
        "gauge",
        "Offers in the store.",
        &plain(s.offers_total),
    );
    metric(
        "offers_active",
        "gauge",
        "Active offers.",
        &plain(s.offers_active),
    );
    metric(
        "round_intents_open",
        "gauge",
        "Open round intents.",
        &plain(s.open_intents),
    );
    let by_state = &s.contracts_by_state;
    metric(
        "contracts",
        "gauge",
        "Contracts by state.",
        &[
            (
                "{state=\"created\"}".to_owned(),
                by_state.created.to_string(),
            ),
            (
                "{state=\"bound_to_round\"}".to_owned(),
                by_state.bound_to_round.to_string(),
            ),
            (
                "{state=\"escrow_released\"}".to_owned(),
                by_state.escrow_released.to_string(),
            ),
        ],
    );
    metric(
        "escrow_locked_usd",
        "gauge",
        "USD locked in escrow.",
        &[(String::new(), s.locked_escrow_total.to_number().to_string())],
    );
    metric(
        "payouts_released_usd",
        "gauge",
        "USD paid out to sellers.",
        &[(
            String::new(),
            s.released_payout_total.to_number().to_string(),
        )],
    );
    metric(
        "match_attempts_total",
        "counter",
        "Match calls.",
        &plain(s.match_attempts),
    );
    metric(
        "match_failures_total",
        "counter",
        "Match calls that created no contract.",
        &plain(s.match_failures),
    );
    let reasons: Vec<(String, String)> = s
        .rejection_reasons_total
        .iter()
        .map(|(reason, count)| (format!("{{reason=\"{reason}\"}}"), count.to_string()))
        .collect();
    metric(
        "rejection_reasons_total",
        "counter",
        "Offer eligibility failures over every match.",
        &reasons,
    );
    Ok(Reply::Body(Value::String(text)))
}
