//! A real, deterministic round of federated averaging (spec section 5), pure.
//!
//! The model is a logistic regression over 8 features. Each bound offer trains it locally on a
//! synthetic shard generated from a seed derived from the offer's `dataset_fingerprint`: points
//! uniform in [-1, 1]^8, labelled by a fixed "true" linear rule, with a share of labels flipped
//! that grows as the offer's quality falls (quality 1 flips none, quality 0 flips half). The
//! local models are averaged by sample weight, and the average is scored on a fixed evaluation
//! set. The same inputs give the same numbers on every machine: the generator is SplitMix64 and
//! every sum runs in a fixed order.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const FEATURES: usize = 8;
/// The rule the synthetic data follows; a good round moves the model towards it.
const TRUE_WEIGHTS: [f64; FEATURES] = [1.5, -2.0, 0.75, 1.0, -0.5, 0.25, -1.25, 0.5];
const TRUE_BIAS: f64 = 0.1;
/// Shard sizes are the offer's sample count, kept between these bounds so that a round stays
/// fast however large the declared dataset.
const MIN_SHARD: u64 = 32;
const MAX_SHARD: u64 = 512;
const LOCAL_EPOCHS: usize = 5;
const LEARNING_RATE: f64 = 0.5;
const EVALUATION_SAMPLES: usize = 1000;
const EVALUATION_SEED: &str = "marketref-evaluation-set";

/// The global model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub weights: [f64; FEATURES],
    pub bias: f64,
}

/// One bound offer's part in the round.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardSpec<'a> {
    pub dataset_fingerprint: &'a str,
    pub quality_score: f64,
    pub sample_count: u64,
}

/// What a round produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundOutcome {
    pub model: Model,
    /// Per participant, in order: (shard samples, weight in the average).
    pub shares: Vec<(u64, f64)>,
    pub accuracy: f64,
    pub loss: f64,
}

/// SplitMix64: tiny, fast, and the same everywhere.
struct SplitMix64(u64);

