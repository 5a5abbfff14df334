"""Tolerant coercion of XPM's textual values (no XML here: these work on plain strings).

XPM is inconsistent about flags (`Yes`/`No` on clients, `true`/`false` on custom fields),
sends date-times without a zone (they are UTC), and some practices see decimals with
locale separators. The mapping layer reuses these helpers so both sides agree.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

__all__ = [
    "MONTH_NAMES",
    "format_modified_since",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_int",
    "parse_month",
]

MONTH_NAMES: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_TRUE = frozenset({"yes", "true", "y", "1"})
_FALSE = frozenset({"no", "false", "n", "0"})

# XPM (and the identity API) send up to 7 fractional digits, more than fromisoformat takes.
_DATETIME_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_bool(value: str | None) -> bool | None:
    """`Yes`/`No`/`true`/`false` (any case) to a bool; blank or unrecognised to None."""
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def parse_datetime(value: str | None) -> datetime | None:
    """An XPM date-time to an aware datetime; naive values are UTC (XPM omits the zone)."""
    if value is None or not value.strip():
        return None
    match = _DATETIME_RE.match(value.strip())
    if match is None:
        return None
    text = match["date"] + "T" + (match["time"] or "00:00")
    if match["fraction"]:
        text += "." + match["fraction"][:6].ljust(6, "0")
    zone = match["zone"]
    if zone:
        text += "+00:00" if zone == "Z" else zone
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: str | None) -> date | None:
    """`1970-11-26`, `1970-11-26T00:00:00` or `19701126` to a date; anything else to None."""
    if value is None or not value.strip():
        return None
    stripped = value.strip()
    if re.fullmatch(r"\d{8}", stripped):
        try:
            return date(int(stripped[:4]), int(stripped[4:6]), int(stripped[6:]))
        except ValueError:
            return None
    parsed = parse_datetime(stripped)
    return parsed.date() if parsed is not None else None


def parse_int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value.strip())
    except ValueError:
        number = parse_decimal(value)
        if number is not None and number == number.to_integral_value():
            return int(number)
        return None


def parse_decimal(value: str | None) -> Decimal | None:
    """A decimal in either separator convention: `1,234.50`, `1.234,50`, `123,45`, `123.45`.

    With both separators present the last one is the decimal point. A lone comma is a
    thousands separator only when exactly three digits follow it (XPM decimals carry two
    places, so `1,234` is a thousand and `123,45` is a fraction).
    """
    if value is None:
        return None
    text = re.sub(r"[\s\u00a0\u202f'$€£]", "", value)
    if not text:
        return None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        parts = text.split(",")
        if len(parts) > 2 or len(parts[1]) == 3:
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_month(value: str | int | None) -> int | None:
    """A balance month given as `6`, `06`, `Jun` or `June` (any case) to 1..12."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 12 else None
    text = value.strip().lower().rstrip(".")
    if not text:
        return None
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    if len(text) >= 3:
        for index, name in enumerate(MONTH_NAMES, start=1):
            if name.lower().startswith(text):
                return index
    return None


def format_modified_since(moment: datetime) -> str:
    """`modifiedsince` wants UTC without an offset: `yyyy-MM-ddTHH:mm:ss`.

    Naive datetimes are refused: guessing their zone would silently move a sync watermark
    by hours and miss changes.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("modified_since must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
