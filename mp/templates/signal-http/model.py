"""The model artifact a `local` training run (or the signal-train template) writes, and its
prediction: `p`, the probability of a higher next close, as the platform's trainer computes it
(marketref `trainer.rs`, `Model::predict`), and the decision its thresholds make of it.
"""

import hashlib
import json
import math
from dataclasses import dataclass

from features import FEATURES

FORMAT = "marketref-logistic-regression-v1"


class ModelError(Exception):
    """An artifact this server cannot serve; the message says why (it is /ready's reason)."""


@dataclass(frozen=True)
class Model:
    mean: tuple
    std: tuple
    weights: tuple
    bias: float
    long_above: float
    short_below: float
    version: str  # what answers and signals name as model_version

    def predict(self, row):
        """p from raw features in FEATURES order, in the trainer's order of operations:
        `w * (x - mean) / std`, summed onto the bias feature by feature."""
        z = self.bias
        for i in range(len(FEATURES)):
            z += self.weights[i] * (row[i] - self.mean[i]) / self.std[i]
        if z != z:
            raise ValueError("the features give no probability (they overflow the model)")
        try:
            return 1.0 / (1.0 + math.exp(-z))
        except OverflowError:
            return 0.0  # exp(-z) is inf there, as Rust computes it: p = 1 / (1 + inf)

    def decide(self, p):
        """`(decision, confidence)`: BUY above long_above, SELL below short_below, else HOLD.

        The confidence is the probability of the likelier direction, max(p, 1 - p): p for a
        BUY, 1 - p for a SELL, and for a HOLD a value just above 0.5 that says how little the
        model leans, so that holds weigh little in a confidence-weighted consensus.
        """
        if p > self.long_above:
            return "BUY", p
        if p < self.short_below:
            return "SELL", 1.0 - p
        return "HOLD", max(p, 1.0 - p)


def _numbers(document, path, count=None):
    """The finite numbers at `path` (a list of `count`, or one when count is None)."""
    value = document
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    values = value if count is not None else [value]
    if not isinstance(values, list) or (count is not None and len(values) != count):
        raise ModelError(f"`{path}` is not a list of {count} numbers")
    floats = []
    for item in values:
        try:
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise ValueError
            number = float(item)  # an int too large for a float raises OverflowError
            if not math.isfinite(number):
                raise ValueError
        except (ValueError, OverflowError):
            raise ModelError(f"`{path}` holds something other than a finite number") from None
        floats.append(number)
    return tuple(floats) if count is not None else floats[0]


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def load(path, version=None):
    """The Model in the artifact at `path`. `version` names it; by default `logreg-` and the
    first 12 hex digits of the file's SHA-256, so that another artifact is another version."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ModelError(f"no model artifact at {path}: {error.strerror}") from None
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ModelError(f"{path} is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelError(f"{path} is not a {FORMAT} artifact")
    if document.get("features") != list(FEATURES):
        raise ModelError(f"{path} uses features other than {', '.join(FEATURES)}")
    n = len(FEATURES)
    std = _numbers(document, "normalisation.std", n)
    if any(value == 0.0 for value in std):
        raise ModelError(f"{path}: a standard deviation is 0")
    long_above = _numbers(document, "thresholds.long_above")
    short_below = _numbers(document, "thresholds.short_below")
    if not 0.0 <= short_below <= long_above <= 1.0:
        raise ModelError(f"{path}: the thresholds are not 0 <= short_below <= long_above <= 1")
    if version is None:
        version = "logreg-" + hashlib.sha256(data).hexdigest()[:12]
    if not 1 <= len(version) <= 40:
        raise ModelError("a model version is 1 to 40 characters")
    return Model(
        mean=_numbers(document, "normalisation.mean", n),
        std=std,
        weights=_numbers(document, "weights", n),
        bias=_numbers(document, "bias"),
        long_above=long_above,
        short_below=short_below,
        version=version,
    )
