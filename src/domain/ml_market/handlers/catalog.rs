//! The public catalog (spec section 6): every model with a version in `pilot` or `prod`, with
//! how healthy its deployments are and what its signals say.

use std::collections::BTreeMap;

use crate::api::{OpContext, Page, Reply, respond};
use crate::error::ApiError;
use crate::json::{JsNumber, round_to};
use crate::reason::Reason;
use crate::store::Tx;

use super::super::rules::{OOS_SHARPE_METRIC, best_status, catalog_order, deployment_status};
use super::super::store::{self, MlStore};
use super::super::types::{CatalogEntry, List, ModelVersion, Stage};

/// The version a model is listed by: its highest live stage, the latest of those.
fn listed_versions(live: Vec<ModelVersion>) -> BTreeMap<String, ModelVersion> {
    let rank = |stage: Stage| u8::from(stage == Stage::Prod);
    let mut by_model: BTreeMap<String, ModelVersion> = BTreeMap::new();
    for version in live {
        match by_model.get(&version.model_id) {
            Some(kept) if rank(kept.stage) > rank(version.stage) => {}
            _ => {
                by_model.insert(version.model_id.clone(), version);
            }
        }
    }
    by_model
}

fn entry(
    tx: &dyn MlStore,
    version: ModelVersion,
    now: time::OffsetDateTime,
) -> Result<Option<CatalogEntry>, ApiError> {
    let Some(model) = tx.model(&version.model_id)? else {
        return Ok(None);
    };
    let vendor_name = tx
        .vendor(&model.vendor_id)?
        .map(|vendor| vendor.name)
        .unwrap_or_default();
    let deployments = tx.deployments_of_model(&model.model_id)?;
    let last_heartbeat_at = deployments
        .iter()
        .filter_map(|d| d.last_heartbeat.as_ref().map(|h| h.received_at.clone()))
        .max();
    let status = best_status(
        deployments
            .iter()
            .map(|d| deployment_status(d.last_heartbeat.as_ref(), now)),
    );
    let stats = tx.signal_stats(&model.model_id)?;
    let avg_confidence =
        (stats.count > 0).then(|| JsNumber(round_to(stats.confidence_sum / stats.count as f64, 6)));
    Ok(Some(CatalogEntry {
        id: model.model_id,
        name: model.name,
        description: model.description,
        vendor: model.vendor_id,
        vendor_name,
        task: model.task,
        stage: version.stage,
        last_oos_sharpe: version.metrics.get(OOS_SHARPE_METRIC).copied(),
        metrics_source: version.metrics_source,
        version_id: version.version_id,
        version: version.version,
        created_at: model.created_at,
        updated_at: model.updated_at,
        last_heartbeat_at,
        status,
        avg_confidence,
        total_predictions: stats.count,
        deployment_count: deployments.len() as u64,
    }))
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let now = ctx.now();
    let mut entries = Vec::new();
    for version in listed_versions(tx.live_versions()?).into_values() {
        if let Some(entry) = entry(tx, version, now)? {
            entries.push(entry);
        }
    }
    entries.retain(|entry| {
        ctx.query_str("task")
            .is_none_or(|task| entry.task.as_str() == task)
            && ctx
                .query_str("stage")
                .is_none_or(|stage| entry.stage.as_str() == stage)
            && ctx
                .query_str("vendor")
                .is_none_or(|vendor| entry.vendor == vendor)
    });
    entries.sort_by(|a, b| {
        catalog_order(
            (a.last_oos_sharpe.map(JsNumber::get), &a.id),
            (b.last_oos_sharpe.map(JsNumber::get), &b.id),
        )
    });
    let start = match ctx.query_str("cursor") {
        None => 0,
        Some(cursor) => {
            entries
                .iter()
                .position(|entry| entry.id == cursor)
                .ok_or_else(|| {
                    ApiError::new(Reason::QueryInvalid)
                        .with("param", "cursor")
                        .with("rule", "unknown_cursor")
                })?
                + 1
        }
    };
    let page = Page::from_query(ctx);
    let rows: Vec<CatalogEntry> = entries.into_iter().skip(start).take(page.fetch()).collect();
    let (items, next_cursor) = page.split(rows, |entry| entry.id.clone());
    respond(&List { items, next_cursor })
}
