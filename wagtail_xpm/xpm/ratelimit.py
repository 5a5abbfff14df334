"""Client-side rate limiting per XPM tenant.

XPM allows 5 calls in flight and 60 calls a minute per tenant, plus a daily budget
(1,000 or 5,000) reported in `X-DayLimit-Remaining`. Staying under the first two locally
is cheaper than collecting 429s, and it must be shared: by all threads of a process
(`process_limiter()`), and by all processes when Redis is configured (`RedisRateLimiter`).

The minute budget is a sliding 60-second log at 55 calls by default: XPM counts in fixed
windows that reset at unknown times, and a sliding window under the limit can never exceed
it in any fixed window.

Beside the per-tenant budgets sits one app-wide minute budget (Xero allows an app 10,000
calls a minute across all its practices, docs/xpm-api.md 10): every tenant's call counts
against it, and a 429 naming ``appminute`` holds back every tenant, not only the one that
met it. ``wait_seconds`` says how long a call would wait without waiting, so a sync step
can hand its worker back and come back later (wagtail_xpm/sync/steps.py).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .errors import XpmRateLimited

__all__ = [
    "InMemoryRateLimiter",
    "NullRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "is_pacing",
    "process_limiter",
]

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0


@runtime_checkable
class RateLimiter(Protocol):
    """What `XpmClient` needs from a limiter."""

    def slot(
        self, tenant_id: str, *, max_minute_wait: float | None = None
    ) -> AbstractContextManager[None]:
        """Block until a call may start (in-flight and per-minute budgets); release on exit.

        Raises `XpmRateLimited` instead of waiting longer than the limiter's `max_wait`, or
        than ``max_minute_wait`` for a minute budget (the tenant's or the app's): a caller
        that would rather come back later than hold its thread passes a small one.
        """
        ...

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Learn from a response's headers (`X-DayLimit-Remaining`, `Retry-After` on 429)."""
        ...

    def day_remaining(self, tenant_id: str) -> int | None:
        """The last `X-DayLimit-Remaining` seen for the tenant, if any."""
        ...

    def wait_seconds(self, tenant_id: str) -> float:
        """How long a call for the tenant would wait for a minute budget (its own or the
        app's), without taking a slot; 0 when one could start now."""
        ...


