//! Health, the OpenAPI document, dev reset and the console's page.

use crate::api::{Handler, OpContext, Reply, respond};
use crate::error::ApiError;
use crate::store::Tx;

use super::types::{DevResetResponse, HealthResponse, StoreSummary};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("system.health", health),
    ("system.openapi", openapi),
    ("dev.reset", reset),
    ("console.page", console_page),
];

/// Reads the counters the domains declare, which the store keeps as rows come and go: the
/// same few reads however much is stored.
fn health(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let names: Vec<&str> = ctx
        .env
        .domains
        .iter()
        .flat_map(|domain| domain.health_counters.iter().copied())
        .collect();
    respond(&HealthResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        ok: true,
        store: StoreSummary {
            backend: ctx.env.store.backend.to_owned(),
            path: ctx.env.store.path.clone(),
        },
        summary: tx.health_counters(&names)?,
    })
}

fn openapi(ctx: &OpContext<'_>, _tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    Ok(Reply::Body(ctx.env.openapi.clone()))
}

fn reset(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    tx.reset_all()?;
    respond(&DevResetResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        reset: true,
    })
}

fn console_page(ctx: &OpContext<'_>, _tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    crate::console::page::render(&ctx.env.manifest, ctx.env.domains)
        .map(|page| Reply::Body(serde_json::Value::String(page)))
}
