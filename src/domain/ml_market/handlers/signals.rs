//! Signals and consensus (spec section 7): attributed to the token's vendor and deployment,
//! stored all together or not at all, read back by anyone.

use crate::api::{DeploymentCaller, OpContext, Page, Reply, respond};
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::rules::computed_consensus;
use super::super::store::{self, DeploymentRecord, Listed, MlStore, SignalFilter};
use super::super::types::{Consensus, ConsensusWrite, Signal, SignalBatch, SignalsStored};
use super::{next_id, now_text, page_of};

/// Refuses a write whose body names a vendor or deployment other than the token's; the
/// `index` is the signal's place in its array.
fn check_attribution(
    caller: &DeploymentCaller<'_>,
    vendor_id: Option<&str>,
    deployment_id: Option<&str>,
    index: Option<usize>,
) -> Result<(), ApiError> {
    let refusal = |field: &str, named: &str| {
        let refusal = ApiError::new(Reason::AttributionMismatch)
            .with("field", field)
            .with("named", named);
        match index {
            Some(index) => refusal.with("index", index),
            None => refusal,
        }
    };
    if let Some(named) = vendor_id.filter(|named| *named != caller.vendor_id) {
        return Err(refusal("vendor_id", named));
    }
    if let Some(named) = deployment_id.filter(|named| *named != caller.deployment_id) {
        return Err(refusal("deployment_id", named));
    }
    Ok(())
}

fn caller_deployment(
    tx: &dyn MlStore,
    caller: &DeploymentCaller<'_>,
) -> Result<DeploymentRecord, ApiError> {
    tx.deployment(caller.deployment_id)?
        .ok_or_else(|| ApiError::internal("a deployment token of no deployment"))
}

pub(super) fn store(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.deployment()?;
    let SignalBatch(batch) = ctx.body()?;
    for (index, write) in batch.iter().enumerate() {
        check_attribution(
            &caller,
            write.vendor_id.as_deref(),
            write.deployment_id.as_deref(),
            Some(index),
        )?;
    }
    let deployment = caller_deployment(tx, &caller)?;
    let received_at = now_text(ctx.now());
    let first = tx.reserve_counter("ml_signal", batch.len() as u64)?;
    let signals: Vec<Signal> = batch
        .into_iter()
        .zip(first..)
        .map(|(write, seq)| Signal {
            signal_id: format!("sig_{seq:06}"),
            vendor_id: deployment.vendor_id.clone(),
            deployment_id: deployment.deployment_id.clone(),
            model_id: deployment.model_id.clone(),
            version_id: deployment.version_id.clone(),
            symbol: write.symbol.0,
            timeframe: write.timeframe,
            decision: write.decision,
            confidence: write.confidence,
            model_version: write.model_version,
            timestamp: write.timestamp,
            rationale: write.rationale.unwrap_or_default(),
            metadata: write.metadata.unwrap_or_default(),
            received_at: received_at.clone(),
        })
        .collect();
    tx.insert_signals(&signals, first)?;
    respond(&SignalsStored {
        deployment_id: deployment.deployment_id,
        stored: signals.len() as u64,
        signal_ids: signals.into_iter().map(|signal| signal.signal_id).collect(),
    })
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let page = Page::from_query(ctx);
    let before = Page::cursor_seq(ctx, |cursor| tx.seq_of(Listed::Signals, cursor))?;
    let filter = SignalFilter {
        vendor_id: ctx.query_str("vendor_id"),
        deployment_id: ctx.query_str("deployment_id"),
        symbol: ctx.query_str("symbol"),
        timeframe: ctx.query_str("timeframe"),
    };
    let signals = tx.signals_page(&filter, before, page.fetch())?;
    respond(&page_of(&page, signals, |signal| signal.signal_id.clone()))
}

pub(super) fn store_consensus(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.deployment()?;
    let write: ConsensusWrite = ctx.body()?;
    check_attribution(
        &caller,
        write.vendor_id.as_deref(),
        write.deployment_id.as_deref(),
        None,
    )?;
    let deployment = caller_deployment(tx, &caller)?;
    let (seq, consensus_id) = next_id(tx, "ml_consensus", "cons")?;
    let consensus = Consensus {
        consensus_id: Some(consensus_id),
        symbol: write.symbol.0,
        timeframe: write.timeframe,
        decision: write.decision,
        confidence: write.confidence,
        model_version: Some(write.model_version),
        timestamp: write.timestamp,
        contributions: write.contributions,
        vendor_id: Some(deployment.vendor_id),
        deployment_id: Some(deployment.deployment_id),
        computed: false,
    };
    tx.insert_consensus(&consensus, seq)?;
    respond(&consensus)
}

/// The latest consensus a consensus model wrote for the market, else the one the latest signal
/// of each deployment gives.
pub(super) fn consensus(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let symbol = ctx.query_str("symbol").unwrap_or_default();
    let timeframe = ctx.query_str("timeframe").unwrap_or_default();
    if let Some(written) = tx.latest_consensus(symbol, timeframe)? {
        return respond(&written);
    }
    let latest = tx.latest_signals(symbol, timeframe)?;
    let Some((decision, confidence, contributions)) = computed_consensus(&latest) else {
        return Err(ApiError::new(Reason::ConsensusNotFound)
            .with("symbol", symbol)
            .with("timeframe", timeframe));
    };
    let timestamp = latest
        .iter()
        .map(|signal| signal.timestamp.as_str())
        .max()
        .unwrap_or_default()
        .to_owned();
    respond(&Consensus {
        consensus_id: None,
        symbol: symbol.to_owned(),
        timeframe: latest[0].timeframe,
        decision,
        confidence,
        model_version: None,
        timestamp,
        contributions,
        vendor_id: None,
        deployment_id: None,
        computed: true,
    })
}