impl SplitMix64 {
    fn from_text(seed: &str) -> SplitMix64 {
        let digest = Sha256::digest(seed.as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        SplitMix64(u64::from_le_bytes(bytes))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Dataset {
    points: Vec<[f64; FEATURES]>,
    labels: Vec<f64>,
}

fn dataset(seed: &str, samples: usize, flip_probability: f64) -> Dataset {
    let mut rng = SplitMix64::from_text(seed);
    let mut points = Vec::with_capacity(samples);
    let mut labels = Vec::with_capacity(samples);
    for _ in 0..samples {
        let mut point = [0.0; FEATURES];
        for x in &mut point {
            *x = rng.unit() * 2.0 - 1.0;
        }
        let margin = dot(&TRUE_WEIGHTS, &point) + TRUE_BIAS;
        let mut label = if margin > 0.0 { 1.0 } else { 0.0 };
        if rng.unit() < flip_probability {
            label = 1.0 - label;
        }
        points.push(point);
        labels.push(label);
    }
    Dataset { points, labels }
}

fn dot(a: &[f64; FEATURES], b: &[f64; FEATURES]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn shard_samples(sample_count: u64) -> u64 {
    sample_count.clamp(MIN_SHARD, MAX_SHARD)
}

/// Full-batch gradient descent on one shard, starting from the global model.
fn local_update(global: &Model, data: &Dataset) -> Model {
    let mut model = global.clone();
    let n = data.points.len() as f64;
    for _ in 0..LOCAL_EPOCHS {
        let mut gradient = [0.0; FEATURES];
        let mut gradient_bias = 0.0;
        for (point, label) in data.points.iter().zip(&data.labels) {
            let error = sigmoid(dot(&model.weights, point) + model.bias) - label;
            for (g, x) in gradient.iter_mut().zip(point) {
                *g += error * x;
            }
            gradient_bias += error;
        }
        for (w, g) in model.weights.iter_mut().zip(gradient) {
            *w -= LEARNING_RATE * g / n;
        }
        model.bias -= LEARNING_RATE * gradient_bias / n;
    }
    model
}

/// Accuracy and mean logistic loss on the fixed evaluation set.
pub fn evaluate(model: &Model) -> (f64, f64) {
    let data = dataset(EVALUATION_SEED, EVALUATION_SAMPLES, 0.0);
    let mut correct = 0usize;
    let mut loss = 0.0;
    for (point, label) in data.points.iter().zip(&data.labels) {
        let p = sigmoid(dot(&model.weights, point) + model.bias).clamp(1e-12, 1.0 - 1e-12);
        if (p >= 0.5) == (*label == 1.0) {
            correct += 1;
        }
        loss -= label * p.ln() + (1.0 - label) * (1.0 - p).ln();
    }
    let n = data.points.len() as f64;
    (correct as f64 / n, loss / n)
}

/// One round: a local update per participant from `global`, averaged by declared sample count
/// (equal weights when every count is 0), then evaluated.
pub fn run_round(global: &Model, participants: &[ShardSpec<'_>]) -> RoundOutcome {
    let total_samples: u64 = participants.iter().map(|p| p.sample_count).sum();
    let mut model = Model::default();
    let mut shares = Vec::with_capacity(participants.len());
    for participant in participants {
        let samples = shard_samples(participant.sample_count);
        let flip = (1.0 - participant.quality_score.clamp(0.0, 1.0)) * 0.5;
        let local = local_update(
            global,
            &dataset(
                participant.dataset_fingerprint,
                usize::try_from(samples).unwrap_or(0),
                flip,
            ),
        );
        let weight = if total_samples == 0 {
            1.0 / participants.len() as f64
        } else {
            participant.sample_count as f64 / total_samples as f64
        };
        for (w, lw) in model.weights.iter_mut().zip(local.weights) {
            *w += weight * lw;
        }
        model.bias += weight * local.bias;
        shares.push((samples, weight));
    }
    if participants.is_empty() {
        model = global.clone();
    }
    let (accuracy, loss) = evaluate(&model);
    RoundOutcome {
        model,
        shares,
        accuracy,
        loss,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(fingerprint: &str, quality: f64, samples: u64) -> ShardSpec<'_> {
        ShardSpec {
            dataset_fingerprint: fingerprint,
            quality_score: quality,
            sample_count: samples,
        }
    }

    #[test]
    fn the_same_inputs_give_the_same_numbers() {
        let participants = [spec("sha256:aa", 0.9, 200), spec("sha256:bb", 0.7, 100)];
        let a = run_round(&Model::default(), &participants);
        let b = run_round(&Model::default(), &participants);
        assert_eq!(a, b);
        assert!((a.shares[0].1 - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_round_learns_and_rounds_keep_learning() {
        let (untrained, _) = evaluate(&Model::default());
        let participants = [spec("sha256:aa", 0.95, 300), spec("sha256:bb", 0.9, 300)];
        let first = run_round(&Model::default(), &participants);
        assert!(
            first.accuracy > untrained + 0.2,
            "{} vs {untrained}",
            first.accuracy
        );
        let second = run_round(&first.model, &participants);
        assert!(
            second.loss < first.loss,
            "{} then {}",
            first.loss,
            second.loss
        );
    }

    #[test]
    fn noisy_data_trains_a_worse_model() {
        let clean = run_round(&Model::default(), &[spec("sha256:aa", 1.0, 500)]);
        let noisy = run_round(&Model::default(), &[spec("sha256:aa", 0.0, 500)]);
        assert!(
            clean.accuracy > noisy.accuracy,
            "{} vs {}",
            clean.accuracy,
            noisy.accuracy
        );
    }

    #[test]
    fn other_fingerprints_give_other_shards() {
        let a = run_round(&Model::default(), &[spec("sha256:aa", 0.9, 64)]);
        let b = run_round(&Model::default(), &[spec("sha256:ab", 0.9, 64)]);
        assert_ne!(a.model, b.model);
    }
}
