"""The app-wide minute budget: every practice's calls count against it, and an app-wide
429 holds back every practice (docs/xpm-api.md 10: 10,000 calls a minute per Xero app).

Two sandboxes stand for two practices served by one app, each over real HTTP; the two
XPM clients share one limiter, as every client of a process (or, through Redis, of every
process) does (wagtail_xpm/connection/factory.py ``rate_limiter``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import xpm_testdata as td

from wagtail_xpm.sandbox import Sandbox
from wagtail_xpm.xpm import InMemoryTokenStore, OAuthConfig, TokenSet, XeroOAuth, XpmClient
from wagtail_xpm.xpm.errors import XpmRateLimited
from wagtail_xpm.xpm.ratelimit import InMemoryRateLimiter, RedisRateLimiter

SCOPES = ("offline_access", "practicemanager", "practicemanager.client")
REDIS_URL = os.environ.get("REDIS_URL")


class FakeClock:
    """The limiter's clock: moves only when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def practice_client(stack: ExitStack, seed: int, limiter, **kwargs) -> tuple[Sandbox, XpmClient]:
    sandbox = Sandbox.generate(clients=3, seed=seed, auto_consent=True)
    url = stack.enter_context(sandbox.serve()).url
    oauth = XeroOAuth(
        OAuthConfig(
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            authorize_url=f"{url}/identity/connect/authorize",
            token_url=f"{url}/connect/token",
            revoke_url=f"{url}/connect/revocation",
            connections_url=f"{url}/connections",
            scopes=SCOPES,
        )
    )
    client = XpmClient(
        api_url=f"{url}/practicemanager/3.1/",
        tenant_id=sandbox.tenant_id,
        token_store=InMemoryTokenStore(TokenSet.from_token_response(sandbox.issue_tokens(SCOPES))),
        oauth=oauth,
        limiter=limiter,
        sleep=td.SleepRecorder(),
        **kwargs,
    )
    stack.enter_context(client)
    return sandbox, client


@pytest.fixture
def two_practices() -> Iterator:
    def make(first, second=None, **kwargs):
        """Two practices; the second's client uses ``second`` (another process's) if given."""
        return [
            practice_client(stack, 1, first, **kwargs),
            practice_client(stack, 2, second or first, **kwargs),
        ]

    with ExitStack() as stack:
        yield make


def test_app_budget_is_shared_by_two_practices(two_practices) -> None:
    clock = FakeClock()
    limiter = InMemoryRateLimiter(per_minute=55, app_per_minute=3, clock=clock, sleep=clock.sleep)
    (_, first), (_, second) = two_practices(limiter)
    first.list_staff()
    second.list_staff()
    first.list_staff()
    assert clock.sleeps == []
    # Each practice is far under its own 55, but the app has made its 3 this minute.
    assert limiter.wait_seconds(second.tenant_id) == pytest.approx(60.0)
    second.list_staff()
    assert clock.sleeps == [pytest.approx(60.0)]


def test_an_app_wide_429_slows_every_practice(two_practices) -> None:
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock=clock, sleep=clock.sleep)
    # One attempt per call: the 429 reaches the test instead of being retried.
    (first_sandbox, first), (_, second) = two_practices(limiter, max_attempts=1)
    first_sandbox.faults.throttle(1, problem="appminute", retry_after=7)
    with pytest.raises(XpmRateLimited):
        first.list_staff()
    # The other practice never met the 429, yet waits for the app's window too.
    assert limiter.wait_seconds(second.tenant_id) == pytest.approx(7.0)
    second.list_staff()
    assert clock.sleeps == [pytest.approx(7.0)]
    # A practice's own minute 429 stays that practice's.
    first_sandbox.faults.throttle(1, problem="minute", retry_after=9)
    with pytest.raises(XpmRateLimited):
        first.list_staff()
    assert limiter.wait_seconds(first.tenant_id) == pytest.approx(9.0)
    assert limiter.wait_seconds(second.tenant_id) == 0.0


@pytest.fixture
def redis_limiters() -> Iterator:
    if not REDIS_URL:
        pytest.skip("REDIS_URL not set")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"wagtail_xpm_test:{uuid.uuid4().hex}"

    def make(**kwargs):
        return RedisRateLimiter(client, key_prefix=prefix, **kwargs)

    yield make
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.mark.redis
def test_redis_app_budget_is_shared_across_processes(two_practices, redis_limiters) -> None:
    # Two limiter objects over one Redis stand for two consumer processes.
    one = redis_limiters(app_per_minute=3, max_wait=5)
    other = redis_limiters(app_per_minute=3, max_wait=5)
    (_, first), (_, second) = two_practices(one, other)
    first.list_staff()
    second.list_staff()
    first.list_staff()
    assert 55 < one.wait_seconds(second.tenant_id) <= 60
    with pytest.raises(XpmRateLimited) as refused:
        second.list_staff()
    assert refused.value.problem == "appminute"


@pytest.mark.redis
def test_redis_app_wide_429_blocks_every_practice(two_practices, redis_limiters) -> None:
    one, other = redis_limiters(max_wait=5), redis_limiters(max_wait=5)
    (first_sandbox, first), (second_sandbox, second) = two_practices(one, other, max_attempts=1)
    first_sandbox.faults.throttle(1, problem="appminute", retry_after=30)
    with pytest.raises(XpmRateLimited):
        first.list_staff()
    assert 25 < other.wait_seconds(second.tenant_id) <= 30
    # Held back without a call to XPM: the limiter refuses to wait 30 s (max_wait 5).
    with pytest.raises(XpmRateLimited) as held:
        second.list_staff()
    assert held.value.problem == "appminute"
    assert sum(second_sandbox.calls_by_path.values()) == 0
