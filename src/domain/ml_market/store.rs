//! The ML marketplace's store: vendors, dataset rounds, models and their versions,
//! deployments with their heartbeats, signals with per-model statistics, and consensus. Each
//! backend implements [`MlStore`] (`src/store/<backend>/ml_market.rs`). Credentials are the
//! core store's: the request pipeline authenticates with them.

use serde::{Deserialize, Serialize};

use crate::store::{CoreStore, StoreError, Table, Tx};

use super::types::{
    Consensus, DatasetRound, FailureReason, LastHeartbeat, MetricsSource, ModelVersion, Provider,
    Signal, Task, TrainingArtifacts, TrainingSpec, TrainingStatus, Vendor,
};
use crate::json::JsNumber;
use std::collections::BTreeMap;

/// A model without its versions, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRecord {
    pub model_id: String,
    pub vendor_id: String,
    pub name: String,
    pub description: Option<String>,
    pub task: Task,
    pub created_at: String,
    pub updated_at: String,
}

/// A deployment as stored: its status is computed from the last heartbeat when read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentRecord {
    pub deployment_id: String,
    pub vendor_id: String,
    pub model_id: String,
    pub version_id: String,
    pub endpoint_url: Option<String>,
    pub created_at: String,
    pub last_heartbeat: Option<LastHeartbeat>,
}

/// What the catalog needs of a model's signals.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SignalStats {
    pub count: u64,
    pub confidence_sum: f64,
}

/// Filters of `GET /api/signals`.
#[derive(Clone, Debug, Default)]
pub struct SignalFilter<'a> {
    pub vendor_id: Option<&'a str>,
    pub deployment_id: Option<&'a str>,
    pub symbol: Option<&'a str>,
    pub timeframe: Option<&'a str>,
}

/// Tables whose rows are ordered by a `seq` next to their id, for cursors.
#[derive(Clone, Copy, Debug)]
pub enum Listed {
    Vendors,
    Rounds,
    Models,
    Deployments,
    Signals,
    TrainingRuns,
}

impl Listed {
    /// The table and its id column, as every backend's schema names them.
    pub fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            Listed::Vendors => ("ml_vendors", "vendor_id"),
            Listed::Rounds => ("ml_rounds", "round_id"),
            Listed::Models => ("ml_models", "model_id"),
            Listed::Deployments => ("ml_deployments", "deployment_id"),
            Listed::Signals => ("ml_signals", "signal_id"),
            Listed::TrainingRuns => ("ml_training_runs", "run_id"),
        }
    }
}

/// A training run as stored: the wire form without the URLs it is read with (`logs_url`, and
/// the artifact's signed URL for a `local` run, which is made for each request).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    pub run_id: String,
    pub vendor_id: String,
    pub provider: Provider,
    pub status: TrainingStatus,
    pub spec: TrainingSpec,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub failure_reason: Option<FailureReason>,
    /// For a `local` run, `model_url` is `None` here: the artifact is the data folder's.
    pub artifacts: TrainingArtifacts,
    pub metrics: BTreeMap<String, JsNumber>,
    pub metrics_source: Option<MetricsSource>,
}