def is_pacing(exc: Exception) -> bool:
    """A limiter of ours declined to wait for a minute budget (no call reached XPM): the
    caller may come back after ``exc.retry_after`` (``slot``'s ``max_minute_wait``)."""
    return (
        isinstance(exc, XpmRateLimited)
        and exc.status is None
        and exc.problem in ("minute", "appminute")
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # requests' headers are case-insensitive, plain dicts (tests, Redis) are not.
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = _header(headers, name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` as seconds (XPM sends delta-seconds; HTTP dates are not used)."""
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return max(seconds, 0.0)


@dataclass
class _TenantState:
    starts: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    blocked_until: float = 0.0
    day_remaining: int | None = None
    minute_remaining: int | None = None


class InMemoryRateLimiter:
    """Per-tenant limiter shared by the threads of one process.

    `clock` and `sleep` are injectable so tests can drive the minute window without waiting.
    """

    def __init__(
        self,
        per_minute: int = 55,
        concurrency: int = 5,
        max_wait: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        app_per_minute: int = 10_000,
    ) -> None:
        if per_minute < 1 or concurrency < 1 or app_per_minute < 1:
            raise ValueError("per_minute, app_per_minute and concurrency must be at least 1")
        self.per_minute = per_minute
        self.app_per_minute = app_per_minute
        self.concurrency = concurrency
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)
        self._tenants: dict[str, _TenantState] = {}
        # The app-wide budget: every tenant's starts, and a block after an app-wide 429.
        self._app = _TenantState()

    def _minute_wait(self, state: _TenantState, now: float) -> tuple[float, str] | None:
        """The wait the minute budgets (the tenant's, then the app's) impose now, if any.
        Called with the lock held; drops starts that left the window."""
        for starts in (state.starts, self._app.starts):
            while starts and starts[0] <= now - WINDOW_SECONDS:
                starts.popleft()
        if self._app.blocked_until > now:
            return self._app.blocked_until - now, "appminute"
        if state.blocked_until > now:
            return state.blocked_until - now, "minute"
        if len(self._app.starts) >= self.app_per_minute:
            return self._app.starts[0] + WINDOW_SECONDS - now, "appminute"
        if len(state.starts) >= self.per_minute:
            return state.starts[0] + WINDOW_SECONDS - now, "minute"
        return None

    def wait_seconds(self, tenant_id: str) -> float:
        with self._lock:
            found = self._minute_wait(self._state(tenant_id), self._clock())
            return max(found[0], 0.0) if found else 0.0

    def _state(self, tenant_id: str) -> _TenantState:
        state = self._tenants.get(tenant_id)
        if state is None:
            state = self._tenants[tenant_id] = _TenantState()
        return state

    @contextmanager
    def slot(self, tenant_id: str, *, max_minute_wait: float | None = None) -> Iterator[None]:
        self._acquire(tenant_id, max_minute_wait)
        try:
            yield
        finally:
            with self._released:
                self._state(tenant_id).in_flight -= 1
                self._released.notify_all()

    def _acquire(self, tenant_id: str, max_minute_wait: float | None = None) -> None:
        deadline = self._clock() + self.max_wait
        minute_deadline = (
            deadline if max_minute_wait is None else self._clock() + max(max_minute_wait, 0.0)
        )
        # Waiting for a slot is real waiting on other threads: bound it in real time too,
        # so an injected clock that stands still cannot make it endless.
        real_deadline = time.monotonic() + self.max_wait
        while True:
            with self._released:
                state = self._state(tenant_id)
                now = self._clock()
                minute = self._minute_wait(state, now)
                if minute is not None:
                    wait, problem = minute
                elif state.in_flight >= self.concurrency:
                    remaining = min(deadline - now, real_deadline - time.monotonic())
                    if remaining <= 0:
                        raise XpmRateLimited(
                            f"gave up waiting {self.max_wait:.0f}s for a free XPM call slot",
                            problem="concurrent",
                            status=None,
                        )
                    # A slot frees up when another call ends: wait for that notification
                    # (bounded, so a stuck clock or lost wake-up cannot hang us).
                    self._released.wait(timeout=min(remaining, 1.0))
                    continue
                else:
                    state.starts.append(now)
                    self._app.starts.append(now)
                    state.in_flight += 1
                    return
                # At least 1 ms: float rounding could otherwise leave a wait too small to
                # move the clock, and the loop would spin.
                wait = max(wait, 0.001)
                if now + wait > min(deadline, minute_deadline):
                    raise XpmRateLimited(
                        f"XPM minute budget needs a {wait:.0f}s wait, over the "
                        f"{min(deadline, minute_deadline) - now:.0f}s allowed",
                        problem=problem,
                        retry_after=wait,
                        status=None,
                    )
            # Sleep outside the lock so other tenants and releases are not held up.
            self._sleep(wait)

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        day = _int_header(headers, "X-DayLimit-Remaining")
        minute = _int_header(headers, "X-MinLimit-Remaining")
        problem = (_header(headers, "X-Rate-Limit-Problem") or "").strip().lower()
        retry_after = retry_after_seconds(headers)
        with self._released:
            state = self._state(tenant_id)
            if day is not None:
                state.day_remaining = day
            if minute is not None:
                state.minute_remaining = minute
            # XPM's own minute window is exhausted (possibly by another app or process):
            # hold every thread back until it says the window has reset. The app's window
            # is every tenant's: all of them wait.
            if problem == "minute" and retry_after:
                state.blocked_until = max(state.blocked_until, self._clock() + retry_after)
            elif problem == "appminute" and retry_after:
                self._app.blocked_until = max(self._app.blocked_until, self._clock() + retry_after)

    def day_remaining(self, tenant_id: str) -> int | None:
        with self._lock:
            state = self._tenants.get(tenant_id)
            return state.day_remaining if state else None

    def in_flight(self, tenant_id: str) -> int:
        with self._lock:
            state = self._tenants.get(tenant_id)
            return state.in_flight if state else 0


class NullRateLimiter:
    """No limits at all (benchmarks against the sandbox with its limits off)."""

    def __init__(self) -> None:
        self._day: dict[str, int] = {}

    @contextmanager
    def slot(self, tenant_id: str, *, max_minute_wait: float | None = None) -> Iterator[None]:
        yield

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        day = _int_header(headers, "X-DayLimit-Remaining")
        if day is not None:
            self._day[tenant_id] = day

    def day_remaining(self, tenant_id: str) -> int | None:
        return self._day.get(tenant_id)

    def wait_seconds(self, tenant_id: str) -> float:
        return 0.0


_process_limiter: InMemoryRateLimiter | None = None
_process_limiter_lock = threading.Lock()


def process_limiter() -> InMemoryRateLimiter:
    """The one in-memory limiter of this process (every XpmClient shares its budgets)."""
    global _process_limiter
    with _process_limiter_lock:
        if _process_limiter is None:
            _process_limiter = InMemoryRateLimiter()
        return _process_limiter


# --------------------------------------------------------------------------- Redis

# KEYS: starts log, leases, block marker, app starts log, app block marker.
# ARGV: per_minute, concurrency, lease_ms, member, app_per_minute, admit (1: take a slot,
# 0: only say how long a call would wait for a minute budget).
# Times come from the Redis server's clock so processes on different hosts agree.
# Returns {1, 0, ""} when admitted (or, not admitting, when a call could start now),
# else {0, wait_ms, problem}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = 60000
local per_minute = tonumber(ARGV[1])
local concurrency = tonumber(ARGV[2])
local lease_ms = tonumber(ARGV[3])
local app_per_minute = tonumber(ARGV[5])
local admit = tonumber(ARGV[6])
local app_blocked = redis.call('PTTL', KEYS[5])
if app_blocked > 0 then
  return {0, app_blocked, 'appminute'}
end
local blocked = redis.call('PTTL', KEYS[3])
if blocked > 0 then
  return {0, blocked, 'minute'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[4]) >= app_per_minute then
  local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  if wait < 1 then wait = 1 end
  return {0, wait, 'appminute'}
end
if redis.call('ZCARD', KEYS[1]) >= per_minute then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  if wait < 1 then wait = 1 end
  return {0, wait, 'minute'}
end
if admit == 0 then
  return {1, 0, ''}
end
if redis.call('ZCARD', KEYS[2]) >= concurrency then
  return {0, 100, 'concurrent'}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZADD', KEYS[4], now, ARGV[4])
redis.call('ZADD', KEYS[2], now + lease_ms, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window + 1000)
redis.call('PEXPIRE', KEYS[4], window + 1000)
redis.call('PEXPIRE', KEYS[2], lease_ms + 1000)
return {1, 0, ''}
"""


class RedisRateLimiter:
    """Per-tenant limiter shared by every process that uses the same Redis.

    A sorted set logs call starts (the sliding minute window); another holds in-flight
    leases scored by their expiry, so a process that dies mid-call only holds its slot
    until `lease_seconds` pass. One more log, under ``{key_prefix}:app``, holds every
    tenant's starts: the app-wide minute budget. Accepts any redis-py client; `redis`
    itself is not imported.
    """

    def __init__(
        self,
        redis_client: Any,
        *,
        per_minute: int = 55,
        concurrency: int = 5,
        lease_seconds: int = 120,
        key_prefix: str = "wagtail_xpm:rl",
        max_wait: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        app_per_minute: int = 10_000,
    ) -> None:
        if per_minute < 1 or concurrency < 1 or app_per_minute < 1:
            raise ValueError("per_minute, app_per_minute and concurrency must be at least 1")
        self._redis = redis_client
        self.per_minute = per_minute
        self.app_per_minute = app_per_minute
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.key_prefix = key_prefix
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._acquire_script = redis_client.register_script(_ACQUIRE)

    def _keys(self, tenant_id: str) -> tuple[str, str, str, str, str]:
        base, app = f"{self.key_prefix}:{tenant_id}", f"{self.key_prefix}:app"
        return (
            f"{base}:starts",
            f"{base}:leases",
            f"{base}:blocked",
            f"{app}:starts",
            f"{app}:blocked",
        )

    def _run(self, tenant_id: str, member: str, *, admit: bool) -> tuple[bool, float, str]:
        admitted, wait_ms, problem = self._acquire_script(
            keys=list(self._keys(tenant_id)),
            args=[
                self.per_minute,
                self.concurrency,
                int(self.lease_seconds * 1000),
                member,
                self.app_per_minute,
                1 if admit else 0,
            ],
        )
        if isinstance(problem, bytes):
            problem = problem.decode()
        return int(admitted) == 1, int(wait_ms) / 1000.0, str(problem)

    def wait_seconds(self, tenant_id: str) -> float:
        admitted, wait, _problem = self._run(tenant_id, "", admit=False)
        return 0.0 if admitted else wait

    @contextmanager
    def slot(self, tenant_id: str, *, max_minute_wait: float | None = None) -> Iterator[None]:
        member = uuid.uuid4().hex
        self._acquire(tenant_id, member, max_minute_wait)
        try:
            yield
        finally:
            try:
                self._redis.zrem(self._keys(tenant_id)[1], member)
            except Exception:  # noqa: BLE001 - the lease expires by itself anyway
                logger.warning("could not release an XPM rate-limit lease", exc_info=True)

    def _acquire(self, tenant_id: str, member: str, max_minute_wait: float | None = None) -> None:
        deadline = self._clock() + self.max_wait
        minute_deadline = (
            deadline if max_minute_wait is None else self._clock() + max(max_minute_wait, 0.0)
        )
        while True:
            admitted, wait, problem = self._run(tenant_id, member, admit=True)
            if admitted:
                return
            now = self._clock()
            limit = deadline if problem == "concurrent" else min(deadline, minute_deadline)
            if now + wait > limit:
                raise XpmRateLimited(
                    f"gave up waiting {self.max_wait:.0f}s for an XPM call slot",
                    problem=str(problem) or None,
                    retry_after=wait,
                    status=None,
                )
            self._sleep(wait)

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        day = _int_header(headers, "X-DayLimit-Remaining")
        problem = (_header(headers, "X-Rate-Limit-Problem") or "").strip().lower()
        retry_after = retry_after_seconds(headers)
        base = f"{self.key_prefix}:{tenant_id}"
        if day is not None:
            self._redis.set(f"{base}:day", day, ex=86400)
        if problem in ("minute", "appminute") and retry_after:
            # An app-wide 429 blocks every tenant (their scripts all read the app marker).
            key = self._keys(tenant_id)[4 if problem == "appminute" else 2]
            self._redis.set(key, "1", px=max(int(retry_after * 1000), 1))

    def day_remaining(self, tenant_id: str) -> int | None:
        value = self._redis.get(f"{self.key_prefix}:{tenant_id}:day")
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
