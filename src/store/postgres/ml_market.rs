//! The ML marketplace's store on Postgres.
//!
//! The same statements as on SQLite. A row read by key in a write transaction (a vendor, a
//! round, a model, a version, a deployment, the current round) is read `FOR UPDATE`: the
//! handler may rewrite it, and a writer in another instance must wait for this one's commit
//! and then see it. Lists and pages lock nothing.

use std::any::Any;

use postgres::types::ToSql;

use crate::domain::ml_market::store::{
    DeploymentRecord, Listed, MlStore, ModelRecord, SignalFilter, SignalStats,
};
use crate::domain::ml_market::types::{
    Consensus, DatasetRound, LastHeartbeat, ModelVersion, Signal, Vendor,
};
use crate::store::StoreError;

use super::{PostgresTx, big, encode, sql_limit, unsigned};

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
    super::postgres_tx(tx)
}

/// A page's lower bound: rows after `after_seq`.
fn after(after_seq: Option<u64>) -> i64 {
    after_seq.map_or(0, big)
}

/// A page's upper bound: rows before `before_seq`.
fn before(before_seq: Option<u64>) -> i64 {
    before_seq.map_or(i64::MAX, big)
}

impl MlStore for PostgresTx {
    fn seq_of(&self, table: Listed, id: &str) -> Result<Option<u64>, StoreError> {
        let (table, key) = table.table_and_key();
        self.seq(
            &format!("SELECT seq FROM {table} WHERE {key} = $1"),
            &[&id],
            "reading a sequence",
        )
    }

