//! Models, their versions and stages (spec section 5).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::JsNumber;

use super::enums::{Stage, Task};

/// What a model is for and not for, in its vendor's words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    #[schemars(length(min = 1, max = 2000))]
    pub intended_use: String,
    #[schemars(length(max = 50))]
    pub markets: Vec<String>,
    #[schemars(length(max = 2000))]
    pub limitations: String,
}

/// A model version's name: `1.0.0`, `2024-06`, `v3`.
pub const VERSION_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$";

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelCreateRequest {
    #[schemars(length(min = 1, max = 120))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    pub task: Task,
    /// The first version's name.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"))]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"))]
    pub hf_repo_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_card: Option<ModelCard>,
    /// A succeeded training run of the vendor's, for the model's task: the version takes its
    /// metrics (`metrics_source` `platform` for a `local` run, `self_reported` for `byoc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub training_run_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionCreateRequest {
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"))]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"))]
    pub hf_repo_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_card: Option<ModelCard>,
    /// As in [`ModelCreateRequest::training_run_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub training_run_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    pub stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub note: Option<String>,
}

/// One move of a version between stages: who, when, why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageMove {
    pub from: Option<Stage>,
    pub to: Stage,
    pub note: Option<String>,
    /// `partner:operator_main`, or the vendor that registered the version.
    pub by: String,
    pub at: String,
}

/// Where a version's metrics come from: the platform's own training run, or the vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricsSource {
    Platform,
    SelfReported,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelVersion {
    pub version_id: String,
    pub model_id: String,
    pub version: String,
    pub stage: Stage,
    pub hf_repo_id: Option<String>,
    pub model_card: Option<ModelCard>,
    /// By name (`val_sharpe`, ...); empty until a training run reports them.
    pub metrics: BTreeMap<String, JsNumber>,
    pub metrics_source: Option<MetricsSource>,
    /// The training run the metrics come from.
    pub training_run_id: Option<String>,
    pub created_at: String,
    pub stage_history: Vec<StageMove>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub model_id: String,
    pub vendor_id: String,
    pub name: String,
    pub description: Option<String>,
    pub task: Task,
    pub created_at: String,
    pub updated_at: String,
    pub versions: Vec<ModelVersion>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelCreated {
    pub model_id: String,
    pub version_id: String,
    pub model: Model,
}
