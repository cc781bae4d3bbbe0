//! Synthetic dataset rounds (spec `ml-marketplace.md` section 3): seeded OHLCV bars per symbol,
//! the features computed from them, the label, and the CSV files of a round. Pure: the same
//! seed, symbols, bars and timeframe give the same bytes on every machine.
//!
//! Prices follow a random walk whose returns keep a little of the previous return (a weak
//! momentum), so that a model trained on the features can learn something but not much.
//!
//! Features at bar `t`, from closes `c` (what a model server recomputes from `ohlcv`):
//! - `ret_1`, `ret_5`, `ret_20`: `c[t] / c[t - n] - 1`;
//! - `vol_20`: the population standard deviation of the last 20 one-bar returns;
//! - `rsi_14`: Wilder's RSI over 14 bars as the plain average of gains and losses, in 0..1
//!   (1 when there was no loss);
//! - `label`: 1 when `c[t + 1] > c[t]`, else 0.
//!
//! Rows start at the 21st bar (20 bars of history) and end one bar before the last (the label
//! needs the next close); they are split in time, 60% train, 20% validation, 20% test.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::types::Timeframe;

/// The names of the feature columns, in file order.
pub const FEATURES: [&str; 5] = ["ret_1", "ret_5", "ret_20", "vol_20", "rsi_14"];
/// What each feature is, for `features.csv`.
const FEATURE_WORDS: [&str; 5] = [
    "close[t] / close[t-1] - 1",
    "close[t] / close[t-5] - 1",
    "close[t] / close[t-20] - 1",
    "population standard deviation of ret_1 over bars t-19..t",
    "mean gain / (mean gain + mean loss) of close-to-close changes over bars t-13..t (1 when no loss)",
];
/// Bars of history a row needs.
pub const HISTORY: usize = 20;
/// How much of a bar's return carries into the next.
const MOMENTUM: f64 = 0.08;
/// The standard deviation of a bar's return.
const VOLATILITY: f64 = 0.004;
/// The first bar's time: 2026-01-01T00:00:00Z.
const START_UNIX: i64 = 1_767_225_600;
const HEADER: &str =
    "timestamp,symbol,open,high,low,close,volume,ret_1,ret_5,ret_20,vol_20,rsi_14,label";

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    pub seed: u64,
    pub symbols: Vec<String>,
    pub bars: usize,
    pub timeframe: Timeframe,
}

/// One bar of one symbol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bar {
    pub unix: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// One row of a split file.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub symbol: String,
    pub bar: Bar,
    pub features: [f64; 5],
    pub label: u8,
}

/// A generated file: its name, kind and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    pub name: &'static str,
    /// `train`, `validation`, `test` or `features`.
    pub kind: &'static str,
    pub bytes: Vec<u8>,
}

impl GeneratedFile {
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
}

/// The bars of every symbol, in order.
pub fn bars(recipe: &Recipe) -> Vec<(String, Vec<Bar>)> {
    let step = recipe.timeframe.seconds();
    recipe
        .symbols
        .iter()
        .enumerate()
        .map(|(index, symbol)| {
            // One stream per symbol, so that adding a symbol leaves the others as they were.
            let mut rng = ChaCha8Rng::seed_from_u64(
                recipe.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (index as u64 + 1),
            );
            let mut close = 1.0 + rng.random::<f64>();
            let mut previous_return = 0.0;
            let mut bars = Vec::with_capacity(recipe.bars);
            for bar in 0..recipe.bars {
                let noise: f64 = StandardNormal.sample(&mut rng);
                let bar_return = MOMENTUM * previous_return + VOLATILITY * noise;
                let open = close;
                close = open * bar_return.exp();
                let wick = |rng: &mut ChaCha8Rng| {
                    let draw: f64 = StandardNormal.sample(rng);
                    draw.abs() * VOLATILITY / 2.0
                };
                let high = open.max(close) * (1.0 + wick(&mut rng));
                let low = open.min(close) * (1.0 - wick(&mut rng));
                let volume_draw: f64 = Exp1.sample(&mut rng);
                bars.push(Bar {
                    unix: START_UNIX + step * bar as i64,
                    open,
                    high,
                    low,
                    close,
                    volume: 1_000.0 + 500.0 * volume_draw,
                });
                previous_return = bar_return;
            }
            (symbol.clone(), bars)
        })
        .collect()
}

/// The features of bar `t` from the closes up to it (`t >= HISTORY`).
pub fn features(closes: &[f64], t: usize) -> [f64; 5] {
    let ret = |n: usize| closes[t] / closes[t - n] - 1.0;
    let returns: Vec<f64> = (t + 1 - HISTORY..=t)
        .map(|i| closes[i] / closes[i - 1] - 1.0)
        .collect();
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    let variance = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / returns.len() as f64;
    let (mut gains, mut losses) = (0.0, 0.0);
    for i in t - 13..=t {
        let change = closes[i] - closes[i - 1];
        if change > 0.0 {
            gains += change;
        } else {
            losses -= change;
        }
    }
    let rsi = if losses == 0.0 {
        1.0
    } else {
        gains / (gains + losses)
    };
    [ret(1), ret(5), ret(20), variance.sqrt(), rsi]
}

