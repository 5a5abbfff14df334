"""Fault injection: throttling, outages, every-Nth failures, slowness, bodies, drops."""

from __future__ import annotations

import time

import pytest
import requests
from sandbox_helpers import Api, api_fixture, sb_fixture, server_fixture  # noqa: F401


def test_throttle_next_calls(api: Api, sb):
    sb.faults.throttle(2, problem="day", retry_after=77)
    for _ in range(2):
        response = api.call("GET", "staff.api/list")
        assert response.status_code == 429
        assert response.content == b""
        assert response.headers["X-Rate-Limit-Problem"] == "day"
        assert response.headers["Retry-After"] == "77"
        assert "X-MinLimit-Remaining" in response.headers
    assert api.call("GET", "staff.api/list").status_code == 200


def test_throttle_concurrent_has_no_retry_after(api: Api, sb):
    sb.faults.throttle(1, problem="concurrent")
    response = api.call("GET", "staff.api/list")
    assert response.headers["X-Rate-Limit-Problem"] == "concurrent"
    assert "Retry-After" not in response.headers


def test_outage_is_a_503_problem_then_recovers(api: Api, sb):
    sb.faults.outage(2)
    for _ in range(2):
        response = api.call("GET", "client.api/list")
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert body["Title"] == "Unavailable"
        assert body["Detail"] == "ServiceNotAvailable"
        assert body["Status"] == 503
        assert "xero-correlation-id" in response.headers
    assert api.call("GET", "client.api/list").status_code == 200


def test_refused_calls_change_nothing(api: Api, sb):
    sb.faults.outage(1)
    before = len(sb.state.clients)
    assert api.call("POST", "client.api/add", "<Client><Name>x</Name></Client>").status_code == 503
    assert len(sb.state.clients) == before


def test_fail_every_nth_call(api: Api, sb):
    sb.faults.fail_every(3, status=500)
    statuses = [api.call("GET", "staff.api/list").status_code for _ in range(7)]
    assert statuses == [200, 200, 500, 200, 200, 500, 200]
    sb.faults.reset()
    assert api.call("GET", "staff.api/list").status_code == 200


def test_burst_fails_a_run_of_calls_in_every_window(api: Api, sb):
    sb.faults.burst(2, every=5)
    statuses = [api.call("GET", "staff.api/list").status_code for _ in range(11)]
    assert statuses == [200, 200, 200, 503, 503] * 2 + [200]
    sb.faults.reset()
    sb.faults.configure({"burst": {"n": 1, "every": 2, "status": 500}})
    assert [api.call("GET", "staff.api/list").status_code for _ in range(4)] == [200, 500] * 2
    with pytest.raises(ValueError):
        sb.faults.burst(3, every=3)


def test_slow_responses(api: Api, sb):
    sb.faults.slow(0.3, n=1)
    started = time.monotonic()
    assert api.call("GET", "staff.api/list").status_code == 200
    # At least as slow as asked (a lower bound, which a loaded machine cannot break)...
    assert time.monotonic() - started >= 0.3
    # ...and only once: the fault is used up, so the next call is not delayed.
    assert not sb.faults.active
    assert api.call("GET", "staff.api/list").status_code == 200


def test_replace_next_body_with_hostile_bytes(api: Api, sb):
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><Response>&a;</Response>'
    sb.faults.replace_body(bomb)
    response = api.call("GET", "client.api/list")
    assert response.status_code == 200
    assert response.content == bomb
    assert "X-MinLimit-Remaining" in response.headers
    truncated = b'<Response api-method="List"><Status>OK</Status><Clients><Client><UUID>'
    sb.faults.replace_body(truncated, n=2)
    assert api.call("GET", "client.api/list").content == truncated
    assert api.call("GET", "client.api/list").content == truncated
    assert api.call("GET", "client.api/list").content.endswith(b"</Response>")


def test_oversized_body(api: Api, sb):
    big = b'<Response api-method="List"><Status>OK</Status><Clients>' + b"<X>" * 2_000_000
    sb.faults.replace_body(big)
    assert len(api.call("GET", "client.api/list").content) == len(big)


