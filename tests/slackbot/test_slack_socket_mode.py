"""Socket Mode: ``manage.py run_slackbot`` and a real round trip over a local WebSocket."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_helpers import CHANNEL, MANAGER, TEAM

from slackbot.app import get_app


def test_run_slackbot_builds_without_connecting(slack_settings, slack_mock):
    out = io.StringIO()
    call_command("run_slackbot", "--check", stdout=out)
    assert "Socket Mode handler ready" in out.getvalue()
    assert slack_mock.methods() == []  # nothing was asked of Slack


def test_run_slackbot_needs_an_app_token(slack_settings, settings):
    settings.SLACK_APP_TOKEN = ""
    with pytest.raises(CommandError, match="SLACK_APP_TOKEN"):
        call_command("run_slackbot", "--check")


def test_socket_mode_app_needs_no_signing_secret(slack_settings, settings):
    settings.SLACK_SIGNING_SECRET = ""
    out = io.StringIO()
    call_command("run_slackbot", "--check", stdout=out)
    assert "ready" in out.getvalue()


def envelope(envelope_id: str, text: str, slack_mock) -> dict:
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "token": "legacy",
            "team_id": TEAM,
            "team_domain": "example-firm",
            "channel_id": CHANNEL,
            "user_id": MANAGER,
            "user_name": "jo",
            "command": "/xpm",
            "text": text,
            "api_app_id": "A0001",
            "response_url": slack_mock.response_url("socket"),
            "trigger_id": f"trigger-{envelope_id}",
        },
    }


@pytest.mark.django_db(transaction=True)
def test_commands_over_socket_mode(slack_settings, slack_mock, manager, connected_site):
    """The app connects out with the app token, acknowledges each envelope and answers."""
    slack_mock.socket_envelopes = [
        envelope("env-help", "help", slack_mock),
        envelope("env-status", "status", slack_mock),
    ]
    handler = SocketModeHandler(get_app(socket_mode=True), app_token="xapp-test-token")
    handler.connect()
    try:
        acks = {a["envelope_id"]: a for a in slack_mock.wait_for_socket_acks(2)}
        reply = slack_mock.wait_for("respond")[0]
    finally:
        handler.close()
    opened = [c for c in slack_mock.calls if c.method == "apps.connections.open"]
    assert opened and opened[0].token == "xapp-test-token"
    assert "XPM commands" in json.dumps(acks["env-help"]["payload"])
    assert not acks["env-status"].get("payload")
    assert reply["response_url_name"] == "socket"
    assert "XPM status" in reply["text"]


def test_manifest_matches_the_app():
    """docs/slack-app-manifest.yml asks for what the bot uses, at the URL it serves."""
    from pathlib import Path

    from django.urls import resolve

    from slackbot.listeners import COMMAND

    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "docs" / "slack-app-manifest.yml").read_text()
    )
    [command] = manifest["features"]["slash_commands"]
    assert COMMAND.match(command["command"])
    for url in (command["url"], manifest["settings"]["interactivity"]["request_url"]):
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        assert path == "/slack/events"
        assert resolve(path).url_name == "events"
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "users:read", "users:read.email"} <= scopes


def test_system_checks(settings):
    from slackbot.checks import check_slack_settings

    settings.SLACK_BOT_TOKEN = ""
    assert check_slack_settings() == []
    settings.SLACK_BOT_TOKEN = "xoxb-x"
    settings.SLACK_SIGNING_SECRET = ""
    settings.SLACK_APP_TOKEN = ""
    settings.SLACK_ALLOWED_TEAM_IDS = []
    assert [m.id for m in check_slack_settings()] == ["slackbot.W001", "slackbot.W002"]
    settings.SLACK_SIGNING_SECRET = "s"
    settings.SLACK_ALLOWED_TEAM_IDS = ["T1"]
    assert check_slack_settings() == []
