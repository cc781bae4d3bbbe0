"""The platform's `local` trainer (marketref `trainer.rs`), ported operation for operation:
logistic regression on the five standardised features predicting `label`, mini-batch gradient
descent in a seeded order, and the validation backtest.

Floating point addition is not associative, so agreeing with the platform to the last bit
means doing every sum in the same order: features in file order, rows in batch order, one
running total each, never Python's sum() (which compensates its rounding since 3.12) and
never a vectorised library. The loops below mirror the Rust ones line for line.
"""

import math
from dataclasses import dataclass

from rounds import FEATURES

# Go long above this probability of a higher next close, short below SHORT_BELOW.
LONG_ABOVE = 0.55
SHORT_BELOW = 0.45

_MASK = (1 << 64) - 1
_N = len(FEATURES)


@dataclass(frozen=True)
class Hyperparams:
    """The trainer's hyperparameters; the defaults are `Hyperparams::default()`."""

    lr: float = 0.1
    epochs: int = 20
    batch_size: int = 64
    l2: float = 0.0

    def refused(self):
        """The first hyperparameter out of the platform's range, as `(name, rule)`, or None."""
        if not 0.0 < self.lr <= 10.0:
            return ("lr", "in (0, 10]")
        if not 1 <= self.epochs <= 1000:
            return ("epochs", "in 1..1000")
        if not 1 <= self.batch_size <= 65536:
            return ("batch_size", "in 1..65536")
        if not 0.0 <= self.l2 <= 10.0:
            return ("l2", "in [0, 10]")
        return None


class SplitMix64:
    """The batch order's generator (Steele, Lea and Flood, 2014), as `trainer.rs` writes it."""

    def __init__(self, seed):
        self.state = seed & _MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)


def shuffle(order, rng):
    """Fisher-Yates from the last index down with `j = next % (i + 1)`, in place."""
    for i in range(len(order) - 1, 0, -1):
        j = rng.next() % (i + 1)
        order[i], order[j] = order[j], order[i]


def sigmoid(z):
    try:
        return 1.0 / (1.0 + math.exp(-z))
    except OverflowError:
        # Rust's exp gives inf here, and 1 / (1 + inf) is 0; Python's raises instead.
        return 0.0


def _divide(a, b):
    """IEEE division: Python raises on a zero divisor where Rust gives inf or NaN. Only the
    backtest can meet one (a close of 0 in a file the trainer accepts)."""
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def normalisation(features):
    """Per feature, the mean and the population standard deviation (1 where it is 0)."""
    n = float(len(features))
    mean = [0.0] * _N
    for row in features:
        for i in range(_N):
            mean[i] += row[i]
    for i in range(_N):
        mean[i] /= n
    std = [0.0] * _N
    for row in features:
        for i in range(_N):
            std[i] += (row[i] - mean[i]) * (row[i] - mean[i])
    for i in range(_N):
        std[i] = math.sqrt(std[i] / n)
        if std[i] == 0.0:
            std[i] = 1.0
    return mean, std


def standardised(features, mean, std):
    return [[(row[i] - mean[i]) / std[i] for i in range(_N)] for row in features]


def linear(row, weights, bias):
    z = bias
    for i in range(_N):
        z += weights[i] * row[i]
    return z


def gradient(x, y, batch, weights, bias, l2):
    """The mean log loss's gradient over `batch`, with `l2 / 2 * |w|^2` added (not on the
    bias)."""
    gw = [0.0] * _N
    gb = 0.0
    for row in batch:
        error = sigmoid(linear(x[row], weights, bias)) - y[row]
        xr = x[row]
        for i in range(_N):
            gw[i] += error * xr[i]
        gb += error
    n = float(len(batch))
    for i in range(_N):
        gw[i] = gw[i] / n + l2 * weights[i]
    return gw, gb / n


_LOW, _HIGH = 1e-12, 1.0 - 1e-12


def loss(x, y, weights, bias, l2):
    """Mean log loss plus the L2 term; probabilities clamped away from 0 and 1."""
    total = 0.0
    for row, label in zip(x, y):
        p = sigmoid(linear(row, weights, bias))
        # f64::clamp; a NaN stays NaN as it does there.
        p = _LOW if p < _LOW else _HIGH if p > _HIGH else p
        total -= label * math.log(p) + (1.0 - label) * math.log(1.0 - p)
    penalty = 0.0
    for w in weights:
        penalty += w * w
    return total / float(len(x)) + l2 / 2.0 * penalty


