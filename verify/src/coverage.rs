//! `verify --coverage`: what the milestones of one call exercised together, against everything
//! the manifest and the registry declare.
//!
//! - an operation is exercised when a passing step called it;
//! - a reason code when the response of a passing step or probe carried it (`internal_error`
//!   is a bug, never a contract, and is excluded);
//! - an auth rule when its generated probe passed.
//!
//! Coverage passes when nothing declared is left unexercised and every milestone's reason
//! floor is covered.

use marketref::manifest::Manifest;
use marketref::reason::Reason;
use serde::Serialize;

use crate::gates;
use crate::run::MilestoneRun;

#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    pub passed: bool,
    pub milestones: Vec<String>,
    pub operations: Vec<Item>,
    pub reason_codes: Vec<Item>,
    pub auth_rules: Vec<Item>,
    pub floors: Vec<Floor>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub name: String,
    /// Ids of the milestones that exercised it.
    pub exercised_by: Vec<String>,
    /// False for what coverage does not require (`internal_error`).
    pub required: bool,
}

impl Item {
    pub fn is_gap(&self) -> bool {
        self.required && self.exercised_by.is_empty()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Floor {
    pub milestone: String,
    pub reasons: Vec<FloorReason>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FloorReason {
    pub reason_code: String,
    pub covered: bool,
}

pub fn compute(runs: &[MilestoneRun]) -> Coverage {
    let manifest = Manifest::embedded();
    let by = |exercised: &dyn Fn(&MilestoneRun) -> bool| -> Vec<String> {
        runs.iter()
            .filter(|run| exercised(run))
            .map(|run| run.id.clone())
            .collect()
    };
    let operations: Vec<Item> = manifest
        .operations
        .iter()
        .map(|op| Item {
            name: op.operation_id.clone(),
            exercised_by: by(&|run| run.exercised.operations.contains(&op.operation_id)),
            required: true,
        })
        .collect();
    let mut reason_codes: Vec<Item> = Reason::ALL
        .iter()
        .map(|reason| Item {
            name: reason.code().to_owned(),
            exercised_by: by(&|run| run.exercised.reasons.contains(reason)),
            required: *reason != Reason::InternalError,
        })
        .collect();
    reason_codes.sort_by(|a, b| a.name.cmp(&b.name));
    let auth_rules: Vec<Item> = gates::all_auth_rules(&manifest.operations)
        .into_iter()
        .map(|rule| Item {
            exercised_by: by(&|run| run.exercised.auth_rules.contains(&rule)),
            name: rule,
            required: true,
        })
        .collect();
    let floors: Vec<Floor> = runs
        .iter()
        .map(|run| Floor {
            milestone: run.id.clone(),
            reasons: run
                .floor
                .iter()
                .map(|reason| FloorReason {
                    reason_code: reason.reason.code().to_owned(),
                    covered: reason.returned(),
                })
                .collect(),
        })
        .collect();
    let passed = operations
        .iter()
        .chain(&reason_codes)
        .chain(&auth_rules)
        .all(|item| !item.is_gap())
        && floors
            .iter()
            .all(|floor| floor.reasons.iter().all(|r| r.covered));
    Coverage {
        passed,
        milestones: runs.iter().map(|run| run.id.clone()).collect(),
        operations,
        reason_codes,
        auth_rules,
        floors,
    }
}
