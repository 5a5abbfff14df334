"""Rate limits: minute, day, concurrency and app windows (docs/xpm-api.md 10, 14.4)."""

from __future__ import annotations

import threading

import requests
from sandbox_helpers import API

from wagtail_xpm.sandbox import Sandbox


def served(**options):
    sb = Sandbox.generate(clients=5, seed=2, **options)
    return sb, sb.serve()


def call(sb, url, tokens, path="staff.api/list"):
    return requests.get(f"{url}{API}{path}", headers=sb.auth_headers(tokens), timeout=10)


def test_sixty_first_call_in_a_minute_is_429_minute_with_retry_after():
    sb, server = served()
    with server:
        tokens = sb.issue_tokens()
        remaining = []
        for _ in range(60):
            response = call(sb, server.url, tokens)
            assert response.status_code == 200
            remaining.append(int(response.headers["X-MinLimit-Remaining"]))
        assert remaining[0] == 59 and remaining[-1] == 0
        assert remaining == sorted(remaining, reverse=True)
        sb.advance(seconds=20)
        throttled = call(sb, server.url, tokens)
        assert throttled.status_code == 429
        assert throttled.content == b""
        assert throttled.headers["X-Rate-Limit-Problem"] == "minute"
        assert 1 <= int(throttled.headers["Retry-After"]) <= 40
        assert throttled.headers["X-MinLimit-Remaining"] == "0"
        assert int(throttled.headers["X-DayLimit-Remaining"]) == 4940
        assert "xero-correlation-id" in throttled.headers
        # The fixed window ends 60 s after its first call.
        sb.advance(seconds=int(throttled.headers["Retry-After"]))
        again = call(sb, server.url, tokens)
        assert again.status_code == 200
        assert again.headers["X-MinLimit-Remaining"] == "59"


def test_day_limit_is_429_day_with_long_retry_after():
    sb, server = served(day_limit=5)
    with server:
        tokens = sb.issue_tokens()
        for expected in range(4, -1, -1):
            response = call(sb, server.url, tokens)
            assert response.headers["X-DayLimit-Remaining"] == str(expected)
        sb.advance(minutes=5)  # a new minute does not help
        throttled = call(sb, server.url, tokens)
        assert throttled.status_code == 429
        assert throttled.headers["X-Rate-Limit-Problem"] == "day"
        assert 80_000 < int(throttled.headers["Retry-After"]) <= 86_400
        sb.advance(hours=24)
        assert call(sb, server.url, sb.issue_tokens()).status_code == 200


def test_errors_count_but_gateway_refusals_do_not():
    sb, server = served()
    with server:
        tokens = sb.issue_tokens()
        first = call(sb, server.url, tokens)
        assert first.headers["X-MinLimit-Remaining"] == "59"
        for _ in range(3):  # business errors are calls too
            assert b"ERROR" in call(sb, server.url, tokens, "client.api/get/nope").content
        bad = requests.get(f"{server.url}{API}staff.api/list", timeout=10)
        assert bad.status_code == 401
        assert call(sb, server.url, tokens).headers["X-MinLimit-Remaining"] == "55"


def test_concurrency_limit_is_five_calls_in_flight():
    sb, server = served()
    with server:
        tokens = sb.issue_tokens()
        sb.faults.slow(0.6)
        barrier = threading.Barrier(7)
        results = []
        lock = threading.Lock()

        def worker():
            barrier.wait()
            response = call(sb, server.url, tokens)
            with lock:
                results.append(response)

        threads = [threading.Thread(target=worker) for _ in range(7)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200] * 5 + [429] * 2
        refused = [r for r in results if r.status_code == 429]
        assert all(r.headers["X-Rate-Limit-Problem"] == "concurrent" for r in refused)
        assert all("Retry-After" not in r.headers for r in refused)
        sb.faults.reset()
        # Slots are given back: a later call is admitted.
        assert call(sb, server.url, tokens).status_code == 200


def test_streamed_list_holds_its_slot_until_sent():
    sb = Sandbox.generate(clients=5, seed=2, concurrency=1)
    from werkzeug.test import Client

    tokens = sb.issue_tokens()
    client = Client(sb)
    streamed = client.get(f"{API}client.api/list", headers=sb.auth_headers(tokens), buffered=False)
    assert streamed.status_code == 200
    busy = client.get(f"{API}staff.api/list", headers=sb.auth_headers(tokens))
    assert busy.status_code == 429
    assert busy.headers["X-Rate-Limit-Problem"] == "concurrent"
    assert b"</Response>" in b"".join(streamed.response)
    streamed.close()
    assert client.get(f"{API}staff.api/list", headers=sb.auth_headers(tokens)).status_code == 200


def test_app_minute_limit():
    sb, server = served(app_minute_limit=3)
    with server:
        tokens = sb.issue_tokens()
        assert [call(sb, server.url, tokens).status_code for _ in range(3)] == [200] * 3
        throttled = call(sb, server.url, tokens)
        assert throttled.status_code == 429
        assert throttled.headers["X-Rate-Limit-Problem"] == "appminute"
        assert throttled.headers["X-AppMinLimit-Remaining"] == "0"


def test_reset_rate_limits():
    sb, server = served(minute_limit=2)
    with server:
        tokens = sb.issue_tokens()
        call(sb, server.url, tokens)
        call(sb, server.url, tokens)
        assert call(sb, server.url, tokens).status_code == 429
        sb.reset_rate_limits()
        assert call(sb, server.url, tokens).status_code == 200
        call(sb, server.url, tokens)
        assert call(sb, server.url, tokens).status_code == 429
        assert requests.post(f"{server.url}/_sandbox/reset-limits", timeout=10).json() == {
            "ok": True
        }
        assert call(sb, server.url, tokens).status_code == 200


def test_rate_limits_off_never_throttles_and_reports_full_budgets():
    sb, server = served(rate_limits=False, minute_limit=3)
    with server:
        tokens = sb.issue_tokens()
        for _ in range(10):
            response = call(sb, server.url, tokens)
            assert response.status_code == 200
            assert response.headers["X-MinLimit-Remaining"] == "3"
            assert response.headers["X-DayLimit-Remaining"] == "5000"
