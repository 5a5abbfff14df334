"""Per-tenant limiter: concurrency across threads, sliding minute window, day budget."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from wagtail_xpm.xpm.errors import XpmRateLimited
from wagtail_xpm.xpm.ratelimit import (
    InMemoryRateLimiter,
    NullRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    process_limiter,
)


class FakeClock:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _limiter(clock: FakeClock, **kwargs: object) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def test_limiters_satisfy_the_protocol() -> None:
    assert isinstance(InMemoryRateLimiter(), RateLimiter)
    assert isinstance(NullRateLimiter(), RateLimiter)


def test_concurrency_is_enforced_across_threads() -> None:
    limiter = InMemoryRateLimiter(per_minute=1000, concurrency=5, max_wait=10)
    lock = threading.Lock()
    active = 0
    peak = 0

    def call() -> None:
        nonlocal active, peak
        with limiter.slot("tenant"):
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.03)
            with lock:
                active -= 1

    threads = [threading.Thread(target=call) for _ in range(20)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    assert peak == 5
    assert limiter.in_flight("tenant") == 0
    # 20 calls of 30 ms, 5 at a time: at least 4 rounds.
    assert elapsed >= 0.11


def test_tenants_have_separate_budgets() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, per_minute=2, concurrency=1)
    with limiter.slot("a"), limiter.slot("b"):
        assert limiter.in_flight("a") == limiter.in_flight("b") == 1
    assert clock.sleeps == []


def test_slot_is_released_when_the_call_raises() -> None:
    limiter = InMemoryRateLimiter(concurrency=1, max_wait=0.2)
    with pytest.raises(RuntimeError), limiter.slot("t"):
        raise RuntimeError("boom")
    with limiter.slot("t"):
        assert limiter.in_flight("t") == 1


def test_minute_window_slides() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, per_minute=3, concurrency=5)
    starts = []
    for _ in range(3):
        with limiter.slot("t"):
            starts.append(clock.now)
        clock.now += 10  # calls at t=0, 10, 20
    assert clock.sleeps == []
    # Fourth call at t=30 must wait until the first start leaves the window (t=60).
    with limiter.slot("t"):
        starts.append(clock.now)
    assert clock.sleeps == [pytest.approx(30.0)]
    assert starts[-1] - starts[0] == pytest.approx(60.0)
    # Fifth call right away: the t=10 start leaves at t=70.
    with limiter.slot("t"):
        pass
    assert clock.sleeps[-1] == pytest.approx(10.0)


def test_never_more_than_per_minute_in_any_window() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, per_minute=55, concurrency=5)
    starts = []
    for _ in range(200):
        with limiter.slot("t"):
            starts.append(clock.now)
        clock.now += 0.1
    for index, start in enumerate(starts):
        in_window = [s for s in starts[index:] if s < start + 60]
        assert len(in_window) <= 55


def test_wait_beyond_max_wait_raises() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, per_minute=1, concurrency=5, max_wait=10)
    with limiter.slot("t"):
        pass
    with pytest.raises(XpmRateLimited) as excinfo, limiter.slot("t"):
        pass
    assert excinfo.value.problem == "minute"
    assert excinfo.value.retry_after == pytest.approx(60.0)
    assert clock.sleeps == []


def test_concurrency_wait_beyond_max_wait_raises() -> None:
    limiter = InMemoryRateLimiter(concurrency=1, max_wait=0.1)
    with limiter.slot("t"):
        started = time.perf_counter()
        with pytest.raises(XpmRateLimited) as excinfo, limiter.slot("t"):
            pass
        assert time.perf_counter() - started < 2
    assert excinfo.value.problem == "concurrent"


def test_observe_tracks_day_remaining_and_blocks_after_minute_429() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    assert limiter.day_remaining("t") is None
    limiter.observe("t", {"x-daylimit-remaining": "4994", "X-MinLimit-Remaining": "59"})
    assert limiter.day_remaining("t") == 4994
    limiter.observe(
        "t", {"X-DayLimit-Remaining": "4539", "X-Rate-Limit-Problem": "minute", "Retry-After": "22"}
    )
    assert limiter.day_remaining("t") == 4539
    with limiter.slot("t"):
        pass
    assert clock.sleeps == [pytest.approx(22.0)]
    limiter.observe("t", {"X-DayLimit-Remaining": "not a number"})
    assert limiter.day_remaining("t") == 4539


def test_null_limiter_tracks_day_only() -> None:
    limiter = NullRateLimiter()
    for _ in range(100):
        with limiter.slot("t"):
            pass
    limiter.observe("t", {"X-DayLimit-Remaining": "10"})
    assert limiter.day_remaining("t") == 10


def test_process_limiter_is_a_singleton() -> None:
    assert process_limiter() is process_limiter()
    assert isinstance(process_limiter(), InMemoryRateLimiter)


# --------------------------------------------------------------------------- Redis

REDIS_URL = os.environ.get("REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL not set")


@pytest.fixture
def redis_client():  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"wagtail_xpm_test:{uuid.uuid4().hex}"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.mark.redis
@needs_redis
def test_redis_concurrency_across_limiter_instances(redis_client) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_client
    # Two limiter objects stand in for two processes sharing Redis.
    limiters = [
        RedisRateLimiter(client, per_minute=1000, concurrency=3, key_prefix=prefix, max_wait=10)
        for _ in range(2)
    ]
    lock = threading.Lock()
    active = 0
    peak = 0

    def call(index: int) -> None:
        nonlocal active, peak
        with limiters[index % 2].slot("tenant"):
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.05)
            with lock:
                active -= 1

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 3
    assert client.zcard(f"{prefix}:tenant:leases") == 0


@pytest.mark.redis
@needs_redis
def test_redis_minute_budget_and_max_wait(redis_client) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_client
    limiter = RedisRateLimiter(client, per_minute=3, concurrency=5, key_prefix=prefix, max_wait=5)
    for _ in range(3):
        with limiter.slot("t"):
            pass
    with pytest.raises(XpmRateLimited) as excinfo, limiter.slot("t"):
        pass
    assert excinfo.value.problem == "minute"
    assert 50 < (excinfo.value.retry_after or 0) <= 60


@pytest.mark.redis
@needs_redis
def test_redis_dead_process_lease_expires(redis_client) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_client
    limiter = RedisRateLimiter(
        client, per_minute=100, concurrency=1, lease_seconds=1, key_prefix=prefix, max_wait=5
    )
    # Simulate a process that took the only slot and died without releasing it.
    limiter._acquire("t", "dead-process")
    started = time.perf_counter()
    with limiter.slot("t"):
        pass
    assert 0.5 < time.perf_counter() - started < 4


@pytest.mark.redis
@needs_redis
def test_redis_observe_day_and_block(redis_client) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_client
    sleeps: list[float] = []
    limiter = RedisRateLimiter(
        client, key_prefix=prefix, sleep=lambda s: (sleeps.append(s), time.sleep(s))
    )
    assert limiter.day_remaining("t") is None
    limiter.observe(
        "t", {"X-DayLimit-Remaining": "321", "X-Rate-Limit-Problem": "minute", "Retry-After": "0.3"}
    )
    assert limiter.day_remaining("t") == 321
    with limiter.slot("t"):
        pass
    assert sleeps and 0 < sleeps[0] <= 0.3


def test_concurrency_wait_is_bounded_even_with_a_frozen_clock() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, concurrency=1, max_wait=0.2)
    with limiter.slot("t"):
        started = time.perf_counter()
        with pytest.raises(XpmRateLimited), limiter.slot("t"):
            pass
        assert time.perf_counter() - started < 2
