//! The enumerations of the marketplace API (spec section 1).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The bar length of a round or a signal.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Timeframe {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "4h")]
    H4,
    #[serde(rename = "1d")]
    D1,
}

impl Timeframe {
    pub fn seconds(self) -> i64 {
        match self {
            Timeframe::M1 => 60,
            Timeframe::M5 => 300,
            Timeframe::M15 => 900,
            Timeframe::H1 => 3_600,
            Timeframe::H4 => 14_400,
            Timeframe::D1 => 86_400,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::M1 => "1m",
            Timeframe::M5 => "5m",
            Timeframe::M15 => "15m",
            Timeframe::H1 => "1h",
            Timeframe::H4 => "4h",
            Timeframe::D1 => "1d",
        }
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Decision {
    Buy,
    Sell,
    Hold,
}

/// What a model does.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Signal,
    Consensus,
    Optimizer,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Signal => "signal",
            Task::Consensus => "consensus",
            Task::Optimizer => "optimizer",
        }
    }
}

/// Where a model version stands on its way to production.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Shadow,
    Pilot,
    Prod,
    Retired,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Shadow => "shadow",
            Stage::Pilot => "pilot",
            Stage::Prod => "prod",
            Stage::Retired => "retired",
        }
    }

    /// Whether the catalog lists a model at this stage.
    pub fn is_live(self) -> bool {
        matches!(self, Stage::Pilot | Stage::Prod)
    }
}

/// A deployment's health as its heartbeats (or their absence) say.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentStatus {
    Pending,
    Ready,
    Error,
    Maintenance,
    Offline,
}

/// What a deployment may report of itself (`offline` is what its silence reads as).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ReportedStatus {
    Pending,
    Ready,
    Error,
    Maintenance,
}

impl From<ReportedStatus> for DeploymentStatus {
    fn from(status: ReportedStatus) -> DeploymentStatus {
        match status {
            ReportedStatus::Pending => DeploymentStatus::Pending,
            ReportedStatus::Ready => DeploymentStatus::Ready,
            ReportedStatus::Error => DeploymentStatus::Error,
            ReportedStatus::Maintenance => DeploymentStatus::Maintenance,
        }
    }
}

/// What a vendor key may do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum VendorScope {
    #[serde(rename = "rounds:read")]
    RoundsRead,
    #[serde(rename = "training:write")]
    TrainingWrite,
    #[serde(rename = "models:write")]
    ModelsWrite,
    #[serde(rename = "deployments:write")]
    DeploymentsWrite,
}

impl VendorScope {
    /// What a vendor's first key holds.
    pub const ALL: [VendorScope; 4] = [
        VendorScope::RoundsRead,
        VendorScope::TrainingWrite,
        VendorScope::ModelsWrite,
        VendorScope::DeploymentsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VendorScope::RoundsRead => "rounds:read",
            VendorScope::TrainingWrite => "training:write",
            VendorScope::ModelsWrite => "models:write",
            VendorScope::DeploymentsWrite => "deployments:write",
        }
    }
}

/// What a deployment token holds (all of it, always).
pub const DEPLOYMENT_SCOPES: [&str; 3] = ["consensus:write", "heartbeats:write", "signals:write"];

/// The part a file plays in a round.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Train,
    Validation,
    Test,
    Features,
}

impl FileKind {
    pub fn parse(text: &str) -> Option<FileKind> {
        match text {
            "train" => Some(FileKind::Train),
            "validation" => Some(FileKind::Validation),
            "test" => Some(FileKind::Test),
            "features" => Some(FileKind::Features),
            _ => None,
        }
    }
}
