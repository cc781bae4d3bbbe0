//! The ML marketplace's store on SQLite.

use std::any::Any;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params};

use crate::domain::ml_market::store::{
    DeploymentRecord, Listed, MlStore, ModelRecord, SignalFilter, SignalStats,
};
use crate::domain::ml_market::types::{
    Consensus, DatasetRound, LastHeartbeat, ModelVersion, Signal, Vendor,
};
use crate::store::StoreError;

use super::{SqliteTx, encode, sql_error, sql_limit};

pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_tables",
        include_str!("migrations/ml_market/0001_tables.sql"),
    ),
    (
        "0002_training_runs",
        include_str!("migrations/ml_market/0002_training_runs.sql"),
    ),
    (
        "0003_training_owner",
        include_str!("migrations/ml_market/0003_training_owner.sql"),
    ),
];

pub(super) fn view<'a>(tx: &'a mut (dyn Any + 'static)) -> &'a mut (dyn MlStore + 'static) {
    super::sqlite_tx(tx)
}

/// A page's lower bound: rows after `after_seq`.
fn after(after_seq: Option<u64>) -> i64 {
    after_seq.map_or(0, |seq| i64::try_from(seq).unwrap_or(i64::MAX))
}

/// A page's upper bound: rows before `before_seq`.
fn before(before_seq: Option<u64>) -> i64 {
    before_seq.map_or(i64::MAX, |seq| i64::try_from(seq).unwrap_or(i64::MAX))
}

impl MlStore for SqliteTx {
    fn seq_of(&self, table: Listed, id: &str) -> Result<Option<u64>, StoreError> {
        let (table, key) = table.table_and_key();
        self.conn()
            .prepare_cached(&format!("SELECT seq FROM {table} WHERE {key} = ?1"))
            .and_then(|mut statement| {
                statement
                    .query_row(params![id], |row| row.get(0))
                    .optional()
            })
            .map_err(sql_error("reading a sequence"))
    }

    fn insert_vendor(&mut self, vendor: &Vendor, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_vendors (vendor_id, seq, document) VALUES (?1, ?2, ?3)",
            params![vendor.vendor_id, seq, encode(vendor)?],
            "storing a vendor",
        )
    }

    fn vendor(&self, vendor_id: &str) -> Result<Option<Vendor>, StoreError> {
        self.document(
            "SELECT document FROM ml_vendors WHERE vendor_id = ?1",
            params![vendor_id],
            "reading a vendor",
        )
    }

    fn vendors_page(
        &self,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Vendor>, StoreError> {
        self.documents(
            "SELECT document FROM ml_vendors WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            params![after(after_seq), sql_limit(limit)],
            "listing vendors",
        )
    }

    fn insert_round(&mut self, round: &DatasetRound, seq: u64) -> Result<(), StoreError> {
        if round.is_current {
            let current: Option<DatasetRound> = self.current_round()?;
            if let Some(mut previous) = current {
                previous.is_current = false;
                self.execute(
                    "UPDATE ml_rounds SET is_current = 0, document = ?2 WHERE round_id = ?1",
                    params![previous.round_id, encode(&previous)?],
                    "retiring the current round",
                )?;
            }
        }
        self.execute(
            "INSERT INTO ml_rounds (round_id, seq, is_current, document) VALUES (?1, ?2, ?3, ?4)",
            params![round.round_id, seq, round.is_current, encode(round)?],
            "storing a round",
        )
    }

    fn round(&self, round_id: &str) -> Result<Option<DatasetRound>, StoreError> {
        self.document(
            "SELECT document FROM ml_rounds WHERE round_id = ?1",
            params![round_id],
            "reading a round",
        )
    }

    fn current_round(&self) -> Result<Option<DatasetRound>, StoreError> {
        self.document(
            "SELECT document FROM ml_rounds WHERE is_current = 1",
            [],
            "reading the current round",
        )
    }

    fn rounds_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DatasetRound>, StoreError> {
        self.documents(
            "SELECT document FROM ml_rounds WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
            params![before(before_seq), sql_limit(limit)],
            "listing rounds",
        )
    }

    fn insert_model(&mut self, model: &ModelRecord, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_models (model_id, seq, vendor_id, document) VALUES (?1, ?2, ?3, ?4)",
            params![model.model_id, seq, model.vendor_id, encode(model)?],
            "storing a model",
        )
    }

    fn update_model(&mut self, model: &ModelRecord) -> Result<(), StoreError> {
        self.execute(
            "UPDATE ml_models SET document = ?2 WHERE model_id = ?1",
            params![model.model_id, encode(model)?],
            "updating a model",
        )
    }

    fn model(&self, model_id: &str) -> Result<Option<ModelRecord>, StoreError> {
        self.document(
            "SELECT document FROM ml_models WHERE model_id = ?1",
            params![model_id],
            "reading a model",
        )
    }

    fn models_page(
        &self,
        vendor_id: Option<&str>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ModelRecord>, StoreError> {
        self.documents(
            "SELECT document FROM ml_models WHERE (?1 IS NULL OR vendor_id = ?1) AND seq > ?2
             ORDER BY seq LIMIT ?3",
            params![vendor_id, after(after_seq), sql_limit(limit)],
            "listing models",
        )
    }

    fn insert_version(&mut self, version: &ModelVersion, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_versions (version_id, seq, model_id, version, stage, document)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                version.version_id,
                seq,
                version.model_id,
                version.version,
                version.stage.as_str(),
                encode(version)?
            ],
            "storing a version",
        )
    }

    fn update_version(&mut self, version: &ModelVersion) -> Result<(), StoreError> {
        self.execute(
            "UPDATE ml_versions SET stage = ?2, document = ?3 WHERE version_id = ?1",
            params![version.version_id, version.stage.as_str(), encode(version)?],
            "updating a version",
        )
    }

    fn version(&self, version_id: &str) -> Result<Option<ModelVersion>, StoreError> {
        self.document(
            "SELECT document FROM ml_versions WHERE version_id = ?1",
            params![version_id],
            "reading a version",
        )
    }

    fn versions_of(&self, model_id: &str) -> Result<Vec<ModelVersion>, StoreError> {
        self.documents(
            "SELECT document FROM ml_versions WHERE model_id = ?1 ORDER BY seq",
            params![model_id],
            "listing versions",
        )
    }

    fn live_versions(&self) -> Result<Vec<ModelVersion>, StoreError> {
        self.documents(
            "SELECT document FROM ml_versions WHERE stage IN ('pilot', 'prod') ORDER BY seq",
            [],
            "listing live versions",
        )
    }

    fn insert_deployment(
        &mut self,
        deployment: &DeploymentRecord,
        seq: u64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_deployments (deployment_id, seq, vendor_id, model_id, document)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                deployment.deployment_id,
                seq,
                deployment.vendor_id,
                deployment.model_id,
                encode(deployment)?
            ],
            "storing a deployment",
        )
    }

    fn deployment(&self, deployment_id: &str) -> Result<Option<DeploymentRecord>, StoreError> {
        self.document(
            "SELECT document FROM ml_deployments WHERE deployment_id = ?1",
            params![deployment_id],
            "reading a deployment",
        )
    }

    fn deployments_page(
        &self,
        vendor_id: &str,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DeploymentRecord>, StoreError> {
        self.documents(
            "SELECT document FROM ml_deployments WHERE vendor_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3",
            params![vendor_id, after(after_seq), sql_limit(limit)],
            "listing deployments",
        )
    }

    fn deployments_of_model(&self, model_id: &str) -> Result<Vec<DeploymentRecord>, StoreError> {
        self.documents(
            "SELECT document FROM ml_deployments WHERE model_id = ?1 ORDER BY seq",
            params![model_id],
            "listing a model's deployments",
        )
    }

    fn record_heartbeat(
        &mut self,
        deployment_id: &str,
        heartbeat: &LastHeartbeat,
    ) -> Result<(), StoreError> {
        let Some(mut deployment) = self.deployment(deployment_id)? else {
            return Ok(());
        };
        deployment.last_heartbeat = Some(heartbeat.clone());
        self.execute(
            "UPDATE ml_deployments SET document = ?2 WHERE deployment_id = ?1",
            params![deployment_id, encode(&deployment)?],
            "noting a heartbeat",
        )?;
        self.execute(
            "INSERT INTO ml_heartbeats (deployment_id, seq, document)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM ml_heartbeats WHERE deployment_id = ?1), ?2)",
            params![deployment_id, encode(heartbeat)?],
            "storing a heartbeat",
        )
    }

    fn insert_signals(&mut self, signals: &[Signal], first_seq: u64) -> Result<(), StoreError> {
        for (offset, signal) in signals.iter().enumerate() {
            self.execute(
                "INSERT INTO ml_signals
                 (signal_id, seq, vendor_id, deployment_id, model_id, symbol, timeframe, document)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    signal.signal_id,
                    first_seq + offset as u64,
                    signal.vendor_id,
                    signal.deployment_id,
                    signal.model_id,
                    signal.symbol,
                    signal.timeframe.as_str(),
                    encode(signal)?
                ],
                "storing a signal",
            )?;
            self.execute(
                "INSERT INTO ml_model_signal_stats (model_id, count, confidence_sum) VALUES (?1, 1, ?2)
                 ON CONFLICT (model_id) DO UPDATE SET count = count + 1,
                     confidence_sum = confidence_sum + excluded.confidence_sum",
                params![signal.model_id, signal.confidence.get()],
                "counting a signal",
            )?;
        }
        Ok(())
    }

    fn signals_page(
        &self,
        filter: &SignalFilter<'_>,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Signal>, StoreError> {
        // Only the filters given, so that the planner can take the index they name (an
        // `?1 IS NULL OR vendor_id = ?1` filter is decided at run time, and scans by seq).
        let mut sql = String::from("SELECT document FROM ml_signals WHERE seq < ?1");
        let mut values = vec![Value::Integer(before(before_seq))];
        for (column, value) in [
            ("vendor_id", filter.vendor_id),
            ("deployment_id", filter.deployment_id),
            ("symbol", filter.symbol),
            ("timeframe", filter.timeframe),
        ] {
            if let Some(value) = value {
                values.push(Value::Text(value.to_owned()));
                sql.push_str(&format!(" AND {column} = ?{}", values.len()));
            }
        }
        values.push(Value::Integer(sql_limit(limit)));
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ?{}", values.len()));
        self.documents(&sql, rusqlite::params_from_iter(values), "listing signals")
    }

    fn signal_stats(&self, model_id: &str) -> Result<SignalStats, StoreError> {
        self.conn()
            .prepare_cached(
                "SELECT count, confidence_sum FROM ml_model_signal_stats WHERE model_id = ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![model_id], |row| {
                        Ok(SignalStats {
                            count: row.get(0)?,
                            confidence_sum: row.get(1)?,
                        })
                    })
                    .optional()
            })
            .map(Option::unwrap_or_default)
            .map_err(sql_error("reading signal statistics"))
    }

    fn latest_signals(&self, symbol: &str, timeframe: &str) -> Result<Vec<Signal>, StoreError> {
        self.documents(
            "SELECT s.document FROM ml_signals s
             JOIN (SELECT deployment_id, MAX(seq) AS seq FROM ml_signals
                   WHERE symbol = ?1 AND timeframe = ?2 GROUP BY deployment_id) latest
               ON s.seq = latest.seq
             ORDER BY s.deployment_id",
            params![symbol, timeframe],
            "reading the latest signals",
        )
    }

    fn insert_consensus(&mut self, consensus: &Consensus, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_consensus (consensus_id, seq, symbol, timeframe, document)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                consensus.consensus_id,
                seq,
                consensus.symbol,
                consensus.timeframe.as_str(),
                encode(consensus)?
            ],
            "storing a consensus",
        )
    }

    fn latest_consensus(
        &self,
        symbol: &str,
        timeframe: &str,
    ) -> Result<Option<Consensus>, StoreError> {
        self.document(
            "SELECT document FROM ml_consensus WHERE symbol = ?1 AND timeframe = ?2
             ORDER BY seq DESC LIMIT 1",
            params![symbol, timeframe],
            "reading a consensus",
        )
    }
}
