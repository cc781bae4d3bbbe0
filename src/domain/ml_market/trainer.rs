//! The `local` trainer of spec section 4, pure: logistic regression on a round's feature
//! columns predicting `label`, by seeded mini-batch gradient descent, with the metrics and the
//! model artifact a training run reports. No store, no clock, no threads: the same files,
//! hyperparameters and seed give the same metrics and the same artifact bytes on every machine.
//!
//! The worker pool ([`super::training`]) calls it for every `local` run.
//!
//! The arithmetic is written out in one fixed order (features in file order, rows in batch
//! order) so that another implementation (the `signal-train` template of the `mp` CLI) can
//! agree with it to the last bits that order allows: hence index loops over the features.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::dataset::FEATURES;

/// Go long above this probability of a higher next close, short below [`SHORT_BELOW`].
pub const LONG_ABOVE: f64 = 0.55;
pub const SHORT_BELOW: f64 = 0.45;
/// The artifact's format name.
pub const ARTIFACT_FORMAT: &str = "marketref-logistic-regression-v1";

/// The hyperparameters the trainer takes, in the ranges spec section 4 states.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Hyperparams {
    pub lr: f64,
    pub epochs: u32,
    pub batch_size: usize,
    pub l2: f64,
}

impl Default for Hyperparams {
    fn default() -> Hyperparams {
        Hyperparams {
            lr: 0.1,
            epochs: 20,
            batch_size: 64,
            l2: 0.0,
        }
    }
}

/// A hyperparameter the trainer refuses: which, and the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// A JSON pointer into the run's spec: `/hyperparams/lr`, ...
    pub field: String,
    pub rule: &'static str,
}

/// The range of one hyperparameter: the trainer's rule, which refuses a spec outside it and
/// which the console's training form checks with (as a JSON Schema, [`HyperparamRange::schema`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HyperparamRange {
    pub name: &'static str,
    /// Whole numbers only.
    pub integer: bool,
    /// The lowest value, or (when `exclusive_minimum`) the bound every value must exceed.
    pub minimum: f64,
    pub exclusive_minimum: bool,
    pub maximum: f64,
}

/// The hyperparameters of spec section 4, in the order a form shows them.
pub const HYPERPARAM_RANGES: [HyperparamRange; 4] = [
    HyperparamRange {
        name: "lr",
        integer: false,
        minimum: 0.0,
        exclusive_minimum: true,
        maximum: 10.0,
    },
    HyperparamRange {
        name: "epochs",
        integer: true,
        minimum: 1.0,
        exclusive_minimum: false,
        maximum: 1000.0,
    },
    HyperparamRange {
        name: "batch_size",
        integer: true,
        minimum: 1.0,
        exclusive_minimum: false,
        maximum: 65536.0,
    },
    HyperparamRange {
        name: "l2",
        integer: false,
        minimum: 0.0,
        exclusive_minimum: false,
        maximum: 10.0,
    },
];

impl HyperparamRange {
    /// Whether `value` is a value of this hyperparameter.
    pub fn admits(&self, value: &Value) -> bool {
        let Some(number) = value.as_f64() else {
            return false;
        };
        let above = if self.exclusive_minimum {
            number > self.minimum
        } else {
            number >= self.minimum
        };
        (!self.integer || value.is_u64()) && above && number <= self.maximum
    }

    /// The range as the JSON Schema of the value, with the default the trainer takes.
    pub fn schema(&self, default: Value) -> Value {
        let mut schema = serde_json::json!({
            "type": if self.integer { "integer" } else { "number" },
            "maximum": self.maximum,
            "default": default,
        });
        let bound = if self.exclusive_minimum {
            "exclusiveMinimum"
        } else {
            "minimum"
        };
        schema[bound] = serde_json::json!(self.minimum);
        schema
    }
}

impl Hyperparams {
    /// The hyperparameters of a run's spec (`{name: number}`; absent ones take their
    /// defaults). An unknown name, a value of another type or one out of range is refused.
    pub fn from_spec(values: &BTreeMap<String, Value>) -> Result<Hyperparams, Refused> {
        let mut params = Hyperparams::default();
        for (name, value) in values {
            let refused = |rule| Refused {
                field: format!(
                    "/hyperparams/{}",
                    name.replace('~', "~0").replace('/', "~1")
                ),
                rule,
            };
            let number = value.as_f64().ok_or_else(|| refused("type"))?;
            let range = HYPERPARAM_RANGES
                .iter()
                .find(|range| range.name == name)
                .ok_or_else(|| refused("unknown"))?;
            if !range.admits(value) {
                return Err(refused("range"));
            }
            match range.name {
                "lr" => params.lr = number,
                "epochs" => params.epochs = number as u32,
                "batch_size" => params.batch_size = number as usize,
                "l2" => params.l2 = number,
                // A range in the table that no field takes is a name the trainer does not know.
                _ => return Err(refused("unknown")),
            }
        }
        Ok(params)
    }

