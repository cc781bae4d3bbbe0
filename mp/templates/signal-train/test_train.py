"""Checks that this trainer is the platform's: its metrics, log lines and artifact bytes against
two `local` runs of a marketref server (testdata/, see README.md for how they were made), and
the pieces (batch order, CSV reading, number spelling, backtest) on their own.

    python3 -m unittest
"""

import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import unittest

import artifact
import logreg
import rounds

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "testdata")
METRICS = ("train_loss", "val_loss", "val_accuracy", "val_sharpe", "win_rate", "trades")


def fixture(name):
    with open(os.path.join(DATA, name), encoding="utf-8", newline="") as file:
        return file.read()


def platform_run(run_id):
    return json.loads(fixture(f"{run_id}.json"))


def splits():
    return rounds.parse(fixture("train.csv")), rounds.parse(fixture("validation.csv"))


def params_of(spec):
    """The hyperparameters of a platform spec, defaults for the absent ones."""
    return logreg.Hyperparams(**spec["hyperparams"])


class BatchOrder(unittest.TestCase):
    def test_splitmix64_gives_its_published_outputs_for_seed_0(self):
        rng = logreg.SplitMix64(0)
        self.assertEqual(
            [rng.next(), rng.next(), rng.next()],
            [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F],
        )

    def test_the_shuffle_of_ten_with_seed_7_is_the_platforms(self):
        order = list(range(10))
        logreg.shuffle(order, logreg.SplitMix64(7))
        self.assertEqual(order, [8, 1, 5, 9, 0, 4, 3, 2, 6, 7])

    def test_each_epoch_shuffles_the_previous_order_again(self):
        rng = logreg.SplitMix64(7)
        order = list(range(10))
        logreg.shuffle(order, rng)
        first = list(order)
        logreg.shuffle(order, rng)
        again = list(range(10))
        fresh = logreg.SplitMix64(7)
        logreg.shuffle(again, fresh)
        logreg.shuffle(again, fresh)
        self.assertEqual(order, again)
        self.assertNotEqual(order, first)


