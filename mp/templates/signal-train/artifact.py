"""The model artifact and the metrics file, written byte for byte the way the platform writes
them (`trainer::artifact`): canonical JSON (keys sorted, no white space) with serde_json's
spelling of numbers, so that the same model gives the same file, and the same SHA-256, as a
`local` run's artifact with the same spec.
"""

import decimal
import json
import math

from logreg import LONG_ABOVE, SHORT_BELOW

FORMAT = "marketref-logistic-regression-v1"

# Below 2^53 a whole float is an exact integer (the platform's `JsNumber` rule).
_EXACT_INTEGER_LIMIT = 9007199254740992.0


def rust_float(x):
    """A float as serde_json writes it (the `ryu` crate's layout): the same shortest digits as
    Python's repr, placed differently (`1e-7` not `1e-07`, `0.00001` not `1e-05`, `1e16` not
    `1e+16`). Not finite: `null`, as serde_json turns such a float into."""
    if not math.isfinite(x):
        return "null"
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    text = repr(abs(x))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    digits = all_digits.lstrip("0")
    # x = 0.<digits> * 10^kk, as ryu counts: 10^(kk-1) <= x < 10^kk.
    kk = len(whole) - (len(all_digits) - len(digits)) + (int(exponent) if exponent else 0)
    digits = digits.rstrip("0")
    length = len(digits)
    k = kk - length  # x = <digits> * 10^k
    if 0 <= k and kk <= 16:
        body = digits + "0" * k + ".0"
    elif 0 < kk <= 16:
        body = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        body = "0." + "0" * -kk + digits
    elif length == 1:
        body = f"{digits}e{kk - 1}"
    else:
        body = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + body


def js_number(x):
    """A computed number as the platform's `JsNumber` writes it: a whole value without a
    fraction (`22`, not `22.0`); one that is not finite as 0."""
    if not math.isfinite(x):
        return "0"
    if x == int(x) and abs(x) < _EXACT_INTEGER_LIMIT:
        return str(int(x))
    return rust_float(x)


class JsNumber(float):
    """A float to be written by js_number rather than rust_float."""


def canonical(value):
    """Canonical JSON of dicts, lists, strings, ints, floats, bools and None."""
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(canonical(str(k)) + ":" + canonical(v) for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, str):
        # serde_json escapes what json.dumps escapes and leaves non-ASCII as UTF-8.
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, JsNumber):
        return js_number(value)
    if isinstance(value, float):
        return rust_float(value)
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"not JSON: {value!r}")


def metrics_bytes(metrics):
    """`metrics.json`: the metrics as the platform reports a run's (`{"trades":22,...}`)."""
    return (canonical({k: JsNumber(v) for k, v in metrics.items()}) + "\n").encode("utf-8")


def rust_display(x):
    """Rust's `{}` of a finite float: the shortest digits, never an exponent (`0.55`,
    `0.00001`), a whole value without a fraction (`0`)."""
    if x == int(x):
        return str(int(x))
    return format(decimal.Decimal(repr(x)), "f")


def artifact_bytes(model, metrics, spec):
    """The artifact of `trainer::artifact`, with a final newline."""
    card = (
        f"Logistic regression on {len(model.features)} standardised features "
        f"({', '.join(model.features)}) predicting a higher next close; "
        f"long above p = {rust_display(LONG_ABOVE)}, short below p = {rust_display(SHORT_BELOW)}. "
        f"Validation accuracy {metrics.get('val_accuracy', 0.0):.4f}."
    )
    document = {
        "format": FORMAT,
        "features": list(model.features),
        "normalisation": {"mean": list(model.mean), "std": list(model.std)},
        "weights": list(model.weights),
        "bias": model.bias,
        "thresholds": {"long_above": LONG_ABOVE, "short_below": SHORT_BELOW},
        "spec": spec,
        "metrics": {k: JsNumber(v) for k, v in metrics.items()},
        "model_card": card,
    }
    return (canonical(document) + "\n").encode("utf-8")