    fn insert_vendor(&mut self, vendor: &Vendor, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_vendors (vendor_id, seq, document) VALUES ($1, $2, $3)",
            &[&vendor.vendor_id, &big(seq), &encode(vendor)?],
            "storing a vendor",
        )
        .map(drop)
    }

    fn vendor(&self, vendor_id: &str) -> Result<Option<Vendor>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM ml_vendors WHERE vendor_id = $1{}",
                self.for_update()
            ),
            &[&vendor_id],
            "reading a vendor",
        )
    }

    fn vendors_page(
        &self,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Vendor>, StoreError> {
        self.documents(
            "SELECT document FROM ml_vendors WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after(after_seq), &sql_limit(limit)],
            "listing vendors",
        )
    }

    fn insert_round(&mut self, round: &DatasetRound, seq: u64) -> Result<(), StoreError> {
        if round.is_current {
            // Writers making a round current take turns under a lock taken before they look
            // for the current round: the second then finds the first's round current, and
            // retires it, as if they had run one after the other. (Today the round's id
            // counter, allocated first, already makes them take turns; this does not rely on
            // the caller's order.)
            self.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&super::CURRENT_ROUND_LOCK],
                "waiting to make a round current",
            )?;
            let current: Option<DatasetRound> = self.current_round()?;
            if let Some(mut previous) = current {
                previous.is_current = false;
                self.execute(
                    "UPDATE ml_rounds SET is_current = 0, document = $2 WHERE round_id = $1",
                    &[&previous.round_id, &encode(&previous)?],
                    "retiring the current round",
                )?;
            }
        }
        self.execute(
            "INSERT INTO ml_rounds (round_id, seq, is_current, document) VALUES ($1, $2, $3, $4)",
            &[
                &round.round_id,
                &big(seq),
                &i64::from(round.is_current),
                &encode(round)?,
            ],
            "storing a round",
        )
        .map(drop)
    }

    fn round(&self, round_id: &str) -> Result<Option<DatasetRound>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM ml_rounds WHERE round_id = $1{}",
                self.for_update()
            ),
            &[&round_id],
            "reading a round",
        )
    }

    fn current_round(&self) -> Result<Option<DatasetRound>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM ml_rounds WHERE is_current = 1{}",
                self.for_update()
            ),
            &[],
            "reading the current round",
        )
    }

    fn rounds_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DatasetRound>, StoreError> {
        self.documents(
            "SELECT document FROM ml_rounds WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
            &[&before(before_seq), &sql_limit(limit)],
            "listing rounds",
        )
    }

    fn insert_model(&mut self, model: &ModelRecord, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_models (model_id, seq, vendor_id, document) VALUES ($1, $2, $3, $4)",
            &[
                &model.model_id,
                &big(seq),
                &model.vendor_id,
                &encode(model)?,
            ],
            "storing a model",
        )
        .map(drop)
    }

    fn update_model(&mut self, model: &ModelRecord) -> Result<(), StoreError> {
        self.execute(
            "UPDATE ml_models SET document = $2 WHERE model_id = $1",
            &[&model.model_id, &encode(model)?],
            "updating a model",
        )
        .map(drop)
    }

    fn model(&self, model_id: &str) -> Result<Option<ModelRecord>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM ml_models WHERE model_id = $1{}",
                self.for_update()
            ),
            &[&model_id],
            "reading a model",
        )
    }

    fn models_page(
        &self,
        vendor_id: Option<&str>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ModelRecord>, StoreError> {
        // The cast names the parameter's type where it is first met: from `IS NULL` alone
        // Postgres cannot tell it, and refuses the statement.
        self.documents(
            "SELECT document FROM ml_models WHERE ($1::TEXT IS NULL OR vendor_id = $1) AND seq > $2
             ORDER BY seq LIMIT $3",
            &[&vendor_id, &after(after_seq), &sql_limit(limit)],
            "listing models",
        )
    }

    fn insert_version(&mut self, version: &ModelVersion, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_versions (version_id, seq, model_id, version, stage, document)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &version.version_id,
                &big(seq),
                &version.model_id,
                &version.version,
                &version.stage.as_str(),
                &encode(version)?,
            ],
            "storing a version",
        )
        .map(drop)
    }

    fn update_version(&mut self, version: &ModelVersion) -> Result<(), StoreError> {
        self.execute(
            "UPDATE ml_versions SET stage = $2, document = $3 WHERE version_id = $1",
            &[
                &version.version_id,
                &version.stage.as_str(),
                &encode(version)?,
            ],
            "updating a version",
        )
        .map(drop)
    }

    fn version(&self, version_id: &str) -> Result<Option<ModelVersion>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM ml_versions WHERE version_id = $1{}",
                self.for_update()
            ),
            &[&version_id],
            "reading a version",
        )
    }

    fn versions_of(&self, model_id: &str) -> Result<Vec<ModelVersion>, StoreError> {
        self.documents(
            "SELECT document FROM ml_versions WHERE model_id = $1 ORDER BY seq",
            &[&model_id],
            "listing versions",
        )
    }

    fn live_versions(&self) -> Result<Vec<ModelVersion>, StoreError> {
        self.documents(
            "SELECT document FROM ml_versions WHERE stage IN ('pilot', 'prod') ORDER BY seq",
            &[],
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
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &deployment.deployment_id,
                &big(seq),
                &deployment.vendor_id,
                &deployment.model_id,
                &encode(deployment)?,
            ],
            "storing a deployment",
        )
        .map(drop)
    }

    fn deployment(&self, deployment_id: &str) -> Result<Option<DeploymentRecord>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM ml_deployments WHERE deployment_id = $1{}",
                self.for_update()
            ),
            &[&deployment_id],
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
            "SELECT document FROM ml_deployments WHERE vendor_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3",
            &[&vendor_id, &after(after_seq), &sql_limit(limit)],
            "listing deployments",
        )
    }

    fn deployments_of_model(&self, model_id: &str) -> Result<Vec<DeploymentRecord>, StoreError> {
        self.documents(
            "SELECT document FROM ml_deployments WHERE model_id = $1 ORDER BY seq",
            &[&model_id],
            "listing a model's deployments",
        )
    }

    fn record_heartbeat(
        &mut self,
        deployment_id: &str,
        heartbeat: &LastHeartbeat,
    ) -> Result<(), StoreError> {
        // Reading the deployment locks its row, so that two heartbeats of one deployment take
        // turns, and the second numbers its history row after the first's commit.
        let Some(mut deployment) = self.deployment(deployment_id)? else {
            return Ok(());
        };
        deployment.last_heartbeat = Some(heartbeat.clone());
        self.execute(
            "UPDATE ml_deployments SET document = $2 WHERE deployment_id = $1",
            &[&deployment_id, &encode(&deployment)?],
            "noting a heartbeat",
        )?;
        self.execute(
            "INSERT INTO ml_heartbeats (deployment_id, seq, document)
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM ml_heartbeats WHERE deployment_id = $1), $2)",
            &[&deployment_id, &encode(heartbeat)?],
            "storing a heartbeat",
        )
        .map(drop)
    }

    fn insert_signals(&mut self, signals: &[Signal], first_seq: u64) -> Result<(), StoreError> {
        for (offset, signal) in signals.iter().enumerate() {
            self.execute(
                "INSERT INTO ml_signals
                 (signal_id, seq, vendor_id, deployment_id, model_id, symbol, timeframe, document)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &signal.signal_id,
                    &big(first_seq + offset as u64),
                    &signal.vendor_id,
                    &signal.deployment_id,
                    &signal.model_id,
                    &signal.symbol,
                    &signal.timeframe.as_str(),
                    &encode(signal)?,
                ],
                "storing a signal",
            )?;
            // The upsert waits for a concurrent writer of the model's row, then adds to what
            // it committed.
            self.execute(
                "INSERT INTO ml_model_signal_stats (model_id, count, confidence_sum) VALUES ($1, 1, $2)
                 ON CONFLICT (model_id) DO UPDATE SET count = ml_model_signal_stats.count + 1,
                     confidence_sum = ml_model_signal_stats.confidence_sum + EXCLUDED.confidence_sum",
                &[&signal.model_id, &signal.confidence.get()],
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
        // Only the filters given, so that the planner can take the index they name (a
        // `$1 IS NULL OR vendor_id = $1` filter is decided at run time, and scans by seq).
        let before = before(before_seq);
        let limit = sql_limit(limit);
        let mut sql = String::from("SELECT document FROM ml_signals WHERE seq < $1");
        let mut values: Vec<&(dyn ToSql + Sync)> = vec![&before];
        for (column, value) in [
            ("vendor_id", &filter.vendor_id),
            ("deployment_id", &filter.deployment_id),
            ("symbol", &filter.symbol),
            ("timeframe", &filter.timeframe),
        ] {
            if let Some(value) = value {
                values.push(value);
                sql.push_str(&format!(" AND {column} = ${}", values.len()));
            }
        }
        values.push(&limit);
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", values.len()));
        self.documents(&sql, &values, "listing signals")
    }

    fn signal_stats(&self, model_id: &str) -> Result<SignalStats, StoreError> {
        Ok(self
            .row(
                "SELECT count, confidence_sum FROM ml_model_signal_stats WHERE model_id = $1",
                &[&model_id],
                "reading signal statistics",
            )?
            .map(|row| SignalStats {
                count: unsigned(row.get::<_, i64>(0)),
                confidence_sum: row.get::<_, f64>(1),
            })
            .unwrap_or_default())
    }

    fn latest_signals(&self, symbol: &str, timeframe: &str) -> Result<Vec<Signal>, StoreError> {
        self.documents(
            "SELECT s.document FROM ml_signals s
             JOIN (SELECT deployment_id, MAX(seq) AS seq FROM ml_signals
                   WHERE symbol = $1 AND timeframe = $2 GROUP BY deployment_id) latest
               ON s.seq = latest.seq
             ORDER BY s.deployment_id",
            &[&symbol, &timeframe],
            "reading the latest signals",
        )
    }

    fn insert_consensus(&mut self, consensus: &Consensus, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_consensus (consensus_id, seq, symbol, timeframe, document)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &consensus.consensus_id,
                &big(seq),
                &consensus.symbol,
                &consensus.timeframe.as_str(),
                &encode(consensus)?,
            ],
            "storing a consensus",
        )
        .map(drop)
    }

    fn latest_consensus(
        &self,
        symbol: &str,
        timeframe: &str,
    ) -> Result<Option<Consensus>, StoreError> {
        self.document(
            "SELECT document FROM ml_consensus WHERE symbol = $1 AND timeframe = $2
             ORDER BY seq DESC LIMIT 1",
            &[&symbol, &timeframe],
            "reading a consensus",
        )
    }
}