    /// Each hyperparameter's range as a JSON Schema with its default, by name: what the
    /// console's training form shows and checks.
    pub fn schemas() -> serde_json::Map<String, Value> {
        let defaults = serde_json::to_value(Hyperparams::default()).unwrap_or_default();
        HYPERPARAM_RANGES
            .iter()
            .map(|range| {
                let default = defaults.get(range.name).cloned().unwrap_or_default();
                (range.name.to_owned(), range.schema(default))
            })
            .collect()
    }
}

/// One split file as the trainer reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    pub symbols: Vec<String>,
    pub unix: Vec<i64>,
    pub closes: Vec<f64>,
    pub features: Vec<[f64; FEATURES.len()]>,
    pub labels: Vec<f64>,
}

/// Why a file cannot be trained on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl Split {
    /// Reads a round's CSV (`timestamp,symbol,...,close,...,<features>,label`), finding the
    /// columns by name.
    pub fn parse(text: &str) -> Result<Split, Unreadable> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .ok_or_else(|| Unreadable("the file is empty".to_owned()))?
            .split(',')
            .collect();
        let column = |name: &str| {
            header
                .iter()
                .position(|c| *c == name)
                .ok_or_else(|| Unreadable(format!("no `{name}` column")))
        };
        let (timestamp, symbol, close, label) = (
            column("timestamp")?,
            column("symbol")?,
            column("close")?,
            column("label")?,
        );
        let feature_columns = FEATURES
            .iter()
            .map(|name| column(name))
            .collect::<Result<Vec<_>, _>>()?;
        let mut split = Split::default();
        for (index, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            let bad = |what: &str| Unreadable(format!("row {}: {what}", index + 1));
            let number = |at: usize| -> Result<f64, Unreadable> {
                cells
                    .get(at)
                    .and_then(|cell| cell.parse::<f64>().ok())
                    .filter(|value| value.is_finite())
                    .ok_or_else(|| bad(header[at]))
            };
            let at = cells
                .get(timestamp)
                .and_then(|cell| crate::clock::parse_rfc3339(cell))
                .ok_or_else(|| bad("timestamp"))?;
            let mut row = [0.0; FEATURES.len()];
            for (slot, &at) in row.iter_mut().zip(&feature_columns) {
                *slot = number(at)?;
            }
            let label = number(label)?;
            if label != 0.0 && label != 1.0 {
                return Err(bad("label (0 or 1)"));
            }
            split
                .symbols
                .push(cells.get(symbol).ok_or_else(|| bad("symbol"))?.to_string());
            split.unix.push(at.unix_timestamp());
            split.closes.push(number(close)?);
            split.features.push(row);
            split.labels.push(label);
        }
        if split.labels.is_empty() {
            return Err(Unreadable("the file has no rows".to_owned()));
        }
        Ok(split)
    }
}

/// One epoch's line of the log, and the figures in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Epoch {
    pub epoch: u32,
    pub epochs: u32,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
}

/// What an epoch's log line looks like, as a regular expression with the epoch, the epochs,
/// the training loss and the validation accuracy as its groups: the console draws its chart
/// from the lines it reads, and a test holds [`Epoch::line`] to it.
pub const EPOCH_LINE_PATTERN: &str =
    r"^epoch (\d+)/(\d+) loss=(-?[0-9.]+) val_accuracy=(-?[0-9.]+)$";

impl Epoch {
    /// `epoch 3/20 loss=0.6841 val_accuracy=0.5410`.
    pub fn line(&self) -> String {
        format!(
            "epoch {}/{} loss={:.4} val_accuracy={:.4}",
            self.epoch, self.epochs, self.train_loss, self.val_accuracy
        )
    }
}

/// A finished model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Model {
    pub features: Vec<&'static str>,
    /// Per feature, the training file's mean and standard deviation (1 where it is 0).
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub weights: Vec<f64>,
    pub bias: f64,
}

impl Model {
    /// The probability of a higher next close.
    pub fn predict(&self, features: &[f64; FEATURES.len()]) -> f64 {
        let mut z = self.bias;
        for i in 0..FEATURES.len() {
            z += self.weights[i] * (features[i] - self.mean[i]) / self.std[i];
        }
        sigmoid(z)
    }
}

/// Where training ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Trained {
        model: Model,
        metrics: BTreeMap<&'static str, f64>,
    },
    /// `on_epoch` asked to stop after this many epochs (a cancel, a budget).
    Stopped { after_epochs: u32 },
}

