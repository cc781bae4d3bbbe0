"""The round's features of a bar, computed from closes exactly as the platform computes them
when it makes a round (marketref `dataset.rs`, `features`), so that the model sees at serving
time what it saw in training.

The sums run in the same order with one running total each (never sum(), which compensates
its rounding on Python 3.12 and later): the same closes give the same bits as the round's.
"""

import math

# The feature columns, in the order the model uses them.
FEATURES = ("ret_1", "ret_5", "ret_20", "vol_20", "rsi_14")
# Bars of history a bar's features need: 20 before it, so 21 bars in all.
HISTORY = 20


def features(closes, t):
    """`[ret_1, ret_5, ret_20, vol_20, rsi_14]` of bar `t` (`t >= HISTORY`):

    - `ret_n`: `closes[t] / closes[t - n] - 1`;
    - `vol_20`: the population standard deviation of the last 20 one-bar returns;
    - `rsi_14`: the gains over the last 14 close-to-close changes over gains plus losses,
      in 0..1, and 1 when there was no loss.
    """
    if t < HISTORY or t >= len(closes):
        raise ValueError(f"bar {t} needs {HISTORY} bars before it")

    def ret(n):
        return closes[t] / closes[t - n] - 1.0

    returns = [closes[i] / closes[i - 1] - 1.0 for i in range(t + 1 - HISTORY, t + 1)]
    total = 0.0
    for r in returns:
        total += r
    mean = total / float(len(returns))
    spread = 0.0
    for r in returns:
        # `(r - mean).powi(2)` in Rust: one multiplication, as here.
        d = r - mean
        spread += d * d
    variance = spread / float(len(returns))
    gains, losses = 0.0, 0.0
    for i in range(t - 13, t + 1):
        change = closes[i] - closes[i - 1]
        if change > 0.0:
            gains += change
        else:
            losses -= change
    rsi = 1.0 if losses == 0.0 else gains / (gains + losses)
    return [ret(1), ret(5), ret(20), math.sqrt(variance), rsi]


def last_bar_features(closes):
    """The features of the last of `closes` (at least HISTORY + 1 of them)."""
    return features(closes, len(closes) - 1)
