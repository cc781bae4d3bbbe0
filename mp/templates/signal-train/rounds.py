"""Reading a round's CSV file exactly as the platform's `local` trainer does (`Split::parse` in
marketref's `trainer.rs`): columns found by name, the same rows accepted and refused, the same
error messages, so that a file the platform trains on trains here and one it refuses is refused.
"""

import re
from dataclasses import dataclass, field

# The feature columns, in the order the model uses them (`dataset::FEATURES`).
FEATURES = ("ret_1", "ret_5", "ret_20", "vol_20", "rsi_14")

# What Rust's `str::parse::<f64>` accepts, less the infinities and NaN that the trainer then
# refuses as not finite. Python's float() is looser (white space, `1_000`, non-ASCII digits),
# so a cell must match this before float() sees it.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")

# RFC 3339 as the `time` crate parses it: any one ASCII character between date and time, any
# number of fraction digits, `Z` in either case or an offset `+HH:MM`.
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[\x00-\x7f]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]+)?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))\Z"
)


class Unreadable(Exception):
    """A file the trainer cannot train on; the message is the platform's."""


@dataclass
class Split:
    """One split file as the trainer reads it."""

    symbols: list = field(default_factory=list)
    unix: list = field(default_factory=list)
    closes: list = field(default_factory=list)
    features: list = field(default_factory=list)  # one list of len(FEATURES) floats a row
    labels: list = field(default_factory=list)  # 0.0 or 1.0


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), for years
    0000..9999 which `datetime` does not all cover."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(year, month):
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_rfc3339_unix(text):
    """Whole Unix seconds of an RFC 3339 time (fractions dropped, as `unix_timestamp` does), or
    None where the `time` crate refuses it."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    sign, offset_hour, offset_minute = match.groups()[6:]
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        return None
    if hour > 23 or minute > 59 or second > 60:
        return None
    offset = 0
    if sign is not None:
        offset_hour, offset_minute = int(offset_hour), int(offset_minute)
        if offset_hour > 23 or offset_minute > 59:
            return None
        offset = (offset_hour * 3600 + offset_minute * 60) * (-1 if sign == "-" else 1)
    leap = second == 60
    if leap:
        # Read as 23:59:59.999999999, and only where a leap second can be: the last second
        # of a month in UTC.
        second = 59
    unix = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    unix -= offset
    if leap and (unix % 86400 != 86399 or not _is_last_day_of_month(unix // 86400)):
        return None
    return unix


def _is_last_day_of_month(days):
    """Whether the day `days` after 1970-01-01 is the last of its month (civil_from_days)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    return day == _days_in_month(year, month)


def _number(cell):
    """The finite f64 of a cell, or None."""
    if cell is None or _NUMBER.match(cell) is None:
        return None
    value = float(cell)
    return value if value - value == 0.0 else None  # not inf (nan never matches the pattern)


def _lines(text):
    """Rust's `str::lines`: split at `\\n`, a `\\r` before it dropped, no line after a final
    newline."""
    if text == "":
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def parse(text):
    """The Split of a round's CSV text, or Unreadable with the platform's message."""
    lines = _lines(text)
    if not lines:
        raise Unreadable("the file is empty")
    header = lines[0].split(",")

    def column(name):
        try:
            return header.index(name)
        except ValueError:
            raise Unreadable(f"no `{name}` column") from None

    timestamp, symbol, close, label = (column(n) for n in ("timestamp", "symbol", "close", "label"))
    feature_columns = [column(name) for name in FEATURES]
    split = Split()
    for index, line in enumerate(lines[1:]):
        cells = line.split(",")

        def cell(at):
            return cells[at] if at < len(cells) else None

        def bad(what):
            return Unreadable(f"row {index + 1}: {what}")

        def number(at):
            value = _number(cell(at))
            if value is None:
                raise bad(header[at])
            return value

        # The checks in the platform's order, so that a row with several faults names the
        # same one.
        at = cell(timestamp)
        unix = parse_rfc3339_unix(at) if at is not None else None
        if unix is None:
            raise bad("timestamp")
        row = [number(at) for at in feature_columns]
        value = number(label)
        if value != 0.0 and value != 1.0:
            raise bad("label (0 or 1)")
        name = cell(symbol)
        if name is None:
            raise bad("symbol")
        split.symbols.append(name)
        split.unix.append(unix)
        split.closes.append(number(close))
        split.features.append(row)
        split.labels.append(value)
    if not split.labels:
        raise Unreadable("the file has no rows")
    return split
