"""`POST /infer` without the HTTP: reading a SignalInferenceRequest (refusing what the contract
does not allow, with a message saying what is wrong) and making the SignalInferenceResponse.

An answer depends on the request and the model only, never on the clock, so the same request
gets the same bytes back.
"""

import datetime
import json
import math
import re

from features import FEATURES, HISTORY, last_bar_features

TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
_SYMBOL = re.compile(r"[A-Z0-9]{1,20}\Z")
# RFC 3339 with seconds and an offset (or Z); fractions of a second are dropped.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))\Z"
)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# When only features are given and no timestamp: a fixed time, never the clock.
NO_TIME = "1970-01-01T00:00:00Z"


class BadRequest(Exception):
    """A request the contract refuses: 400 with this message."""


def _refuse_constant(name):
    raise BadRequest(f"{name} is not a JSON number")


def _number(value, where):
    """A finite JSON number (not a bool) as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{where} must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise BadRequest(f"{where} is too large") from None
    if not math.isfinite(number):
        raise BadRequest(f"{where} must be finite")
    return number


def format_unix(seconds):
    """`YYYY-MM-DDTHH:MM:SSZ` of whole Unix seconds."""
    try:
        at = _EPOCH + datetime.timedelta(seconds=seconds)
    except OverflowError:
        raise BadRequest("a bar's time is out of range") from None
    if at.year < 1 or at.year > 9999:
        raise BadRequest("a bar's time is out of range")
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _normalised_time(text):
    """An RFC 3339 time as `YYYY-MM-DDTHH:MM:SSZ` in UTC."""
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if match is None:
        raise BadRequest("timestamp must be an RFC 3339 time like 2026-01-01T00:00:00Z")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    sign, offset_hour, offset_minute = match.groups()[6:]
    try:
        offset = datetime.timedelta(0)
        if sign is not None:
            offset = datetime.timedelta(hours=int(offset_hour), minutes=int(offset_minute))
            if offset >= datetime.timedelta(hours=24):
                raise ValueError
            offset = -offset if sign == "-" else offset
        at = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone(offset))
        return at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError):
        raise BadRequest("timestamp is not a valid time") from None


def _bars(ohlcv):
    """The closes and the last bar's time of `ohlcv`, checked."""
    if not isinstance(ohlcv, list):
        raise BadRequest("ohlcv must be a list of [unix_seconds, open, high, low, close, volume]")
    if len(ohlcv) < HISTORY + 1:
        raise BadRequest(
            f"ohlcv has {len(ohlcv)} bars; the features need {HISTORY + 1} at least (oldest first)"
        )
    closes, previous = [], None
    for index, bar in enumerate(ohlcv):
        where = f"ohlcv[{index}]"
        if not isinstance(bar, list) or len(bar) != 6:
            raise BadRequest(f"{where} must be [unix_seconds, open, high, low, close, volume]")
        at = _number(bar[0], f"{where}[0] (unix seconds)")
        if at != math.floor(at):
            raise BadRequest(f"{where}[0] must be whole unix seconds")
        if previous is not None and at <= previous:
            raise BadRequest(f"{where} is not after the bar before it: bars go oldest first")
        previous = at
        prices = [_number(value, f"{where}[{i}]") for i, value in enumerate(bar[1:5], start=1)]
        if min(prices) <= 0.0:
            raise BadRequest(f"{where}: prices must be above 0")
        _number(bar[5], f"{where}[5] (volume)")
        closes.append(prices[3])
    return closes, format_unix(int(previous))


def parse(body):
    """The request in `body` (bytes) as a dict: symbol, timeframe, features (a list in
    FEATURES order), timestamp, and how the features were had (`source`, `bars`)."""
    try:
        request = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except BadRequest:
        raise
    except (ValueError, RecursionError):
        # Not UTF-8, not JSON, nested too deep, or an integer too long to read.
        raise BadRequest("the body is not JSON") from None
    if not isinstance(request, dict):
        raise BadRequest("the body must be a JSON object")
    symbol, timeframe = request.get("symbol"), request.get("timeframe")
    if not isinstance(symbol, str) or _SYMBOL.match(symbol) is None:
        raise BadRequest("symbol must be 1 to 20 upper-case letters or digits, like EURUSD")
    if timeframe not in TIMEFRAMES:
        raise BadRequest(f"timeframe must be one of {', '.join(TIMEFRAMES)}")
    ohlcv, given = request.get("ohlcv"), request.get("features")
    if ohlcv is not None:
        # Bars win over features when both are given: they are what the round is made of.
        closes, timestamp = _bars(ohlcv)
        row = last_bar_features(closes)
        if not all(math.isfinite(value) for value in row):
            raise BadRequest("the bars' prices give features out of range")
        source, bars = "ohlcv", len(closes)
    elif given is not None:
        if not isinstance(given, dict):
            raise BadRequest("features must be an object of feature name to number")
        missing = [name for name in FEATURES if name not in given]
        if missing:
            raise BadRequest(f"features lacks {', '.join(missing)}")
        row = [_number(given[name], f"features.{name}") for name in FEATURES]
        stamp = request.get("timestamp")
        timestamp = NO_TIME if stamp is None else _normalised_time(stamp)
        source, bars = "features", 0
    else:
        raise BadRequest(f"give ohlcv (at least {HISTORY + 1} bars) or features")
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "features": row,
        "timestamp": timestamp,
        "source": source,
        "bars": bars,
    }


def answer(model, request):
    """The SignalInferenceResponse of a parsed request."""
    try:
        p = model.predict(request["features"])
    except ValueError as error:
        raise BadRequest(str(error)) from None
    decision, confidence = model.decide(p)
    if request["source"] == "ohlcv":
        origin = f"features of the last of {request['bars']} bars ({request['timestamp']})"
    else:
        origin = "features as given in the request"
    return {
        "decision": decision,
        "confidence": min(max(confidence, 0.0), 1.0),
        "model_version": model.version,
        "timestamp": request["timestamp"],
        "rationale": [
            f"p(up)={p:.4f}: long above {model.long_above:g}, short below {model.short_below:g}",
            origin,
        ],
        "metadata": {
            "features": dict(zip(FEATURES, request["features"])),
            "p_up": p,
        },
    }


def to_json(value):
    """Compact JSON with sorted keys: the same value, the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
