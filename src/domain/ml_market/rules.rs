//! The ML marketplace's pure rules: the stage table, how a deployment's silence reads, how
//! long credentials live, the computed consensus, and the catalog's order. No store, no clock:
//! "now" is passed in.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::clock::parse_rfc3339;
use crate::json::{JsNumber, round_to};

use super::types::{Contribution, Decision, DeploymentStatus, LastHeartbeat, Signal, Stage};

/// A vendor key lives this long.
pub const VENDOR_KEY_LIFETIME: Duration = Duration::days(90);
/// A deployment token lives this long.
pub const DEPLOYMENT_TOKEN_LIFETIME: Duration = Duration::days(30);
/// A deployment without a heartbeat for this long reads as `offline`.
pub const OFFLINE_AFTER: Duration = Duration::minutes(3);
/// How long a signed dataset URL works.
pub const SIGNED_URL_TTL_S: u64 = 900;
/// The metric of a version the catalog shows as its `last_oos_sharpe`: the validation
/// backtest's Sharpe.
pub const OOS_SHARPE_METRIC: &str = "val_sharpe";

/// Whether a version may move from `from` to `to` (spec section 5): forward `shadow -> pilot ->
/// prod -> retired`, and back `pilot -> shadow`, `prod -> pilot`.
pub fn stage_transition_allowed(from: Stage, to: Stage) -> bool {
    use Stage::{Pilot, Prod, Retired, Shadow};
    matches!(
        (from, to),
        (Shadow, Pilot) | (Pilot, Prod) | (Prod, Retired) | (Pilot, Shadow) | (Prod, Pilot)
    )
}

/// A deployment's status at `now`: `pending` before its first heartbeat, `offline` once its
/// last is older than [`OFFLINE_AFTER`], else what it reported.
pub fn deployment_status(last: Option<&LastHeartbeat>, now: OffsetDateTime) -> DeploymentStatus {
    let Some(last) = last else {
        return DeploymentStatus::Pending;
    };
    match parse_rfc3339(&last.received_at) {
        Some(received) if now - received < OFFLINE_AFTER => last.status.into(),
        _ => DeploymentStatus::Offline,
    }
}

/// Which of several deployments' statuses the catalog shows: a ready one over the others.
pub fn best_status(
    statuses: impl IntoIterator<Item = DeploymentStatus>,
) -> Option<DeploymentStatus> {
    use DeploymentStatus::{Error, Maintenance, Offline, Pending, Ready};
    let rank = |status: &DeploymentStatus| match status {
        Ready => 0,
        Maintenance => 1,
        Pending => 2,
        Error => 3,
        Offline => 4,
    };
    statuses.into_iter().min_by_key(rank)
}

/// The consensus of the latest signal of each deployment: each decision weighted by the
/// confidences behind it; the winner's share of the total is the confidence. Ties go to the
/// decision written first in `BUY, SELL, HOLD`. `None` without signals.
pub fn computed_consensus(
    latest: &[Signal],
) -> Option<(Decision, JsNumber, BTreeMap<String, Contribution>)> {
    if latest.is_empty() {
        return None;
    }
    let total: f64 = latest.iter().map(|signal| signal.confidence.get()).sum();
    let mut by_decision: BTreeMap<Decision, f64> = BTreeMap::new();
    for signal in latest {
        *by_decision.entry(signal.decision).or_default() += signal.confidence.get();
    }
    let (decision, weight) = by_decision
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(decision, weight)| (*decision, *weight))?;
    let confidence = if total > 0.0 { weight / total } else { 0.0 };
    let contributions = latest
        .iter()
        .map(|signal| {
            let share = if total > 0.0 {
                signal.confidence.get() / total
            } else {
                0.0
            };
            (
                signal.deployment_id.clone(),
                Contribution {
                    decision: signal.decision,
                    weight: JsNumber(round_to(share, 6)),
                    confidence: Some(signal.confidence),
                },
            )
        })
        .collect();
    Some((decision, JsNumber(round_to(confidence, 6)), contributions))
}

