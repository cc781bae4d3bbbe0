//! Health, the OpenAPI document, and the dev-only fixture operations.

use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::http::{Handler, OpContext, respond};
use crate::store::Tx;

use super::types::{
    DevFixtures, DevFixturesResponse, DevResetResponse, HealthResponse, HealthSummary,
    LoadedCounts, StoreSummary,
};
use crate::domain::swap::handlers::RUN_COUNTER;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("system.health", health),
    ("system.openapi", openapi),
    ("dev.fixtures.load", load_fixtures),
    ("dev.reset", reset),
];

fn health(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<serde_json::Value, ApiError> {
    let info = ctx.runtime.store.info();
    let counts = tx.swap_counts()?;
    respond(&HealthResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        ok: true,
        store: StoreSummary {
            backend: info.backend.to_owned(),
            path: info.path,
        },
        summary: HealthSummary {
            intents: counts.intents,
            proposals: counts.proposals,
            marketplace_asset_values: counts.marketplace_asset_values,
            marketplace_matching_runs: counts.marketplace_matching_runs,
            marketplace_matching_proposals: counts.marketplace_matching_proposals,
        },
    })
}

fn openapi(ctx: &OpContext<'_>, _tx: &mut dyn Tx) -> Result<serde_json::Value, ApiError> {
    Ok(ctx.runtime.openapi().clone())
}

fn load_fixtures(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<serde_json::Value, ApiError> {
    let fixtures: DevFixtures = ctx.body()?;
    for intent in &fixtures.intents {
        tx.put_intent(intent, &intent.actor)?;
    }
    for proposal in &fixtures.proposals {
        tx.put_proposal(proposal)?;
    }
    let values: BTreeMap<String, serde_json::Number> = fixtures
        .asset_values_usd
        .iter()
        .map(|(asset_id, value)| (asset_id.clone(), value.0.clone()))
        .collect();
    tx.put_asset_values(&values)?;
    let mut counters = 0;
    if let Some(value) = fixtures.counters.marketplace_matching_run {
        tx.set_counter(RUN_COUNTER, value)?;
        counters += 1;
    }
    respond(&DevFixturesResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        loaded: LoadedCounts {
            intents: fixtures.intents.len() as u64,
            proposals: fixtures.proposals.len() as u64,
            asset_values: values.len() as u64,
            counters,
        },
    })
}

fn reset(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<serde_json::Value, ApiError> {
    tx.reset_all()?;
    respond(&DevResetResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        reset: true,
    })
}
