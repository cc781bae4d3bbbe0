//! Deployments, their tokens and heartbeats (spec section 5).

use time::OffsetDateTime;

use crate::api::{OpContext, Page, Reply, respond};
use crate::credentials::TokenKind;
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::issue::{Grant, Issued, issue_credential};
use super::super::rules::{DEPLOYMENT_TOKEN_LIFETIME, deployment_status};
use super::super::store::{self, DeploymentRecord, Listed, MlStore};
use super::super::types::{
    DEPLOYMENT_SCOPES, Deployment, DeploymentCreateRequest, DeploymentCreated, HeartbeatRecorded,
    HeartbeatRequest, LastHeartbeat, Stage, TokenIssued, TokenRotateRequest,
};
use super::models::version_of;
use super::{cursor_seq, next_id, now_text, page_of};

/// A deployment as it reads at `now`: its status from its last heartbeat.
pub(super) fn as_read(record: DeploymentRecord, now: OffsetDateTime) -> Deployment {
    Deployment {
        status: deployment_status(record.last_heartbeat.as_ref(), now),
        last_heartbeat_at: record
            .last_heartbeat
            .as_ref()
            .map(|heartbeat| heartbeat.received_at.clone()),
        deployment_id: record.deployment_id,
        vendor_id: record.vendor_id,
        model_id: record.model_id,
        version_id: record.version_id,
        endpoint_url: record.endpoint_url,
        created_at: record.created_at,
        last_heartbeat: record.last_heartbeat,
    }
}

fn issue_token(
    ctx: &OpContext<'_>,
    tx: &mut dyn MlStore,
    vendor_id: &str,
    deployment_id: &str,
) -> Result<Issued, ApiError> {
    let grant = Grant {
        kind: TokenKind::DeploymentToken,
        vendor_id,
        deployment_id: Some(deployment_id),
        scopes: DEPLOYMENT_SCOPES.map(str::to_owned).to_vec(),
        lifetime: DEPLOYMENT_TOKEN_LIFETIME,
    };
    Ok(issue_credential(tx, &ctx.env.hasher, ctx.now(), grant)?)
}

/// Deploys one of the vendor's versions (any stage but `retired`), with its first token.
pub(super) fn create(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let request: DeploymentCreateRequest = ctx.body()?;
    let model = tx
        .model(&request.model_id)?
        .ok_or_else(|| ApiError::new(Reason::ModelNotFound).with("model_id", &request.model_id))?;
    if model.vendor_id != vendor_id {
        return Err(ApiError::new(Reason::VendorMismatch).with("model_id", &model.model_id));
    }
    let version = version_of(tx, &model.model_id, &request.version_id)?;
    if version.stage == Stage::Retired {
        return Err(ApiError::new(Reason::VersionRetired).with("version_id", &version.version_id));
    }
    let (seq, deployment_id) = next_id(tx, "ml_deployment", "dep")?;
    let record = DeploymentRecord {
        deployment_id: deployment_id.clone(),
        vendor_id: vendor_id.to_owned(),
        model_id: model.model_id,
        version_id: version.version_id,
        endpoint_url: request.endpoint_url,
        created_at: now_text(ctx.now()),
        last_heartbeat: None,
    };
    tx.insert_deployment(&record, seq)?;
    let token = issue_token(ctx, tx, vendor_id, &deployment_id)?;
    respond(&DeploymentCreated {
        deployment_id,
        infra_token: token.token,
        token_id: token.credential.id,
        token_expires_at: token.credential.expires_at,
        deployment: as_read(record, ctx.now()),
    })
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let page = Page::from_query(ctx);
    let after = cursor_seq(ctx, tx, Listed::Deployments)?;
    let now = ctx.now();
    let deployments: Vec<Deployment> = tx
        .deployments_page(vendor_id, after, page.fetch())?
        .into_iter()
        .map(|record| as_read(record, now))
        .collect();
    respond(&page_of(&page, deployments, |d| d.deployment_id.clone()))
}

/// Another token for the deployment; the earlier ones keep working unless
/// `revoke_previous: true` revokes them now.
pub(super) fn rotate_token(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let deployment_id = ctx.path_param("deployment_id");
    let deployment = tx.deployment(deployment_id)?.ok_or_else(|| {
        ApiError::new(Reason::DeploymentNotFound).with("deployment_id", deployment_id)
    })?;
    if deployment.vendor_id != vendor_id {
        return Err(ApiError::new(Reason::VendorMismatch).with("deployment_id", deployment_id));
    }
    let request: TokenRotateRequest = ctx.body()?;
    let mut revoked_token_ids = Vec::new();
    if request.revoke_previous.unwrap_or(false) {
        let at = now_text(ctx.now());
        for token in tx.deployment_credentials(deployment_id)? {
            if tx.revoke_credential(&token.id, &at)? {
                revoked_token_ids.push(token.id);
            }
        }
    }
    let token = issue_token(ctx, tx, vendor_id, deployment_id)?;
    respond(&TokenIssued {
        deployment_id: deployment_id.to_owned(),
        infra_token: token.token,
        token_id: token.credential.id,
        token_expires_at: token.credential.expires_at,
        revoked_token_ids,
    })
}

/// A deployment's heartbeat: its status, received at the request clock's now.
pub(super) fn heartbeat(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.deployment()?;
    let request: HeartbeatRequest = ctx.body()?;
    if request.deployment_id != caller.deployment_id {
        return Err(ApiError::new(Reason::DeploymentMismatch)
            .with("deployment_id", &request.deployment_id)
            .with("token_deployment_id", caller.deployment_id));
    }
    let received_at = now_text(ctx.now());
    tx.record_heartbeat(
        caller.deployment_id,
        &LastHeartbeat {
            status: request.status,
            timestamp: request.timestamp,
            received_at: received_at.clone(),
            metrics: request.metrics,
            message: request.message,
        },
    )?;
    respond(&HeartbeatRecorded {
        deployment_id: caller.deployment_id.to_owned(),
        status: request.status.into(),
        received_at,
    })
}