class AgainstThePlatform(unittest.TestCase):
    """The platform's runs: run_000001 with a spec, run_000002 with every default."""

    def assert_metrics_agree(self, ours, theirs):
        self.assertEqual(sorted(ours), sorted(METRICS))
        for name in METRICS:
            self.assertLessEqual(abs(ours[name] - theirs[name]), 1e-9, name)

    def test_the_metrics_agree_with_a_local_run_to_1e_9(self):
        run = platform_run("run_000001")
        model, metrics = logreg.train(*splits(), params_of(run["spec"]), run["spec"]["seed"])
        self.assert_metrics_agree(metrics, run["metrics"])

    def test_the_epoch_lines_are_the_platforms_log_lines(self):
        run = platform_run("run_000001")
        lines = []
        logreg.train(
            *splits(),
            params_of(run["spec"]),
            run["spec"]["seed"],
            on_epoch=lambda epoch: lines.append(epoch.line()),
        )
        self.assertEqual(lines, [line for line in run["log"] if line.startswith("epoch ")])

    def test_the_artifact_is_the_platforms_byte_for_byte_given_its_spec(self):
        for run_id in ("run_000001", "run_000002"):
            run = platform_run(run_id)
            model, metrics = logreg.train(
                *splits(), params_of(run["spec"]), run["spec"]["seed"]
            )
            ours = artifact.artifact_bytes(model, metrics, run["spec"])
            with open(os.path.join(DATA, f"{run_id}.model.json"), "rb") as file:
                self.assertEqual(ours.decode(), file.read().decode(), run_id)
            self.assertEqual(hashlib.sha256(ours).hexdigest(), run["artifact_sha256"])

    def test_the_defaults_are_the_platforms_and_the_cli_trains_with_them(self):
        self.assertEqual(logreg.Hyperparams(), logreg.Hyperparams(0.1, 20, 64, 0.0))
        run = platform_run("run_000002")
        self.assertEqual(run["spec"]["hyperparams"], {})
        self.assertEqual(run["spec"]["seed"], 0)
        with tempfile.TemporaryDirectory() as out:
            answer = subprocess.run(
                [
                    sys.executable,
                    os.path.join(HERE, "train.py"),
                    "--train",
                    os.path.join(DATA, "train.csv"),
                    "--validation",
                    os.path.join(DATA, "validation.csv"),
                    "--out",
                    out,
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            self.assertEqual(answer.returncode, 0, answer.stderr)
            lines = answer.stdout.splitlines()
            self.assertEqual(
                [line for line in lines if line.startswith("epoch ")],
                [line for line in run["log"] if line.startswith("epoch ")],
            )
            self.assertEqual(lines[0], run["log"][1], "the platform's started line")
            metrics_path = os.path.join(out, "metrics.json")
            self.assertEqual(
                lines[-1], f"report it: mp train report RUN_ID --metrics {metrics_path}"
            )
            with open(metrics_path, encoding="utf-8") as file:
                text = file.read()
            self.assert_metrics_agree(json.loads(text), run["metrics"])
            self.assertIn('"trades":13,', text, "a count is written as an integer")
            with open(os.path.join(out, "model.json"), encoding="utf-8") as file:
                model = json.load(file)
            self.assertEqual(model["format"], "marketref-logistic-regression-v1")
            self.assertEqual(
                model["spec"],
                {
                    "provider": "byoc",
                    "task": "signal",
                    "seed": 0,
                    "hyperparams": {"lr": 0.1, "epochs": 20, "batch_size": 64, "l2": 0.0},
                },
            )
            with open(os.path.join(DATA, "run_000002.model.json"), encoding="utf-8") as file:
                theirs = json.load(file)
            for key in ("features", "normalisation", "weights", "bias", "thresholds"):
                self.assertEqual(model[key], theirs[key], key)


class Cli(unittest.TestCase):
    def run_cli(self, *args):
        return subprocess.run(
            [sys.executable, os.path.join(HERE, "train.py"), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_out_of_range_hyperparameters_are_refused_before_reading(self):
        for flag, value in [
            ("--lr", "0"),
            ("--lr", "10.5"),
            ("--epochs", "0"),
            ("--epochs", "1001"),
            ("--batch-size", "65537"),
            ("--l2", "-1"),
            ("--seed", "-1"),
        ]:
            answer = self.run_cli("--train", "x.csv", "--validation", "y.csv", flag, value)
            self.assertEqual(answer.returncode, 2, (flag, value))
            self.assertIn(flag, answer.stderr)

    def test_an_unreadable_file_is_refused_with_the_platforms_reason(self):
        with tempfile.TemporaryDirectory() as folder:
            bad = os.path.join(folder, "bad.csv")
            with open(bad, "w", encoding="utf-8") as file:
                file.write("timestamp,symbol,close,label\n")
            answer = self.run_cli("--train", bad, "--validation", bad, "--out", folder)
            self.assertEqual(answer.returncode, 2)
            self.assertIn("no `ret_1` column", answer.stderr)
            self.assertFalse(os.path.exists(os.path.join(folder, "metrics.json")))


HEADER = "timestamp,symbol,open,high,low,close,volume,ret_1,ret_5,ret_20,vol_20,rsi_14,label"
ROW = "2026-01-01T00:00:00.000Z,X,1,1,1,1.5,1,0.1,0.2,0.3,0.4,0.5,1"


class ReadingAFile(unittest.TestCase):
    def refusal(self, text):
        with self.assertRaises(rounds.Unreadable) as caught:
            rounds.parse(text)
        return str(caught.exception)

    def test_the_platforms_refusals(self):
        self.assertEqual(self.refusal("timestamp,symbol,close,label\n"), "no `ret_1` column")
        self.assertEqual(
            self.refusal(f"{HEADER}\n2026-01-01T00:00:00.000Z,X,1,1,1,1,1,0,0,0,0,50,2\n"),
            "row 1: label (0 or 1)",
        )
        self.assertEqual(self.refusal(""), "the file is empty")
        self.assertEqual(self.refusal(HEADER + "\n"), "the file has no rows")
        self.assertEqual(self.refusal(f"{HEADER}\n{ROW}\n\n"), "row 2: timestamp")
        self.assertEqual(self.refusal(f"{HEADER}\n{ROW.replace('0.3', 'x')}\n"), "row 1: ret_20")
        self.assertEqual(self.refusal(f"{HEADER}\n{ROW[:-6]}\n"), "row 1: rsi_14")

    def test_a_row_reads_as_the_platform_reads_it(self):
        split = rounds.parse(f"{HEADER}\r\n{ROW}\r\n")
        self.assertEqual(split.symbols, ["X"])
        self.assertEqual(split.unix, [1767225600])
        self.assertEqual(split.closes, [1.5])
        self.assertEqual(split.features, [[0.1, 0.2, 0.3, 0.4, 0.5]])
        self.assertEqual(split.labels, [1.0])

    def test_columns_are_found_by_name(self):
        text = "label,rsi_14,vol_20,ret_20,ret_5,ret_1,close,symbol,timestamp\n"
        text += "0,5,4,3,2,1,1.25,Y,2026-01-01T01:00:00+01:00\n"
        split = rounds.parse(text)
        self.assertEqual(split.features, [[1.0, 2.0, 3.0, 4.0, 5.0]])
        self.assertEqual(split.unix, [1767225600], "the offset is applied")

    def test_numbers_follow_rusts_grammar_not_pythons(self):
        for cell, ok in [
            ("1.", True),
            (".5", True),
            ("-1e-3", True),
            ("+2E5", True),
            ("1_0", False),
            (" 1", False),
            ("1 ", False),
            ("inf", False),
            ("NaN", False),
            ("1e400", False),
            ("", False),
            ("\u0661", False),
        ]:
            text = f"{HEADER}\n{ROW.replace(',0.1,', ',' + cell + ',')}\n"
            if ok:
                self.assertEqual(rounds.parse(text).features[0][0], float(cell), cell)
            else:
                self.assertEqual(self.refusal(text), "row 1: ret_1", cell)

    def test_timestamps_follow_the_time_crates_rfc3339(self):
        for text, unix in [
            ("2026-01-01T00:00:00Z", 1767225600),
            ("2026-01-01t00:00:00.999z", 1767225600),
            ("2026-01-01 00:00:00Z", 1767225600),
            ("1969-12-31T23:59:59.5Z", -1),
            ("2026-01-01T00:00:00-00:30", 1767227400),
            ("2016-12-31T23:59:60Z", 1483228799),
            ("2016-12-30T23:59:60Z", None),
            ("2026-02-29T00:00:00Z", None),
            ("2026-01-01T24:00:00Z", None),
            ("2026-01-01T00:00:00", None),
            ("2026-01-01T00:00:00+24:00", None),
            ("2026-01-01", None),
            ("2026-01-01T00:00:00.Z", None),
        ]:
            self.assertEqual(rounds.parse_rfc3339_unix(text), unix, text)


class Numbers(unittest.TestCase):
    def test_floats_are_spelled_as_serde_json_spells_them(self):
        for value, text in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e-5, "0.00001"),
            (1.2345e-5, "0.000012345"),
            (1e-6, "1e-6"),
            (-1.5e-7, "-1.5e-7"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e16"),
            (1.5e20, "1.5e20"),
            (123.45, "123.45"),
            (math.nan, "null"),
        ]:
            self.assertEqual(artifact.rust_float(value), text, repr(value))

    def test_metrics_are_spelled_as_js_numbers(self):
        self.assertEqual(artifact.js_number(22.0), "22")
        self.assertEqual(artifact.js_number(-0.0), "0")
        self.assertEqual(artifact.js_number(0.8804), "0.8804")
        self.assertEqual(artifact.js_number(math.inf), "0")

    def test_rust_display_never_uses_an_exponent(self):
        self.assertEqual(artifact.rust_display(0.0), "0")
        self.assertEqual(artifact.rust_display(0.001), "0.001")
        self.assertEqual(artifact.rust_display(1e-5), "0.00001")


def planted(n, seed):
    """Rows whose label is 1 exactly when the first feature is above 0."""
    rng = random.Random(seed)
    split = rounds.Split()
    for row in range(n):
        features = [rng.random() * 2.0 - 1.0 for _ in rounds.FEATURES]
        split.symbols.append("X")
        split.unix.append(3600 * row)
        split.closes.append(1.0 + row / 1000.0)
        split.labels.append(1.0 if features[0] > 0.0 else 0.0)
        split.features.append(features)
    return split


class TheAlgorithm(unittest.TestCase):
    def test_it_learns_a_planted_rule(self):
        params = logreg.Hyperparams(lr=0.5, epochs=30, batch_size=32)
        model, metrics = logreg.train(planted(2000, 1), planted(500, 2), params, 0)
        self.assertGreater(metrics["val_accuracy"], 0.95)
        self.assertLess(metrics["val_loss"], 0.3)
        self.assertGreater(model.weights[0], 3.0 * abs(model.weights[1]))

    def test_the_gradient_is_the_losss_derivative(self):
        split = planted(40, 3)
        mean, std = logreg.normalisation(split.features)
        x = logreg.standardised(split.features, mean, std)
        weights, bias, l2, h = [0.3, -0.2, 0.1, 0.05, -0.4], 0.1, 0.01, 1e-6
        gw, gb = logreg.gradient(x, split.labels, range(len(x)), weights, bias, l2)
        for i in range(len(weights)):
            up, down = list(weights), list(weights)
            up[i] += h
            down[i] -= h
            numeric = (
                logreg.loss(x, split.labels, up, bias, l2)
                - logreg.loss(x, split.labels, down, bias, l2)
            ) / (2.0 * h)
            self.assertLess(abs(numeric - gw[i]), 1e-6, i)
        numeric = (
            logreg.loss(x, split.labels, weights, bias + h, l2)
            - logreg.loss(x, split.labels, weights, bias - h, l2)
        ) / (2.0 * h)
        self.assertLess(abs(numeric - gb), 1e-6)

    def test_the_backtest_goes_long_and_short_by_the_thresholds(self):
        split = rounds.Split(
            symbols=["X"] * 4,
            unix=[0, 3600, 7200, 10800],
            closes=[1.0, 1.1, 1.21, 1.089],
            features=[[0.0] * 5 for _ in range(4)],
            labels=[1.0, 1.0, 0.0, 0.0],
        )
        always_up = logreg.Model(list(rounds.FEATURES), [0.0] * 5, [1.0] * 5, [0.0] * 5, 5.0)
        sharpe, win_rate, trades = logreg.backtest(always_up, split)
        self.assertEqual(trades, 3, "the last bar has no next close")
        self.assertAlmostEqual(win_rate, 2.0 / 3.0, places=12)
        returns = [0.1, 0.1, -0.1]
        mean = (returns[0] + returns[1] + returns[2]) / 3.0
        sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3.0)
        self.assertLess(abs(sharpe - mean / sd * math.sqrt(365.0 * 24.0)), 1e-9)
        flat = logreg.Model(list(rounds.FEATURES), [0.0] * 5, [1.0] * 5, [0.0] * 5, 0.0)
        self.assertEqual(logreg.backtest(flat, split), (0.0, 0.0, 0))

    def test_another_seed_orders_the_batches_otherwise(self):
        train, validation = splits()
        a, _ = logreg.train(train, validation, logreg.Hyperparams(epochs=2), 7)
        b, _ = logreg.train(train, validation, logreg.Hyperparams(epochs=2), 7)
        c, _ = logreg.train(train, validation, logreg.Hyperparams(epochs=2), 8)
        self.assertEqual(a.weights, b.weights)
        self.assertNotEqual(a.weights, c.weights)


if __name__ == "__main__":
    unittest.main()
