"""Signed requests through the Django endpoint: valid, forged, stale, replayed."""

from __future__ import annotations

import time

import pytest
from slack_helpers import CHANNEL, MANAGER, SECRET, TEAM, ack_json
from slack_mock import command_body, sign
from slack_sdk.signature import SignatureVerifier


def help_body(slack_mock) -> str:
    return command_body(
        "help",
        team_id=TEAM,
        user_id=MANAGER,
        channel_id=CHANNEL,
        response_url=slack_mock.response_url(),
    )


def test_test_signatures_are_slacks_scheme(slack_mock):
    body = help_body(slack_mock)
    headers = sign(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )


def test_valid_signature_is_answered(slack, slack_mock):
    response = slack.post(help_body(slack_mock))
    answer = ack_json(response)
    assert answer["response_type"] == "ephemeral"
    assert "/xpm sync [full] [dry-run]" in answer["text"]
    # help needs no lookup: nothing was asked of Slack's Web API
    assert slack_mock.methods() == []


def test_forged_signature_is_refused(slack, slack_mock):
    response = slack.post(help_body(slack_mock), secret="not-the-secret")
    assert response.status_code == 401
    assert slack_mock.methods() == []


def test_tampered_body_is_refused(slack, slack_mock, client):
    body = help_body(slack_mock)
    headers = sign(SECRET, body)
    tampered = body.replace("help", "sync")
    response = client.post(
        "/slack/events",
        data=tampered,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert response.status_code == 401


def test_missing_signature_is_refused(slack, slack_mock, client):
    response = client.post(
        "/slack/events",
        data=help_body(slack_mock),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 401


@pytest.mark.parametrize("age", [5 * 60 + 5, 60 * 60])
def test_stale_request_is_refused(slack, slack_mock, age):
    response = slack.post(help_body(slack_mock), timestamp=int(time.time()) - age)
    assert response.status_code == 401


def test_request_within_five_minutes_is_accepted(slack, slack_mock):
    response = slack.post(help_body(slack_mock), timestamp=int(time.time()) - 4 * 60)
    assert response.status_code == 200


def test_replayed_request_is_refused(slack, slack_mock, client):
    body = help_body(slack_mock)
    headers = sign(SECRET, body)

    def send():
        return client.post(
            "/slack/events",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )

    assert send().status_code == 200
    replay = send()
    assert replay.status_code == 401
    assert b"replayed" in replay.content


def test_replay_is_refused_for_commands_that_act(slack, slack_mock, manager, client):
    """A captured /xpm status is not run twice."""
    body = command_body(
        "status",
        team_id=TEAM,
        user_id=MANAGER,
        channel_id=CHANNEL,
        response_url=slack_mock.response_url(),
    )
    headers = sign(SECRET, body)
    first = client.post(
        "/slack/events",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert first.status_code == 200
    assert len(slack_mock.calls_to("respond")) == 1
    second = client.post(
        "/slack/events",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert second.status_code == 401
    assert len(slack_mock.calls_to("respond")) == 1


def test_endpoint_is_unavailable_without_a_signing_secret(slack, slack_mock, settings):
    settings.SLACK_SIGNING_SECRET = ""
    response = slack.post(help_body(slack_mock), secret="")
    assert response.status_code == 503
    assert b"SLACK_SIGNING_SECRET" in response.content


def test_get_is_not_allowed(slack, client):
    assert client.get("/slack/events").status_code == 405


@pytest.mark.parametrize(
    ("signed_at", "at_least"),
    [
        (1_000_000, 360),  # signed now: Bolt accepts it for five more minutes
        (1_000_000 + 300, 660),  # Slack's clock five minutes ahead: accepted for ten
        (1_000_000 - 299, 360),  # almost stale: the floor still applies
    ],
)
def test_a_signature_is_remembered_while_bolt_would_accept_it(signed_at, at_least):
    from slackbot.middleware import SLACK_TIMESTAMP_TOLERANCE, remember_for

    seconds = remember_for(str(signed_at), now=1_000_000)
    assert seconds >= at_least
    # Still remembered at the last moment Bolt's five-minute check lets it through.
    assert 1_000_000 + seconds > signed_at + SLACK_TIMESTAMP_TOLERANCE


def test_a_timestamp_that_is_not_a_number_gets_the_default_window():
    from slackbot.middleware import REPLAY_WINDOW_SECONDS, remember_for

    assert remember_for("not-a-time", now=1_000_000) == REPLAY_WINDOW_SECONDS