/// Trains on `train`, reporting each epoch on `validation` to `on_epoch`, which answers whether
/// to go on. `seed` orders the mini-batches.
pub fn train(
    train: &Split,
    validation: &Split,
    params: Hyperparams,
    seed: u64,
    mut on_epoch: impl FnMut(&Epoch) -> bool,
) -> Outcome {
    let (mean, std) = normalisation(train);
    let standardised = |split: &Split| -> Vec<[f64; FEATURES.len()]> {
        split
            .features
            .iter()
            .map(|row| {
                let mut out = [0.0; FEATURES.len()];
                for i in 0..FEATURES.len() {
                    out[i] = (row[i] - mean[i]) / std[i];
                }
                out
            })
            .collect()
    };
    let (x, y) = (standardised(train), &train.labels);
    let (vx, vy) = (standardised(validation), &validation.labels);
    let mut weights = [0.0; FEATURES.len()];
    let mut bias = 0.0;
    let mut order: Vec<usize> = (0..x.len()).collect();
    let mut rng = SplitMix64(seed);
    let mut last = None;
    for epoch in 1..=params.epochs {
        shuffle(&mut order, &mut rng);
        for batch in order.chunks(params.batch_size) {
            let (gw, gb) = gradient(&x, y, batch, &weights, bias, params.l2);
            for i in 0..FEATURES.len() {
                weights[i] -= params.lr * gw[i];
            }
            bias -= params.lr * gb;
        }
        let report = Epoch {
            epoch,
            epochs: params.epochs,
            train_loss: loss(&x, y, &weights, bias, params.l2),
            val_loss: loss(&vx, vy, &weights, bias, params.l2),
            val_accuracy: accuracy(&vx, vy, &weights, bias),
        };
        if !on_epoch(&report) {
            return Outcome::Stopped {
                after_epochs: epoch,
            };
        }
        last = Some(report);
    }
    let model = Model {
        features: FEATURES.to_vec(),
        mean: mean.to_vec(),
        std: std.to_vec(),
        weights: weights.to_vec(),
        bias,
    };
    let mut metrics = BTreeMap::new();
    if let Some(last) = last {
        metrics.insert("train_loss", last.train_loss);
        metrics.insert("val_loss", last.val_loss);
        metrics.insert("val_accuracy", last.val_accuracy);
    }
    let backtest = backtest(&model, validation);
    metrics.insert("val_sharpe", backtest.sharpe);
    metrics.insert("win_rate", backtest.win_rate);
    metrics.insert("trades", backtest.trades as f64);
    Outcome::Trained { model, metrics }
}

/// The generator of the batch order: SplitMix64 (Steele, Lea and Flood, 2014), seeded with the
/// run's seed. Written out rather than taken from a crate so that the `signal-train` template
/// reproduces the order in a few lines of Python.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Fisher-Yates from the last index down, `j = next % (i + 1)`: the modulo's bias (below 2^-40
/// for any row count a round can have) does not matter to a batch order.
fn shuffle(order: &mut [usize], rng: &mut SplitMix64) {
    for i in (1..order.len()).rev() {
        let j = usize::try_from(rng.next() % (i as u64 + 1)).unwrap_or(i);
        order.swap(i, j);
    }
}

fn normalisation(split: &Split) -> ([f64; FEATURES.len()], [f64; FEATURES.len()]) {
    let n = split.features.len() as f64;
    let mut mean = [0.0; FEATURES.len()];
    for row in &split.features {
        for i in 0..FEATURES.len() {
            mean[i] += row[i];
        }
    }
    for value in &mut mean {
        *value /= n;
    }
    let mut std = [0.0; FEATURES.len()];
    for row in &split.features {
        for i in 0..FEATURES.len() {
            std[i] += (row[i] - mean[i]) * (row[i] - mean[i]);
        }
    }
    for value in &mut std {
        *value = (*value / n).sqrt();
        if *value == 0.0 {
            *value = 1.0;
        }
    }
    (mean, std)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn linear(row: &[f64; FEATURES.len()], weights: &[f64; FEATURES.len()], bias: f64) -> f64 {
    let mut z = bias;
    for i in 0..FEATURES.len() {
        z += weights[i] * row[i];
    }
    z
}

/// The mean log loss's gradient over `batch`, with `l2 / 2 · |w|²` added (the bias is not
/// penalised).
fn gradient(
    x: &[[f64; FEATURES.len()]],
    y: &[f64],
    batch: &[usize],
    weights: &[f64; FEATURES.len()],
    bias: f64,
    l2: f64,
) -> ([f64; FEATURES.len()], f64) {
    let mut gw = [0.0; FEATURES.len()];
    let mut gb = 0.0;
    for &row in batch {
        let error = sigmoid(linear(&x[row], weights, bias)) - y[row];
        for i in 0..FEATURES.len() {
            gw[i] += error * x[row][i];
        }
        gb += error;
    }
    let n = batch.len() as f64;
    for i in 0..FEATURES.len() {
        gw[i] = gw[i] / n + l2 * weights[i];
    }
    (gw, gb / n)
}

/// Mean log loss plus the L2 term; probabilities are clamped away from 0 and 1.
fn loss(
    x: &[[f64; FEATURES.len()]],
    y: &[f64],
    weights: &[f64; FEATURES.len()],
    bias: f64,
    l2: f64,
) -> f64 {
    let mut total = 0.0;
    for (row, &label) in x.iter().zip(y) {
        let p = sigmoid(linear(row, weights, bias)).clamp(1e-12, 1.0 - 1e-12);
        total -= label * p.ln() + (1.0 - label) * (1.0 - p).ln();
    }
    let mut penalty = 0.0;
    for w in weights {
        penalty += w * w;
    }
    total / x.len() as f64 + l2 / 2.0 * penalty
}

fn accuracy(
    x: &[[f64; FEATURES.len()]],
    y: &[f64],
    weights: &[f64; FEATURES.len()],
    bias: f64,
) -> f64 {
    let right = x
        .iter()
        .zip(y)
        .filter(|(row, label)| (sigmoid(linear(row, weights, bias)) > 0.5) == (**label == 1.0))
        .count();
    right as f64 / x.len() as f64
}

/// The validation backtest's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backtest {
    /// Annualised Sharpe of the per-bar returns (flat bars count as 0), 0 when they do not vary.
    pub sharpe: f64,
    /// Of the bars with a position, the share whose return was positive (0 without trades).
    pub win_rate: f64,
    /// Bars with a position.
    pub trades: usize,
}

