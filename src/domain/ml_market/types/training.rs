//! Training runs (spec section 4): the spec a vendor sends, the run the platform keeps, the
//! results a `byoc` run reports.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::JsNumber;

use super::enums::Task;

/// Who trains: the platform's worker pool, the vendor's own machine, or a cloud provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    #[default]
    Local,
    Byoc,
    Runpod,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Local => "local",
            Provider::Byoc => "byoc",
            Provider::Runpod => "runpod",
        }
    }

    pub fn parse(text: &str) -> Option<Provider> {
        [Provider::Local, Provider::Byoc, Provider::Runpod]
            .into_iter()
            .find(|provider| provider.as_str() == text)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Huggingface,
    Tarball,
}

/// Where a run stands: `queued -> running -> succeeded | failed | cancelled`, and no other move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrainingStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl TrainingStatus {
    pub const ALL: [TrainingStatus; 5] = [
        TrainingStatus::Queued,
        TrainingStatus::Running,
        TrainingStatus::Succeeded,
        TrainingStatus::Failed,
        TrainingStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrainingStatus::Queued => "queued",
            TrainingStatus::Running => "running",
            TrainingStatus::Succeeded => "succeeded",
            TrainingStatus::Failed => "failed",
            TrainingStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<TrainingStatus> {
        TrainingStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// Whether the run is over: nothing moves it again.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TrainingStatus::Succeeded | TrainingStatus::Failed | TrainingStatus::Cancelled
        )
    }
}

/// Why a run failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// It was running when its server stopped or died.
    Interrupted,
    /// It ran longer than `budget.max_hours`.
    BudgetExceeded,
    /// The round's files could not be read as a round.
    DatasetUnreadable,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Interrupted => "interrupted",
            FailureReason::BudgetExceeded => "budget_exceeded",
            FailureReason::DatasetUnreadable => "dataset_unreadable",
        }
    }

    pub fn parse(text: &str) -> Option<FailureReason> {
        [
            FailureReason::Interrupted,
            FailureReason::BudgetExceeded,
            FailureReason::DatasetUnreadable,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == text)
    }
}

/// One hyperparameter's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Hyperparam {
    Bool(bool),
    Number(serde_json::Number),
    Text(#[schemars(length(max = 200))] String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Wandb {
    pub enabled: bool,
    #[serde(default)]
    #[schemars(length(min = 1, max = 120))]
    pub project: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// A wall-clock limit the worker measures from the run's start.
    #[serde(default)]
    #[schemars(range(min = 0.0001, max = 720))]
    pub max_hours: Option<f64>,
    #[serde(default)]
    #[schemars(range(min = 0, max = 100000))]
    pub max_cost_usd: Option<f64>,
}

/// What a vendor asks to train; as kept on the run, with its defaults filled in and `round_id`
/// the round's own id even when the request said `current`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// A round id, or `current`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub round_id: String,
    /// The round's files; when empty, the server fills in the round's file paths. Each must be a
    /// file of the round (`/api/datasets/files/{round_id}/{name}`, with or without a signature).
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub dataset_urls: Vec<DatasetUrl>,
    pub task: Task,
    /// `lr` in (0, 10], `epochs` 1..1000, `batch_size` 1..65536, `l2` in [0, 10] for `local`.
    #[serde(default)]
    #[schemars(extend("maxProperties" = 50))]
    pub hyperparams: BTreeMap<String, Hyperparam>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"))]
    pub hf_repo_id: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 200))]
    pub base_image: Option<String>,
    #[serde(default)]
    pub output_format: OutputFormat,
    #[serde(default)]
    pub wandb: Option<Wandb>,
    #[serde(default)]
    pub budget: Option<Budget>,
    #[serde(default)]
    pub provider: Provider,
}

impl TrainingSpec {
    /// The hyperparameters as JSON values, as the trainer reads them.
    pub fn hyperparam_values(&self) -> BTreeMap<String, serde_json::Value> {
        self.hyperparams
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    Hyperparam::Bool(flag) => serde_json::Value::Bool(*flag),
                    Hyperparam::Number(number) => serde_json::Value::Number(number.clone()),
                    Hyperparam::Text(text) => serde_json::Value::String(text.clone()),
                };
                (name.clone(), value)
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct DatasetUrl(#[schemars(length(min = 1, max = 2000))] pub String);

/// A run's model artifact: a signed URL good for 900 seconds of the request clock, with the
/// file's SHA-256 and size; all `null` until a `local` run succeeds or a `byoc` run reports one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingArtifacts {
    pub model_url: Option<String>,
    pub sha256: Option<String>,
    pub size_bytes: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRun {
    pub run_id: String,
    pub vendor_id: String,
    pub provider: Provider,
    pub status: TrainingStatus,
    pub spec: TrainingSpec,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub failure_reason: Option<FailureReason>,
    /// Where the run's log is read (`?since=N`, `?follow=true`).
    pub logs_url: String,
    pub artifacts: TrainingArtifacts,
    /// By name: `train_loss`, `val_loss`, `val_accuracy`, `val_sharpe`, `win_rate`, `trades`
    /// for a succeeded `local` run; what the vendor reported for `byoc`.
    pub metrics: BTreeMap<String, JsNumber>,
    /// `platform` for `local` runs, `self_reported` once a `byoc` run reports.
    pub metrics_source: Option<super::MetricsSource>,
}

/// What a `byoc` run reports when the vendor's own training is done.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingResults {
    #[schemars(extend(
        "minProperties" = 1,
        "maxProperties" = 50,
        "propertyNames" = {"pattern": "^[a-z][a-z0-9_]{0,63}$"}
    ))]
    pub metrics: BTreeMap<String, JsNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2000))]
    pub model_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"))]
    pub hf_repo_id: Option<String>,
}

/// A run's log as `text/plain`, one line per entry from `?since=N` on. With `?follow=true` it is
/// a `text/event-stream` instead: one `log` event per line (its id the line's sequence number),
/// then an `end` event whose data is `{"status": ...}`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct TrainingLog(pub String);

/// A model artifact, as its signed URL serves it (JSON, `marketref-logistic-regression-v1`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct ModelArtifact(pub serde_json::Value);
