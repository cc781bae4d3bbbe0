"""The model predicts as the platform's trainer does: replaying a `local` run's backtest on the
validation file with this module's p gives the run's own trades, win rate and accuracy."""

import hashlib
import json
import os
import tempfile
import unittest

import model as models
from features import FEATURES
from testsupport import MODEL, validation_rows


def load_json(path):
    with open(path, encoding="utf-8") as file:
        return json.load(file)


class ThePlatformsModel(unittest.TestCase):
    def setUp(self):
        self.model = models.load(MODEL)
        self.metrics = load_json(MODEL)["metrics"]
        self.rows = validation_rows()

    def test_the_backtest_with_this_p_gives_the_runs_trades_and_win_rate(self):
        # trainer::backtest: each row but a symbol's last, long above 0.55, short below 0.45.
        after, next_of = [None] * len(self.rows), {}
        for index in range(len(self.rows) - 1, -1, -1):
            symbol = self.rows[index]["symbol"]
            after[index], next_of[symbol] = next_of.get(symbol), index
        trades = wins = 0
        for index, row in enumerate(self.rows):
            if after[index] is None:
                continue
            p = self.model.predict([float(row[name]) for name in FEATURES])
            decision, _ = self.model.decide(p)
            if decision == "HOLD":
                continue
            position = 1.0 if decision == "BUY" else -1.0
            ret = position * (float(self.rows[after[index]]["close"]) / float(row["close"]) - 1.0)
            trades += 1
            wins += ret > 0.0
        self.assertEqual(trades, self.metrics["trades"])
        self.assertEqual(wins / trades, self.metrics["win_rate"])

    def test_p_above_one_half_is_the_runs_validation_accuracy(self):
        right = 0
        for row in self.rows:
            p = self.model.predict([float(row[name]) for name in FEATURES])
            right += (p > 0.5) == (row["label"] == "1")
        self.assertEqual(right / len(self.rows), self.metrics["val_accuracy"])

    def test_the_version_is_named_after_the_artifacts_bytes(self):
        with open(MODEL, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        self.assertEqual(self.model.version, "logreg-" + digest[:12])
        self.assertEqual(models.load(MODEL, version="1.0.0").version, "1.0.0")
        with self.assertRaises(models.ModelError):
            models.load(MODEL, version="v" * 41)


class Decisions(unittest.TestCase):
    def setUp(self):
        self.model = models.load(MODEL)

    def test_thresholds_and_confidence(self):
        for p, decision, confidence in [
            (0.9, "BUY", 0.9),
            (0.5500001, "BUY", 0.5500001),
            (0.55, "HOLD", 0.55),
            (0.5, "HOLD", 0.5),
            (0.45, "HOLD", 0.55),
            (0.4499, "SELL", 1.0 - 0.4499),
            (0.0, "SELL", 1.0),
        ]:
            self.assertEqual(self.model.decide(p), (decision, confidence), p)

    def test_extreme_features_give_0_or_1_never_an_error(self):
        big = [1e300] * len(FEATURES)
        p = self.model.predict(big)
        self.assertIn(p, (0.0, 1.0))
        self.assertIn(self.model.predict([-v for v in big]), (0.0, 1.0))


class BadArtifacts(unittest.TestCase):
    def refusal(self, document, raw=None):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            file.write(raw if raw is not None else json.dumps(document))
        try:
            with self.assertRaises(models.ModelError) as caught:
                models.load(file.name)
            return str(caught.exception)
        finally:
            os.unlink(file.name)

    def test_each_fault_is_named(self):
        good = load_json(MODEL)

        def changed(path, value):
            document = json.loads(json.dumps(good))
            *parents, last = path.split(".")
            target = document
            for key in parents:
                target = target[key]
            target[last] = value
            return document

        with self.assertRaises(models.ModelError) as caught:
            models.load(os.path.join(tempfile.gettempdir(), "no-such-dir", "model.json"))
        self.assertIn("no model artifact", str(caught.exception))
        self.assertIn("is not JSON", self.refusal(None, raw="{nope"))
        self.assertIn("is not JSON", self.refusal(None, raw='{"bias": NaN}'))
        self.assertIn("artifact", self.refusal(changed("format", "other-v2")))
        self.assertIn("features", self.refusal(changed("features", ["ret_1"])))
        self.assertIn("weights", self.refusal(changed("weights", [0.1, 0.2])))
        self.assertIn("weights", self.refusal(changed("weights", [0.1, 0.2, "x", 0.0, 0.0])))
        self.assertIn("bias", self.refusal(changed("bias", True)))
        self.assertIn("bias", self.refusal(changed("bias", 10**400)))
        self.assertIn("standard deviation", self.refusal(changed("normalisation.std", [0, 1, 1, 1, 1])))
        self.assertIn("thresholds", self.refusal(changed("thresholds.short_below", 0.6)))


if __name__ == "__main__":
    unittest.main()