/// Long when p > [`LONG_ABOVE`], short when p < [`SHORT_BELOW`], held one bar: each row's return
/// is its position times its symbol's next close over this close, less one. A symbol's last row
/// in the file has no next close and is left out. Bars a year: from the spacing of a symbol's
/// first two rows.
pub fn backtest(model: &Model, split: &Split) -> Backtest {
    let mut next_of: BTreeMap<&str, usize> = BTreeMap::new();
    let mut next = vec![None; split.closes.len()];
    for row in (0..split.closes.len()).rev() {
        let symbol = split.symbols[row].as_str();
        next[row] = next_of.insert(symbol, row);
    }
    let mut returns = Vec::new();
    let (mut trades, mut wins) = (0_usize, 0_usize);
    let mut spacing = None;
    for row in 0..split.closes.len() {
        let Some(after) = next[row] else { continue };
        spacing.get_or_insert(split.unix[after] - split.unix[row]);
        let p = model.predict(&split.features[row]);
        let position = if p > LONG_ABOVE {
            1.0
        } else if p < SHORT_BELOW {
            -1.0
        } else {
            0.0
        };
        let ret = position * (split.closes[after] / split.closes[row] - 1.0);
        if position != 0.0 {
            trades += 1;
            if ret > 0.0 {
                wins += 1;
            }
        }
        returns.push(ret);
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n.max(1.0);
    let variance = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / n.max(1.0);
    let bars_a_year = spacing
        .filter(|s| *s > 0)
        .map_or(0.0, |s| 365.0 * 86_400.0 / s as f64);
    let sharpe = if variance > 0.0 {
        mean / variance.sqrt() * bars_a_year.sqrt()
    } else {
        0.0
    };
    Backtest {
        sharpe,
        win_rate: if trades == 0 {
            0.0
        } else {
            wins as f64 / trades as f64
        },
        trades,
    }
}

/// The model artifact: weights, features and their normalisation, thresholds, the run's spec,
/// the metrics and a short model card, as JSON with sorted keys and a final newline.
pub fn artifact(model: &Model, metrics: &BTreeMap<&'static str, f64>, spec: &Value) -> Vec<u8> {
    let card = format!(
        "Logistic regression on {} standardised features ({}) predicting a higher next close; \
         long above p = {LONG_ABOVE}, short below p = {SHORT_BELOW}. Validation accuracy {:.4}.",
        model.features.len(),
        model.features.join(", "),
        metrics.get("val_accuracy").copied().unwrap_or(0.0)
    );
    let document = serde_json::json!({
        "format": ARTIFACT_FORMAT,
        "features": model.features,
        "normalisation": {"mean": model.mean, "std": model.std},
        "weights": model.weights,
        "bias": model.bias,
        "thresholds": {"long_above": LONG_ABOVE, "short_below": SHORT_BELOW},
        "spec": spec,
        "metrics": metrics
            .iter()
            .map(|(name, value)| (*name, crate::json::JsNumber(*value)))
            .collect::<BTreeMap<_, _>>(),
        "model_card": card,
    });
    let mut bytes = crate::json::canonical(&document).into_bytes();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests;