def test_drop_connection_after_the_change_was_made(api: Api, sb):
    sb.faults.drop(path="client.api/add")
    before = len(sb.state.clients)
    with pytest.raises(requests.ConnectionError):
        api.call("POST", "client.api/add", "<Client><Name>Lost Reply Ltd</Name></Client>")
    # The client exists although the caller never heard back: retrying blindly duplicates.
    assert len(sb.state.clients) == before + 1
    assert any(c.name == "Lost Reply Ltd" for c in sb.state.clients.values())
    # The path filter left other calls alone, and the fault was used up.
    assert api.call("GET", "staff.api/list").status_code == 200
    assert api.call("POST", "client.api/add", "<Client><Name>B</Name></Client>").ok


def test_faults_can_target_the_token_endpoint(server, sb):
    tokens = sb.issue_tokens()
    sb.faults.outage(1, path="/connect/token")
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = ("sandbox-client-id", "sandbox-client-secret")
    first = requests.post(f"{server.url}/connect/token", data=data, auth=auth, timeout=10)
    assert first.status_code == 503
    second = requests.post(f"{server.url}/connect/token", data=data, auth=auth, timeout=10)
    assert second.status_code == 200


def test_default_faults_leave_identity_alone(server, sb):
    tokens = sb.issue_tokens()
    sb.faults.outage(5)
    response = requests.get(
        f"{server.url}/connections",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert response.status_code == 200


def test_faults_over_http_control_endpoint(api: Api, server, sb):
    response = requests.post(
        f"{server.url}/_sandbox/faults",
        json={"throttle": {"n": 1, "problem": "minute", "retry_after": 9}, "outage": {"n": 1}},
        timeout=10,
    )
    assert response.status_code == 200
    kinds = [rule["kind"] for rule in response.json()["faults"]]
    assert kinds == ["throttle", "status"]
    first = api.call("GET", "staff.api/list")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "9")
    assert api.call("GET", "staff.api/list").status_code == 503
    assert api.call("GET", "staff.api/list").status_code == 200
    requests.post(f"{server.url}/_sandbox/faults", json={"slow": {"seconds": 5}}, timeout=10)
    cleared = requests.post(f"{server.url}/_sandbox/faults", json={"reset": True}, timeout=10)
    assert cleared.json() == {"faults": []}
    bad = requests.post(f"{server.url}/_sandbox/faults", json={"slow": {"sec": 1}}, timeout=10)
    assert bad.status_code == 400
    assert requests.get(f"{server.url}/_sandbox/faults", timeout=10).json() == {"faults": []}


def test_reset_clears_everything(api: Api, sb):
    sb.faults.throttle(5).outage(5).slow(1).drop(3)
    assert sb.faults.active
    sb.faults.reset()
    assert not sb.faults.active
    assert api.call("GET", "staff.api/list").status_code == 200


def test_token_endpoint_faults_throttle_garble_and_drop(server, sb):
    tokens = sb.issue_tokens()
    auth = ("sandbox-client-id", "sandbox-client-secret")
    url = f"{server.url}/connect/token"
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    sb.faults.throttle(1, problem="minute", retry_after=3, path="/connect/token")
    throttled = requests.post(url, data=data, auth=auth, timeout=10)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
    sb.faults.replace_body(
        b"<html>gateway error</html>", status=502, content_type="text/html", path="/connect/token"
    )
    garbled = requests.post(url, data=data, auth=auth, timeout=10)
    assert garbled.status_code == 502 and garbled.text == "<html>gateway error</html>"
    # The refresh behind the garbled reply happened: replaying inside the grace window
    # hands back the very same new pair, which is how a client recovers.
    sb.faults.drop(path="/connect/token")
    with pytest.raises(requests.ConnectionError):
        requests.post(url, data=data, auth=auth, timeout=10)
    recovered = requests.post(url, data=data, auth=auth, timeout=10)
    assert recovered.status_code == 200
    again = requests.post(url, data=data, auth=auth, timeout=10)
    assert again.json() == recovered.json()


def test_replace_body_streams_generated_chunks(api: Api, sb):
    def chunks():
        yield b"<Response><Status>OK</Status>"
        yield from (b" " * 1024 for _ in range(3))
        yield b"</Response>"

    sb.faults.replace_body(chunks, n=2, path="staff.api/list")
    assert sb.faults.snapshot()[0]["body"] == "<streamed>"
    for _ in range(2):  # a fresh iterator per response
        response = api.call("GET", "staff.api/list")
        assert "Content-Length" not in response.headers
        assert len(response.content) == 29 + 3 * 1024 + 11
    assert b"<Staff>" in api.call("GET", "staff.api/list").content
