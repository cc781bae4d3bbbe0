//! The ML marketplace's part of the console's contract document: the facts of its rules the
//! page needs, computed from the rules themselves (the stage table, which deployment status is
//! the healthy one, when a run is over, the trainer's hyperparameter ranges and the shape of
//! its epoch lines), and the operator the page acts as. Kept apart from `rules.rs`, which is
//! pure and names no trainer, because these facts gather both.

use serde_json::{Value, json};

use crate::actor::ActorType;
use crate::contracts::schemas::enum_variants;
use crate::error::ApiError;
use crate::reason::Reason;

use super::rules::{OFFLINE_AFTER, OOS_SHARPE_METRIC, best_status, stage_transition_allowed};
use super::trainer::{EPOCH_LINE_PATTERN, HYPERPARAM_RANGES, Hyperparams};
use super::types::{DeploymentStatus, Stage, TrainingStatus};

pub fn console_facts() -> Result<Value, ApiError> {
    let stages: Vec<Stage> = enum_variants().map_err(ApiError::internal)?;
    let mut stage_transitions = Vec::new();
    for &from in &stages {
        for &to in &stages {
            if stage_transition_allowed(from, to) {
                stage_transitions.push(json!({"from": from, "to": to}));
            }
        }
    }
    let statuses: Vec<DeploymentStatus> = enum_variants().map_err(ApiError::internal)?;
    let finished: Vec<TrainingStatus> = TrainingStatus::ALL
        .into_iter()
        .filter(|status| status.is_finished())
        .collect();
    Ok(json!({
        "ml": {
            "stages": stages,
            "stage_transitions": stage_transitions,
            "healthy_deployment_status": best_status(statuses),
            "offline_after_s": OFFLINE_AFTER.whole_seconds(),
            "finished_training_statuses": finished,
            "hyperparams": Hyperparams::schemas(),
            // The order the trainer's table gives them (a JSON object keeps none).
            "hyperparam_order": HYPERPARAM_RANGES.map(|range| range.name),
            // What the server answers a hyperparameter the trainer refuses with.
            "hyperparam_reason": Reason::TrainingSpecInvalid.code(),
            "epoch_line_pattern": EPOCH_LINE_PATTERN,
            "oos_sharpe_metric": OOS_SHARPE_METRIC,
        },
        "roles": console_roles(),
    }))
}

/// The operator of the ML walk (`docs/ml-marketplace.md`): vendors, rounds and stages. A
/// vendor is not a role: it calls with its key, which the page holds for the tab.
fn console_roles() -> Value {
    json!([
        {
            "key": "ml_operator",
            "label": "ML operator",
            "actor_id": "operator_main",
            "actor_type": ActorType::Partner,
            "drives": ["mlVendors.create", "mlRounds.create", "mlVersions.stage"],
        },
    ])
}
