"""An injectable, movable clock so tests can expire tokens and roll rate-limit windows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def system_now() -> datetime:
    """The real time, timezone-aware UTC."""
    return datetime.now(UTC)


class Clock:
    """A callable returning an aware UTC datetime: ``base() + offset``.

    ``advance()`` moves time forward for everything in the sandbox at once (token expiry,
    refresh grace windows, rate-limit windows, modified timestamps), without sleeping.
    """

    def __init__(self, base: Callable[[], datetime] | None = None) -> None:
        self._base = base or system_now
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        now = self._base()
        if now.tzinfo is None:
            # A naive base clock is taken to be UTC rather than local time: XPM is UTC.
            now = now.replace(tzinfo=UTC)
        with self._lock:
            return now.astimezone(UTC) + self._offset

    @property
    def offset(self) -> timedelta:
        """How far this clock has been moved away from its base."""
        return self._offset

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        """Move time forward (or back, with negative values); return the new now."""
        delta = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        with self._lock:
            self._offset += delta
        return self()

    def reset(self) -> None:
        """Return to the base clock."""
        with self._lock:
            self._offset = timedelta(0)
