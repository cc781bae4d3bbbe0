"""The features from closes are the round's: by their definitions, and against the feature
columns of a marketref round's validation file."""

import math
import statistics
import unittest

from features import FEATURES, HISTORY, features, last_bar_features
from testsupport import validation_rows

# The round's files print closes with 6 decimals, returns and vol_20 with 8, rsi_14 with 6,
# so features recomputed from the printed closes cannot match the printed features exactly.
# With closes in 1..2, a close is off by at most 5e-7, so a return c[t] / c[t-n] - 1 by at
# most about 2 * 5e-7 / 1 = 1e-6 (vol_20, a spread of such returns, the same); 2e-6 allows
# for the printing. rsi_14 divides 14 close changes of about 0.005 each by their sum, so
# 14 errors of 1e-6 against a sum near 0.07 move it by up to about 2e-4.
RETURN_TOLERANCE = 2e-6
RSI_TOLERANCE = 2e-4


class Definitions(unittest.TestCase):
    def test_returns_volatility_and_rsi_are_what_they_say(self):
        closes = [100.0 + (i % 3) for i in range(30)]
        f = features(closes, 25)
        self.assertEqual(f[0], closes[25] / closes[24] - 1.0)
        self.assertEqual(f[1], closes[25] / closes[20] - 1.0)
        self.assertEqual(f[2], closes[25] / closes[5] - 1.0)
        returns = [closes[i] / closes[i - 1] - 1.0 for i in range(6, 26)]
        self.assertAlmostEqual(f[3], statistics.pstdev(returns), places=15)
        changes = [closes[i] - closes[i - 1] for i in range(12, 26)]
        gains = sum(c for c in changes if c > 0)
        losses = -sum(c for c in changes if c < 0)
        self.assertAlmostEqual(f[4], gains / (gains + losses), places=15)
        self.assertTrue(0.0 < f[4] < 1.0)

    def test_rsi_is_1_without_a_loss_and_0_without_a_gain(self):
        rising = [float(i + 1) for i in range(30)]
        self.assertEqual(features(rising, 25)[4], 1.0)
        self.assertEqual(features(list(reversed(rising)), 25)[4], 0.0)
        flat = [1.5] * 21
        self.assertEqual(last_bar_features(flat), [0.0, 0.0, 0.0, 0.0, 1.0])

    def test_a_bar_needs_twenty_before_it(self):
        self.assertEqual(HISTORY, 20)
        closes = [1.0 + i / 100 for i in range(21)]
        self.assertEqual(len(last_bar_features(closes)), len(FEATURES))
        with self.assertRaises(ValueError):
            last_bar_features(closes[1:])


class AgainstTheRound(unittest.TestCase):
    def test_features_from_the_files_closes_are_its_feature_columns(self):
        rows = validation_rows()
        checked = 0
        for symbol in sorted({row["symbol"] for row in rows}):
            mine = [row for row in rows if row["symbol"] == symbol]
            # A bar opens at the close before it, so the first row's open is one more close.
            closes = [float(mine[0]["open"])] + [float(row["close"]) for row in mine]
            for index in range(HISTORY - 1, len(mine)):
                computed = features(closes, index + 1)
                for name, value in zip(FEATURES, computed):
                    tolerance = RSI_TOLERANCE if name == "rsi_14" else RETURN_TOLERANCE
                    expected = float(mine[index][name])
                    self.assertLessEqual(
                        abs(value - expected), tolerance, f"{symbol} {mine[index]['timestamp']} {name}"
                    )
                checked += 1
        self.assertGreater(checked, 50)

    def test_only_the_last_21_closes_count(self):
        closes = [float(row["close"]) for row in validation_rows() if row["symbol"] == "EURUSD"]
        self.assertEqual(last_bar_features(closes), last_bar_features(closes[-21:]))
        self.assertTrue(all(math.isfinite(v) for v in last_bar_features(closes)))


if __name__ == "__main__":
    unittest.main()
