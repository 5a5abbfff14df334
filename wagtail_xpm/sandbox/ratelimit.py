"""XPM's rate limits: per tenant a fixed 60-second window, a fixed 24-hour window and five
calls in flight; per app 10,000 calls a minute (docs/xpm-api.md 10, 14.4)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MINUTE = timedelta(seconds=60)
DAY = timedelta(hours=24)


@dataclass(slots=True)
class _Window:
    """A fixed window: it starts at the first call after the previous one ended, which is
    why the limits "reset at different times for each tenant"."""

    length: timedelta
    started: datetime | None = None
    count: int = 0

    def roll(self, now: datetime) -> None:
        if self.started is None or now >= self.started + self.length:
            self.started = now
            self.count = 0

    def retry_after(self, now: datetime) -> int:
        if self.started is None:
            return 0
        return max(1, math.ceil((self.started + self.length - now).total_seconds()))


@dataclass(slots=True)
class _Tenant:
    minute: _Window = field(default_factory=lambda: _Window(MINUTE))
    day: _Window = field(default_factory=lambda: _Window(DAY))
    in_flight: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one call: allowed or not, and the headers to send either way."""

    allowed: bool
    headers: dict[str, str]
    problem: str | None = None
    retry_after: int | None = None


class RateLimiter:
    """Counts calls per tenant and per app; every admitted call counts, errors included.

    With ``enabled=False`` nothing is refused and the remaining-headers report full
    budgets, so a header-aware client never slows itself down during benchmarks.
    """

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        enabled: bool = True,
        day_limit: int = 5000,
        minute_limit: int = 60,
        concurrency: int = 5,
        app_minute_limit: int = 10_000,
    ) -> None:
        self.clock = clock
        self.enabled = enabled
        self.day_limit = day_limit
        self.minute_limit = minute_limit
        self.concurrency = concurrency
        self.app_minute_limit = app_minute_limit
        self._tenants: dict[str, _Tenant] = {}
        self._app = _Window(MINUTE)
        self._lock = threading.Lock()

    def _headers(self, tenant: _Tenant) -> dict[str, str]:
        if not self.enabled:
            return {
                "X-DayLimit-Remaining": str(self.day_limit),
                "X-MinLimit-Remaining": str(self.minute_limit),
                "X-AppMinLimit-Remaining": str(self.app_minute_limit),
            }
        return {
            "X-DayLimit-Remaining": str(max(self.day_limit - tenant.day.count, 0)),
            "X-MinLimit-Remaining": str(max(self.minute_limit - tenant.minute.count, 0)),
            "X-AppMinLimit-Remaining": str(max(self.app_minute_limit - self._app.count, 0)),
        }

    def acquire(self, tenant_id: str) -> Decision:
        """Admit or refuse one call; an admitted call must be ``release()``d when done."""
        now = self.clock()
        with self._lock:
            tenant = self._tenants.setdefault(tenant_id, _Tenant())
            tenant.minute.roll(now)
            tenant.day.roll(now)
            self._app.roll(now)
            if self.enabled:
                refusal = self._refusal(tenant, now)
                if refusal is not None:
                    problem, retry_after = refusal
                    return Decision(False, self._headers(tenant), problem, retry_after)
            tenant.minute.count += 1
            tenant.day.count += 1
            self._app.count += 1
            tenant.in_flight += 1
            return Decision(True, self._headers(tenant))

    def _refusal(self, tenant: _Tenant, now: datetime) -> tuple[str, int | None] | None:
        # The longest wait wins: a client told "minute" would retry into a spent day.
        if tenant.day.count >= self.day_limit:
            return "day", tenant.day.retry_after(now)
        if self._app.count >= self.app_minute_limit:
            return "appminute", self._app.retry_after(now)
        if tenant.minute.count >= self.minute_limit:
            return "minute", tenant.minute.retry_after(now)
        if tenant.in_flight >= self.concurrency:
            # No Retry-After for concurrency: the wait is as long as a call in flight.
            return "concurrent", None
        return None

    def release(self, tenant_id: str) -> None:
        """A call admitted by ``acquire`` has finished (its body is fully sent)."""
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is not None and tenant.in_flight > 0:
                tenant.in_flight -= 1

    def headers(self, tenant_id: str) -> dict[str, str]:
        """The remaining-headers without counting a call."""
        with self._lock:
            tenant = self._tenants.setdefault(tenant_id, _Tenant())
            return self._headers(tenant)

    def reset(self) -> None:
        """Forget all counts (calls in flight stay in flight)."""
        with self._lock:
            for tenant in self._tenants.values():
                tenant.minute = _Window(MINUTE)
                tenant.day = _Window(DAY)
            self._app = _Window(MINUTE)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Counts per tenant, for the inspection page."""
        with self._lock:
            return {
                tenant_id: {
                    "minute": t.minute.count,
                    "day": t.day.count,
                    "in_flight": t.in_flight,
                }
                for tenant_id, t in self._tenants.items()
            }