/// The catalog's order: the highest out-of-sample Sharpe first, models without one last, then
/// by id.
pub fn catalog_order(a: (Option<f64>, &str), b: (Option<f64>, &str)) -> std::cmp::Ordering {
    match (a.0, b.0) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.1.cmp(b.1)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.cmp(b.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ml_market::types::{ReportedStatus, Timeframe};

    #[test]
    fn the_stage_table_of_the_spec() {
        use Stage::{Pilot, Prod, Retired, Shadow};
        let all = [Shadow, Pilot, Prod, Retired];
        let allowed: Vec<(Stage, Stage)> = all
            .iter()
            .flat_map(|&from| all.iter().map(move |&to| (from, to)))
            .filter(|&(from, to)| stage_transition_allowed(from, to))
            .collect();
        assert_eq!(
            allowed,
            [
                (Shadow, Pilot),
                (Pilot, Shadow),
                (Pilot, Prod),
                (Prod, Pilot),
                (Prod, Retired)
            ]
        );
    }

    #[test]
    fn a_deployment_is_offline_three_minutes_after_its_last_heartbeat() {
        let at = |text: &str| parse_rfc3339(text).unwrap();
        let last = LastHeartbeat {
            status: ReportedStatus::Ready,
            timestamp: "2026-03-01T09:00:00Z".into(),
            received_at: "2026-03-01T09:00:00.000Z".into(),
            metrics: None,
            message: None,
        };
        assert_eq!(
            deployment_status(None, at("2026-03-01T09:00:00Z")),
            DeploymentStatus::Pending
        );
        assert_eq!(
            deployment_status(Some(&last), at("2026-03-01T09:02:59Z")),
            DeploymentStatus::Ready
        );
        assert_eq!(
            deployment_status(Some(&last), at("2026-03-01T09:03:00Z")),
            DeploymentStatus::Offline
        );
    }

    fn signal(deployment: &str, decision: Decision, confidence: f64) -> Signal {
        Signal {
            signal_id: format!("sig_{deployment}"),
            vendor_id: "vendor_000001".into(),
            deployment_id: deployment.into(),
            model_id: "model_000001".into(),
            version_id: "ver_000001".into(),
            symbol: "EURUSD".into(),
            timeframe: Timeframe::H1,
            decision,
            confidence: JsNumber(confidence),
            model_version: "1.0.0".into(),
            timestamp: "2026-03-01T09:00:00Z".into(),
            rationale: Vec::new(),
            metadata: serde_json::Map::new(),
            received_at: "2026-03-01T09:00:00.000Z".into(),
        }
    }

    #[test]
    fn the_computed_consensus_weighs_decisions_by_confidence() {
        let latest = [
            signal("dep_1", Decision::Buy, 0.6),
            signal("dep_2", Decision::Sell, 0.9),
            signal("dep_3", Decision::Buy, 0.5),
        ];
        let (decision, confidence, contributions) = computed_consensus(&latest).unwrap();
        assert_eq!(decision, Decision::Buy);
        assert!((confidence.get() - 1.1 / 2.0).abs() < 1e-6);
        assert_eq!(contributions.len(), 3);
        assert!(computed_consensus(&[]).is_none());
        let tie = [
            signal("a", Decision::Sell, 0.5),
            signal("b", Decision::Buy, 0.5),
        ];
        assert_eq!(computed_consensus(&tie).unwrap().0, Decision::Buy);
    }

    #[test]
    fn the_catalog_puts_the_best_sharpe_first_and_unknown_last() {
        let mut entries = [
            (None, "m3"),
            (Some(0.5), "m2"),
            (Some(1.5), "m9"),
            (Some(0.5), "m1"),
        ];
        entries.sort_by(|a, b| catalog_order(*a, *b));
        assert_eq!(
            entries.iter().map(|e| e.1).collect::<Vec<_>>(),
            ["m9", "m1", "m2", "m3"]
        );
    }
}