def accuracy(x, y, weights, bias):
    right = 0
    for row, label in zip(x, y):
        if (sigmoid(linear(row, weights, bias)) > 0.5) == (label == 1.0):
            right += 1
    return float(right) / float(len(x))


@dataclass
class Model:
    features: list
    mean: list
    std: list
    weights: list
    bias: float

    def predict(self, row):
        """The probability of a higher next close, from raw (unstandardised) features. The
        platform computes `w * (x - mean) / std` here, not `w * ((x - mean) / std)` as in
        training: the two round differently, and the backtest uses this one."""
        z = self.bias
        for i in range(_N):
            z += self.weights[i] * (row[i] - self.mean[i]) / self.std[i]
        return sigmoid(z)


@dataclass
class Epoch:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_accuracy: float

    def line(self):
        """`epoch 3/20 loss=0.6841 val_accuracy=0.5410`, the platform's log line."""
        return (
            f"epoch {self.epoch}/{self.epochs} loss={rust_fixed4(self.train_loss)} "
            f"val_accuracy={rust_fixed4(self.val_accuracy)}"
        )


def rust_fixed4(x):
    """Rust's `{:.4}`: the same digits as Python's `.4f`, but NaN and infinities spelled its
    way."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4f}"


def train(train_split, validation_split, params, seed, on_epoch=lambda epoch: None):
    """Trains as `trainer::train` does; calls `on_epoch(Epoch)` after every epoch. Returns
    the Model and the metrics (the platform's names)."""
    mean, std = normalisation(train_split.features)
    x, y = standardised(train_split.features, mean, std), train_split.labels
    vx, vy = standardised(validation_split.features, mean, std), validation_split.labels
    weights = [0.0] * _N
    bias = 0.0
    order = list(range(len(x)))
    rng = SplitMix64(seed)
    last = None
    for epoch in range(1, params.epochs + 1):
        # The order is shuffled again every epoch, from the previous epoch's order.
        shuffle(order, rng)
        for start in range(0, len(order), params.batch_size):
            batch = order[start : start + params.batch_size]
            gw, gb = gradient(x, y, batch, weights, bias, params.l2)
            for i in range(_N):
                weights[i] -= params.lr * gw[i]
            bias -= params.lr * gb
        last = Epoch(
            epoch=epoch,
            epochs=params.epochs,
            train_loss=loss(x, y, weights, bias, params.l2),
            val_loss=loss(vx, vy, weights, bias, params.l2),
            val_accuracy=accuracy(vx, vy, weights, bias),
        )
        on_epoch(last)
    model = Model(list(FEATURES), mean, std, weights, bias)
    metrics = {
        "train_loss": last.train_loss,
        "val_loss": last.val_loss,
        "val_accuracy": last.val_accuracy,
    }
    sharpe, win_rate, trades = backtest(model, validation_split)
    metrics.update(val_sharpe=sharpe, win_rate=win_rate, trades=float(trades))
    return model, metrics


def backtest(model, split):
    """Long when p > LONG_ABOVE, short when p < SHORT_BELOW, held one bar; returns
    `(val_sharpe, win_rate, trades)` as `trainer::backtest` computes them. A symbol's last row
    has no next close and is left out; bars a year come from the spacing of the first pair."""
    count = len(split.closes)
    next_row = [None] * count
    next_of = {}
    for row in range(count - 1, -1, -1):
        symbol = split.symbols[row]
        next_row[row] = next_of.get(symbol)
        next_of[symbol] = row
    returns = []
    trades = wins = 0
    spacing = None
    for row in range(count):
        after = next_row[row]
        if after is None:
            continue
        if spacing is None:
            spacing = split.unix[after] - split.unix[row]
        p = model.predict(split.features[row])
        position = 1.0 if p > LONG_ABOVE else -1.0 if p < SHORT_BELOW else 0.0
        ret = position * (_divide(split.closes[after], split.closes[row]) - 1.0)
        if position != 0.0:
            trades += 1
            if ret > 0.0:
                wins += 1
        returns.append(ret)
    n = max(float(len(returns)), 1.0)
    total = 0.0
    for r in returns:
        total += r
    mean = total / n
    spread = 0.0
    for r in returns:
        spread += (r - mean) * (r - mean)
    variance = spread / n
    bars_a_year = 365.0 * 86400.0 / float(spacing) if spacing is not None and spacing > 0 else 0.0
    sharpe = mean / math.sqrt(variance) * math.sqrt(bars_a_year) if variance > 0.0 else 0.0
    win_rate = 0.0 if trades == 0 else float(wins) / float(trades)
    return sharpe, win_rate, trades
