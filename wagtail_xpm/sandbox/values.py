"""Wire formats of XPM values: Yes/No flags, months, GST terms, dates, masked tax numbers."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

MONTH_NAMES = list(calendar.month_name)[1:]
_MONTHS = {name.lower(): i for i, name in enumerate(MONTH_NAMES, start=1)}
_MONTHS.update({name[:3].lower(): i for i, name in enumerate(MONTH_NAMES, start=1)})

# Requests send 1/2/6 (docs/xpm-api.md 4.6); responses spell the period out (4.4).
GST_PERIODS = {"1": "Monthly", "2": "2 Monthly", "6": "6 Monthly"}
GST_BASES = ("Invoice", "Payment", "Hybrid")
PROVISIONAL_TAX_BASES = ("Standard Option", "Estimate Option", "Ratio Option")
AGENCY_STATUSES = ("With EOT", "Without EOT", "Unlinked")
RETURN_TYPES = ("IR3", "IR3NR", "IR4", "IR6", "IR7", "IR9", "PTS")


def yes_no(flag: bool) -> str:
    """Client, contact and group flags are ``Yes``/``No`` on the wire."""
    return "Yes" if flag else "No"


def true_false(flag: bool) -> str:
    """Custom-field flags and Boolean values are ``true``/``false``."""
    return "true" if flag else "false"


def parse_flag(text: str) -> bool:
    """Accept Yes/No and true/false in any case; raise ValueError otherwise."""
    lowered = text.strip().lower()
    if lowered in ("yes", "true", "1"):
        return True
    if lowered in ("no", "false", "0"):
        return False
    raise ValueError(text)


def parse_month(text: str) -> int:
    """``Jan``, ``January``, ``1`` ... -> 1..12."""
    lowered = text.strip().lower()
    if lowered.isdigit() and 1 <= int(lowered) <= 12:
        return int(lowered)
    if lowered in _MONTHS:
        return _MONTHS[lowered]
    raise ValueError(text)


def parse_gst_period(text: str) -> str:
    """``1``/``2``/``6`` or the spelled-out period -> the response spelling."""
    stripped = text.strip()
    if stripped in GST_PERIODS:
        return GST_PERIODS[stripped]
    for name in GST_PERIODS.values():
        if name.lower() == stripped.lower():
            return name
    raise ValueError(text)


def parse_choice(text: str, choices: tuple[str, ...]) -> str:
    """Case-insensitive match against a fixed vocabulary, returning its canonical spelling."""
    for choice in choices:
        if choice.lower() == text.strip().lower():
            return choice
    raise ValueError(text)


def mask_tax_number(number: str) -> str:
    """XPM shows only the last three characters of a tax number (``******123``)."""
    if not number:
        return ""
    visible = number[-3:]
    return "*" * max(len(number) - 3, 0) + visible


def format_datetime(value: datetime) -> str:
    """Response date-times carry no zone and are UTC (``2008-09-12T13:00:00``)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def format_date(value: date) -> str:
    """Dates render as midnight date-times, as the list example does."""
    return value.strftime("%Y-%m-%dT00:00:00")


def format_day(value: date) -> str:
    """Relationship start/end dates are plain ``yyyy-MM-dd``."""
    return value.strftime("%Y-%m-%d")


def parse_date(text: str) -> date:
    """Request dates: ``yyyy-MM-dd``, ``yyyyMMdd`` (custom fields) or a date-time."""
    stripped = text.strip()
    if len(stripped) == 8 and stripped.isdigit():
        return datetime.strptime(stripped, "%Y%m%d").date()
    return datetime.fromisoformat(stripped[:19] if "T" in stripped else stripped[:10]).date()


def parse_query_datetime(text: str) -> datetime:
    """``modifiedsince``: ``yyyy-MM-ddTHH:mm:ss`` in UTC (a bare date means midnight)."""
    stripped = text.strip().removesuffix("Z")
    parsed = datetime.fromisoformat(stripped)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_query_day(text: str) -> date:
    """``from``/``to`` on lead lists: ``YYYYMMDD``."""
    stripped = text.strip()
    if len(stripped) != 8 or not stripped.isdigit():
        raise ValueError(text)
    return datetime.strptime(stripped, "%Y%m%d").date()


def parse_decimal(text: str) -> Decimal:
    """Decimals, tolerating thousands separators (``1,234.50``)."""
    cleaned = text.strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


def format_decimal(value: Decimal | str, places: int = 2) -> str:
    """Decimals render with a fixed number of places (``123.45``)."""
    return f"{Decimal(value):.{places}f}"
