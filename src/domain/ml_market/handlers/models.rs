//! Models, their versions and stages (spec section 5).

use std::collections::BTreeMap;

use crate::api::{OpContext, Page, Reply, respond};
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::rules::stage_transition_allowed;
use super::super::store::{self, Listed, MlStore, ModelRecord};
use super::super::types::{
    Model, ModelCard, ModelCreateRequest, ModelCreated, ModelVersion, Stage, StageMove,
    StageRequest, VersionCreateRequest,
};
use super::training::metrics_of_run;
use super::{cursor_seq, next_id, now_text, page_of};

/// A model with its versions.
fn assembled(tx: &dyn MlStore, record: ModelRecord) -> Result<Model, ApiError> {
    let versions = tx.versions_of(&record.model_id)?;
    Ok(Model {
        model_id: record.model_id,
        vendor_id: record.vendor_id,
        name: record.name,
        description: record.description,
        task: record.task,
        created_at: record.created_at,
        updated_at: record.updated_at,
        versions,
    })
}

/// The model `model_id`, which must be the calling vendor's.
fn own_model(tx: &dyn MlStore, vendor_id: &str, model_id: &str) -> Result<ModelRecord, ApiError> {
    let model = tx
        .model(model_id)?
        .ok_or_else(|| ApiError::new(Reason::ModelNotFound).with("model_id", model_id))?;
    if model.vendor_id != vendor_id {
        return Err(ApiError::new(Reason::VendorMismatch).with("model_id", model_id));
    }
    Ok(model)
}

/// What a new version is made of, from either registration request.
struct VersionFields {
    version: String,
    hf_repo_id: Option<String>,
    model_card: Option<ModelCard>,
    /// The training run whose metrics the version takes.
    training_run_id: Option<String>,
}

/// A new version of `model`, in `shadow`, registered by the calling vendor at the request's
/// time; with the metrics of the run it names, if it names one.
fn new_version(
    ctx: &OpContext<'_>,
    tx: &mut dyn MlStore,
    model: &ModelRecord,
    fields: VersionFields,
) -> Result<ModelVersion, ApiError> {
    let (metrics, metrics_source) = match &fields.training_run_id {
        Some(run_id) => metrics_of_run(tx, &model.vendor_id, run_id, model.task)?,
        None => (BTreeMap::new(), None),
    };
    let (seq, version_id) = next_id(tx, "ml_version", "ver")?;
    let at = now_text(ctx.now());
    let version = ModelVersion {
        version_id,
        model_id: model.model_id.clone(),
        version: fields.version,
        stage: Stage::Shadow,
        hf_repo_id: fields.hf_repo_id,
        model_card: fields.model_card,
        metrics,
        metrics_source,
        training_run_id: fields.training_run_id,
        created_at: at.clone(),
        stage_history: vec![StageMove {
            from: None,
            to: Stage::Shadow,
            note: None,
            by: vendor_actor(&model.vendor_id),
            at,
        }],
    };
    tx.insert_version(&version, seq).map_err(|error| {
        if error.is_conflict() {
            ApiError::new(Reason::VersionExists)
                .with("model_id", &model.model_id)
                .with("version", &version.version)
        } else {
            error.into()
        }
    })?;
    Ok(version)
}

fn vendor_actor(vendor_id: &str) -> String {
    format!("vendor:{vendor_id}")
}

pub(super) fn create(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let request: ModelCreateRequest = ctx.body()?;
    let (seq, model_id) = next_id(tx, "ml_model", "model")?;
    let at = now_text(ctx.now());
    let record = ModelRecord {
        model_id: model_id.clone(),
        vendor_id: vendor_id.to_owned(),
        name: request.name,
        description: request.description,
        task: request.task,
        created_at: at.clone(),
        updated_at: at,
    };
    tx.insert_model(&record, seq)?;
    let version = new_version(
        ctx,
        tx,
        &record,
        VersionFields {
            version: request.version,
            hf_repo_id: request.hf_repo_id,
            model_card: request.model_card,
            training_run_id: request.training_run_id,
        },
    )?;
    respond(&ModelCreated {
        model_id,
        version_id: version.version_id,
        model: assembled(tx, record)?,
    })
}

fn models_page(
    ctx: &OpContext<'_>,
    tx: &dyn MlStore,
    vendor_id: Option<&str>,
) -> Result<Reply, ApiError> {
    let page = Page::from_query(ctx);
    let after = cursor_seq(ctx, tx, Listed::Models)?;
    let records = tx.models_page(vendor_id, after, page.fetch())?;
    let models = records
        .into_iter()
        .map(|record| assembled(tx, record))
        .collect::<Result<Vec<_>, _>>()?;
    respond(&page_of(&page, models, |model| model.model_id.clone()))
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    models_page(ctx, tx, Some(vendor_id))
}

pub(super) fn list_all(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    models_page(ctx, store::of(tx)?, None)
}

pub(super) fn get(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let record = own_model(tx, vendor_id, ctx.path_param("model_id"))?;
    respond(&assembled(tx, record)?)
}

pub(super) fn create_version(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let mut record = own_model(tx, vendor_id, ctx.path_param("model_id"))?;
    let request: VersionCreateRequest = ctx.body()?;
    let version = new_version(
        ctx,
        tx,
        &record,
        VersionFields {
            version: request.version,
            hf_repo_id: request.hf_repo_id,
            model_card: request.model_card,
            training_run_id: request.training_run_id,
        },
    )?;
    record.updated_at = version.created_at.clone();
    tx.update_model(&record)?;
    respond(&version)
}

/// The version `version_id` of the model `model_id`.
pub(super) fn version_of(
    tx: &dyn MlStore,
    model_id: &str,
    version_id: &str,
) -> Result<ModelVersion, ApiError> {
    tx.version(version_id)?
        .filter(|version| version.model_id == model_id)
        .ok_or_else(|| {
            ApiError::new(Reason::VersionNotFound)
                .with("model_id", model_id)
                .with("version_id", version_id)
        })
}

/// Moves a version along the stage table; the operator's moves are kept with who and when.
pub(super) fn stage(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let operator = ctx.caller()?;
    let model_id = ctx.path_param("model_id");
    let mut model = tx
        .model(model_id)?
        .ok_or_else(|| ApiError::new(Reason::ModelNotFound).with("model_id", model_id))?;
    let mut version = version_of(tx, model_id, ctx.path_param("version_id"))?;
    let request: StageRequest = ctx.body()?;
    if !stage_transition_allowed(version.stage, request.stage) {
        let allowed: Vec<Stage> = [Stage::Shadow, Stage::Pilot, Stage::Prod, Stage::Retired]
            .into_iter()
            .filter(|&to| stage_transition_allowed(version.stage, to))
            .collect();
        return Err(ApiError::new(Reason::InvalidStageTransition)
            .with("current_stage", version.stage)
            .with("next_stage", request.stage)
            .with("allowed", allowed));
    }
    let at = now_text(ctx.now());
    version.stage_history.push(StageMove {
        from: Some(version.stage),
        to: request.stage,
        note: request.note,
        by: format!("{}:{}", operator.kind.as_str(), operator.id),
        at: at.clone(),
    });
    version.stage = request.stage;
    tx.update_version(&version)?;
    model.updated_at = at;
    tx.update_model(&model)?;
    respond(&version)
}
