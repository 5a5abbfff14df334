"""Accounting-aware date helpers: balance dates from XPM's Balance Month.

A client's balance date is the last day of its Balance Month (their financial year end),
every year. "Balance date within the next N days" asks whether the next such day, counting
today, falls within N days; "within the last N days" whether the latest one that has passed
(today included) was at most N days ago.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from .rules import MONTHS, as_month


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def next_balance_date(month: str | int, today: date) -> date:
    """The balance date of ``month`` on or after ``today`` (this year, else next year)."""
    number = _month_number(month)
    this_year = month_end(today.year, number)
    return this_year if this_year >= today else month_end(today.year + 1, number)


def last_balance_date(month: str | int, today: date) -> date:
    """The balance date of ``month`` on or before ``today`` (this year, else last year)."""
    number = _month_number(month)
    this_year = month_end(today.year, number)
    return this_year if this_year <= today else month_end(today.year - 1, number)


def months_due_within_next(days: int, today: date) -> list[str]:
    """Balance Month names whose next balance date is within ``days`` days of ``today``."""
    horizon = today + timedelta(days=days)
    return [m for m in MONTHS if next_balance_date(m, today) <= horizon]


def months_due_within_last(days: int, today: date) -> list[str]:
    """Balance Month names whose latest balance date was at most ``days`` days ago."""
    start = today - timedelta(days=days)
    return [m for m in MONTHS if last_balance_date(m, today) >= start]


def _month_number(month: str | int) -> int:
    name = as_month(month)
    if name is None:
        raise ValueError(f"{month!r} is not a month")
    return MONTHS.index(name) + 1