/// Training runs and their logs. A worker moves a run `queued -> running` by claiming it for
/// its runtime instance, and every later write of a run's progress is conditional on it still
/// being `running`, so that a cancel, in whichever process, wins over the worker's next write,
/// and a run whose instance died is ended once, by whichever instance notices first.
pub trait TrainingStore: CoreStore {
    fn insert_training_run(&mut self, run: &TrainingRecord, seq: u64) -> Result<(), StoreError>;
    fn training_run(&self, run_id: &str) -> Result<Option<TrainingRecord>, StoreError>;
    /// One vendor's runs in creation order after `after_seq`, of one status or all.
    fn training_runs_page(
        &self,
        vendor_id: &str,
        status: Option<TrainingStatus>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TrainingRecord>, StoreError>;
    /// Rewrites a run whose status is still `expected`; answers whether it was.
    fn update_training_run(
        &mut self,
        run: &TrainingRecord,
        expected: TrainingStatus,
    ) -> Result<bool, StoreError>;
    /// The oldest queued run of `provider`, if any. In a write transaction it is the oldest
    /// that no other transaction is claiming: on a backend with row locks, that run is locked
    /// and runs locked by others are passed over, so that two workers never wait on, nor
    /// take, one run.
    fn oldest_queued_run(&self, provider: Provider) -> Result<Option<TrainingRecord>, StoreError>;
    /// Writes `running` (a queued run, now `running`) if the run is still `queued`, owned by
    /// the runtime instance `owner`; answers whether it was.
    fn claim_training_run(
        &mut self,
        running: &TrainingRecord,
        owner: u64,
    ) -> Result<bool, StoreError>;
    /// Every `running` run of `provider`, oldest first, with the runtime instance that claimed
    /// it (`None` for a run claimed before runs had owners).
    fn running_runs_with_owner(
        &self,
        provider: Provider,
    ) -> Result<Vec<(TrainingRecord, Option<u64>)>, StoreError>;
    /// Appends a line to a run's log under the next sequence number (from 1), and answers it.
    fn append_training_log(&mut self, run_id: &str, line: &str) -> Result<u64, StoreError>;
    /// A run's log lines after `after_seq`, in order, at most `limit`.
    fn training_log(
        &self,
        run_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, StoreError>;
}

pub trait MlStore: TrainingStore {
    fn seq_of(&self, table: Listed, id: &str) -> Result<Option<u64>, StoreError>;

    fn insert_vendor(&mut self, vendor: &Vendor, seq: u64) -> Result<(), StoreError>;
    fn vendor(&self, vendor_id: &str) -> Result<Option<Vendor>, StoreError>;
    /// Vendors in creation order, after `after_seq`.
    fn vendors_page(&self, after_seq: Option<u64>, limit: usize)
    -> Result<Vec<Vendor>, StoreError>;

    /// Stores a round; when it is current, the round that was current stops being so.
    fn insert_round(&mut self, round: &DatasetRound, seq: u64) -> Result<(), StoreError>;
    fn round(&self, round_id: &str) -> Result<Option<DatasetRound>, StoreError>;
    fn current_round(&self) -> Result<Option<DatasetRound>, StoreError>;
    /// Rounds newest first, older than `before_seq`.
    fn rounds_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DatasetRound>, StoreError>;

    fn insert_model(&mut self, model: &ModelRecord, seq: u64) -> Result<(), StoreError>;
    fn update_model(&mut self, model: &ModelRecord) -> Result<(), StoreError>;
    fn model(&self, model_id: &str) -> Result<Option<ModelRecord>, StoreError>;
    /// Models in creation order after `after_seq`: one vendor's, or everyone's.
    fn models_page(
        &self,
        vendor_id: Option<&str>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ModelRecord>, StoreError>;
    /// Stores a version; a second version of one model with the same name is a conflict.
    fn insert_version(&mut self, version: &ModelVersion, seq: u64) -> Result<(), StoreError>;
    fn update_version(&mut self, version: &ModelVersion) -> Result<(), StoreError>;
    fn version(&self, version_id: &str) -> Result<Option<ModelVersion>, StoreError>;
    /// A model's versions, in creation order.
    fn versions_of(&self, model_id: &str) -> Result<Vec<ModelVersion>, StoreError>;
    /// Every version in `pilot` or `prod`, in creation order: what the catalog shows.
    fn live_versions(&self) -> Result<Vec<ModelVersion>, StoreError>;

    fn insert_deployment(
        &mut self,
        deployment: &DeploymentRecord,
        seq: u64,
    ) -> Result<(), StoreError>;
    fn deployment(&self, deployment_id: &str) -> Result<Option<DeploymentRecord>, StoreError>;
    fn deployments_page(
        &self,
        vendor_id: &str,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DeploymentRecord>, StoreError>;
    fn deployments_of_model(&self, model_id: &str) -> Result<Vec<DeploymentRecord>, StoreError>;
    /// Keeps a heartbeat: the deployment's last, and the history's next.
    fn record_heartbeat(
        &mut self,
        deployment_id: &str,
        heartbeat: &LastHeartbeat,
    ) -> Result<(), StoreError>;

    /// Stores signals under consecutive sequence numbers from `first_seq`, and adds them to
    /// their model's statistics.
    fn insert_signals(&mut self, signals: &[Signal], first_seq: u64) -> Result<(), StoreError>;
    /// Signals newest first, older than `before_seq`.
    fn signals_page(
        &self,
        filter: &SignalFilter<'_>,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Signal>, StoreError>;
    fn signal_stats(&self, model_id: &str) -> Result<SignalStats, StoreError>;
    /// The newest signal of each deployment for `symbol` and `timeframe`, by deployment id.
    fn latest_signals(&self, symbol: &str, timeframe: &str) -> Result<Vec<Signal>, StoreError>;

    fn insert_consensus(&mut self, consensus: &Consensus, seq: u64) -> Result<(), StoreError>;
    fn latest_consensus(
        &self,
        symbol: &str,
        timeframe: &str,
    ) -> Result<Option<Consensus>, StoreError>;
}

/// The request's transaction as the ML marketplace's store.
pub fn of(tx: &mut dyn Tx) -> Result<&mut (dyn MlStore + 'static), StoreError> {
    tx.domain::<dyn MlStore>()
}

/// The ML marketplace's tables, in reset order (children before parents).
pub const TABLES: &[Table] = &[
    Table::new("ml_training_logs", "run_id, seq"),
    // The instance that claimed a run is a number of the process that trained it, which
    // differs from one run of the verifier, and one backend, to the next.
    Table::new("ml_training_runs", "seq").hiding(&["owner_instance"]),
    Table::new("ml_consensus", "seq"),
    Table::new("ml_model_signal_stats", "model_id"),
    Table::new("ml_signals", "seq"),
    Table::new("ml_heartbeats", "deployment_id, seq"),
    Table::new("ml_deployments", "seq"),
    Table::new("ml_versions", "seq"),
    Table::new("ml_models", "seq"),
    Table::new("ml_rounds", "seq"),
    Table::new("ml_vendors", "seq"),
];

/// Its migrations, in order (the SQL is each backend's).
pub const MIGRATIONS: &[&str] = &["0001_tables", "0002_training_runs", "0003_training_owner"];