/// Every row, ordered by time then symbol.
pub fn rows(recipe: &Recipe) -> Vec<Row> {
    let series = bars(recipe);
    let closes: Vec<Vec<f64>> = series
        .iter()
        .map(|(_, bars)| bars.iter().map(|bar| bar.close).collect())
        .collect();
    let mut rows = Vec::new();
    for t in HISTORY..recipe.bars.saturating_sub(1) {
        for ((symbol, bars), closes) in series.iter().zip(&closes) {
            rows.push(Row {
                symbol: symbol.clone(),
                bar: bars[t],
                features: features(closes, t),
                label: u8::from(closes[t + 1] > closes[t]),
            });
        }
    }
    rows
}

fn csv(rows: &[Row]) -> Vec<u8> {
    let mut text = String::with_capacity(rows.len() * 120 + HEADER.len() + 1);
    text.push_str(HEADER);
    text.push('\n');
    for row in rows {
        let at = OffsetDateTime::from_unix_timestamp(row.bar.unix)
            .map(crate::clock::format_rfc3339_millis)
            .unwrap_or_default();
        let b = &row.bar;
        let f = &row.features;
        text.push_str(&format!(
            "{at},{},{:.6},{:.6},{:.6},{:.6},{:.2},{:.8},{:.8},{:.8},{:.8},{:.6},{}\n",
            row.symbol,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            row.label
        ));
    }
    text.into_bytes()
}

fn features_csv() -> Vec<u8> {
    let mut text = String::from("name,definition\n");
    for (name, words) in FEATURES.iter().zip(FEATURE_WORDS) {
        text.push_str(&format!("{name},\"{words}\"\n"));
    }
    text.into_bytes()
}

/// The files of a round, and how many samples it has.
pub fn files(recipe: &Recipe) -> (Vec<GeneratedFile>, usize) {
    let rows = rows(recipe);
    let symbols = recipe.symbols.len().max(1);
    // Split at whole bars, so that one bar of every symbol lands in the same file.
    let times = rows.len() / symbols;
    let train_end = times * 6 / 10 * symbols;
    let validation_end = times * 8 / 10 * symbols;
    let files = vec![
        GeneratedFile {
            name: "train.csv",
            kind: "train",
            bytes: csv(&rows[..train_end]),
        },
        GeneratedFile {
            name: "validation.csv",
            kind: "validation",
            bytes: csv(&rows[train_end..validation_end]),
        },
        GeneratedFile {
            name: "test.csv",
            kind: "test",
            bytes: csv(&rows[validation_end..]),
        },
        GeneratedFile {
            name: "features.csv",
            kind: "features",
            bytes: features_csv(),
        },
    ];
    (files, rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe() -> Recipe {
        Recipe {
            seed: 1,
            symbols: vec!["EURUSD".into(), "GBPUSD".into()],
            bars: 200,
            timeframe: Timeframe::H1,
        }
    }

    #[test]
    fn the_same_recipe_gives_the_same_bytes_and_another_seed_others() {
        let (first, samples) = files(&recipe());
        let (second, _) = files(&recipe());
        assert_eq!(first, second);
        assert_eq!(samples, (200 - HISTORY - 1) * 2);
        let other = files(&Recipe {
            seed: 2,
            ..recipe()
        })
        .0;
        assert_ne!(first[0].sha256(), other[0].sha256());
        assert_eq!(
            first[3], other[3],
            "the feature definitions do not depend on the seed"
        );
    }

    #[test]
    fn adding_a_symbol_leaves_the_others_bars_alone() {
        let one = bars(&Recipe {
            symbols: vec!["EURUSD".into()],
            ..recipe()
        });
        let two = bars(&recipe());
        assert_eq!(one[0], two[0]);
    }

    #[test]
    fn rows_are_split_in_time_with_a_header_each() {
        let (files, samples) = files(&recipe());
        let lines = |i: usize| String::from_utf8(files[i].bytes.clone()).unwrap();
        let counted: usize = (0..3).map(|i| lines(i).lines().count() - 1).sum();
        assert_eq!(counted, samples);
        for i in 0..3 {
            assert!(lines(i).starts_with(HEADER));
        }
        let last_train = lines(0)
            .lines()
            .last()
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_owned();
        let first_validation = lines(1)
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_owned();
        assert!(
            last_train < first_validation,
            "{last_train} then {first_validation}"
        );
    }

    #[test]
    fn features_are_what_their_definitions_say() {
        let closes: Vec<f64> = (0..30).map(|i| 100.0 + f64::from(i % 3)).collect();
        let f = features(&closes, 25);
        assert!((f[0] - (closes[25] / closes[24] - 1.0)).abs() < 1e-15);
        assert!((f[2] - (closes[25] / closes[5] - 1.0)).abs() < 1e-15);
        assert!(f[4] > 0.0 && f[4] < 1.0);
        let rising: Vec<f64> = (0..30).map(f64::from).map(|x| x + 1.0).collect();
        assert_eq!(features(&rising, 25)[4], 1.0, "no loss");
    }
}
