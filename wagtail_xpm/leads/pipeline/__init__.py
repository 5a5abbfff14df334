"""Delivering stored website enquiries to XPM as leads (``delivery.py``; split next)."""

from .delivery import (
    FRESH_GRACE,
    SELF_HEALING,
    claim,
    deliver,
    describe,
    mark_spam,
    owner_label,
    paused_for,
    reference_of,
    requeue,
    sweep,
    waiting_for_owner,
)
from .delivery import (
    _display as _display,
)
from .delivery import (
    _pause_key as _pause_key,
)

__all__ = [
    "FRESH_GRACE",
    "SELF_HEALING",
    "claim",
    "deliver",
    "describe",
    "mark_spam",
    "owner_label",
    "paused_for",
    "reference_of",
    "requeue",
    "sweep",
    "waiting_for_owner",
]
