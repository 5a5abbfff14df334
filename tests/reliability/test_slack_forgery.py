"""Forged, stale, altered, oversized and replayed requests to Slack's request URL.

End to end over real HTTP: the example site's ``/slack/events`` served by ``live_server``,
the bot's Web API calls going to a fake Slack on loopback. Every request below carries a
command that would act (``/xpm sync``) or a modal that would save a segment; each must be
refused with nothing done: no sync run, nothing queued, no segment, nothing sent to Slack.
Genuine signed requests are sent too, to prove the gate is not simply closed.

Slack's guidance is the signature plus a five-minute timestamp window (Bolt checks both);
within that window the bot's replay guard refuses a request seen before (same timestamp and
signature). The bot takes commands and interactions only, which Slack never retries, so
``X-Slack-Retry-Num`` plays no part here.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from huey.contrib.djhuey import HUEY
from wagtail.models import Site

from slackbot import blocks, identity, views
from wagtail_xpm.models import Segment, SyncRun

# The fake Slack of the bot's own tests (their directory is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slackbot"))
from slack_mock import MockSlack, command_body, interaction_body, sign  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "reliability-signing-secret-4b1d"
TEAM = "T0REL"
USER = "U0REL"
CHANNEL = "C0REL"
# Django refuses request bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) before reading them.
OVERSIZED = 3 * 1024 * 1024


@dataclass
class Slack:
    """Sends requests to the site's /slack/events as Slack (or an attacker) would."""

    url: str
    mock: MockSlack

    def post(self, body: str | bytes, headers: dict[str, str]) -> tuple[requests.Response, float]:
        started = time.perf_counter()
        response = requests.post(
            self.url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
            timeout=30,
        )
        return response, time.perf_counter() - started

    def sync_command(self) -> str:
        # Each body has its own trigger id, as Slack's do: no two genuine signatures match.
        return command_body(
            "sync",
            team_id=TEAM,
            user_id=USER,
            channel_id=CHANNEL,
            response_url=self.mock.response_url("cmd"),
        )

    def save_segment(self, name: str) -> str:
        """The "Save segment" modal submitted with ``name`` (as Slack posts it back)."""
        view = blocks.save_segment_modal(
            expression="Email contains example",
            description="Email contains example",
            count=0,
            private_metadata={"expression": "Email contains example", "channel": CHANNEL},
        )
        view |= {
            "id": "V0REL",
            "hash": "h",
            "state": {
                "values": {
                    blocks.BLOCK_SEGMENT_NAME: {
                        "name": {"type": "plain_text_input", "value": name}
                    },
                    blocks.BLOCK_CLIENT_SCOPE: {
                        "scope": {"type": "radio_buttons", "selected_option": {"value": "any"}}
                    },
                }
            },
        }
        return interaction_body(
            {
                "type": "view_submission",
                "team": {"id": TEAM, "domain": "example-firm"},
                "user": {"id": USER, "team_id": TEAM},
                "api_app_id": "A0001",
                "trigger_id": f"{time.time_ns()}.submit",
                "view": view,
            }
        )


@pytest.fixture
def consumer():
    """Huey queueing for real (not running tasks inside the request), so a queued sync
    shows as a queued task."""
    HUEY.immediate = False  # MemoryHuey: a fresh, empty in-memory queue
    yield
    HUEY.immediate = True


@pytest.fixture
def slack(live_server, settings, connected_site, consumer):
    with MockSlack() as mock:
        settings.SLACK_SIGNING_SECRET = SECRET
        settings.SLACK_BOT_TOKEN = "xoxb-reliability"
        settings.SLACK_API_URL = mock.api_url
        settings.SLACK_ALLOWED_TEAM_IDS = [TEAM]
        settings.SLACK_ALLOWED_CHANNEL_IDS = []
        settings.SLACK_NOTIFY_CHANNEL = ""
        # The work after each ack runs before the response: when the answer arrives, any
        # effect a request could have had has happened.
        settings.SLACK_BACKGROUND_WORK = False
        # The cache may be a Redis that outlives the test database (whose ids a new database
        # hands out again): forget what this test relies on, and only that.
        identity.forget(TEAM, USER)
        Site.clear_site_root_paths_cache()
        views.request_handler()  # build the Bolt app now: timings are per request

        mock.add_user(USER, "ops@example.com")
        user = get_user_model().objects.create_user(
            username="ops", email="ops@example.com", password="x"
        )
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="wagtail_xpm",
                codename__in=["manage_connection", "view_contact", "add_segment"],
            )
        )
        yield Slack(url=f"{live_server.url}/slack/events", mock=mock)
        identity.forget(TEAM, USER)


def effects(slack: Slack) -> dict[str, int]:
    """Everything a request to the bot could have caused."""
    return {
        "sync runs": SyncRun.objects.count(),
        "queued tasks": HUEY.pending_count() + HUEY.scheduled_count(),
        "segments": Segment.objects.count(),
        "calls to Slack": len(slack.mock.calls),
    }


def signed(body: str, *, secret: str = SECRET, age: int = 0) -> dict[str, str]:
    return sign(secret, body, int(time.time()) - age)


def forgeries(slack: Slack) -> list[tuple[str, str | bytes, dict[str, str], int]]:
    """(what, body, headers, the status it must get): commands and a modal that would act."""
    cases = []

    def add(what: str, body: str | bytes, headers: dict[str, str], status: int = 401) -> None:
        cases.append((what, body, headers, status))

    body = slack.sync_command()
    add("bad signature", body, signed(body, secret="guessed-secret"))
    add("no signature headers", slack.sync_command(), {})
    body = slack.sync_command()
    add(
        "signature without timestamp",
        body,
        {"X-Slack-Signature": signed(body)["X-Slack-Signature"]},
    )
    body = slack.sync_command()
    add("signed 6 minutes ago (old capture)", body, signed(body, age=6 * 60))
    body = slack.sync_command()
    add("signed 6 minutes ahead", body, signed(body, age=-6 * 60))
    body = slack.sync_command()
    add("body altered after signing", body.replace("text=sync", "text=sync+full"), signed(body))
    # Input no Slack request has, which Bolt's own check raises on (500) rather than refuses.
    body = slack.sync_command()
    add("timestamp not a number", body, {**signed(body), "X-Slack-Request-Timestamp": "soon"})
    add(
        "timestamp of 5,000 digits", body, {**signed(body), "X-Slack-Request-Timestamp": "9" * 5000}
    )
    add("signature not ASCII", body, {**signed(body), "X-Slack-Signature": "v0=" + "\u00e9" * 64})
    add("body not UTF-8", body.encode() + b"&x=\xff\xfe", signed(body))
    add(
        "interaction payload not JSON",
        "payload=%7Bnot-json",
        signed("payload=%7Bnot-json", secret="x"),
    )
    add("JSON body cut short", '{"type": "view_submission"', {})
    # Size: under Django's DATA_UPLOAD_MAX_MEMORY_SIZE the signature check refuses it; over
    # it, Django refuses to read the body at all (400), signed or not.
    body = slack.sync_command() + "&padding=" + "x" * (2 * 1024 * 1024)
    add("2 MB body, forged signature", body, signed(body, secret="guessed-secret"))
    body = slack.sync_command() + "&padding=" + "x" * OVERSIZED
    add("3 MB body, no signature", body, {}, 400)
    add("3 MB body, signed", body, signed(body), 400)
    body = slack.save_segment("Forged")
    add("segment save, bad signature", body, signed(body, secret="guessed-secret"))
    return cases


def test_forged_requests_are_refused_and_change_nothing(slack, measured):
    before = effects(slack)
    assert before == {"sync runs": 0, "queued tasks": 0, "segments": 0, "calls to Slack": 0}
    timings = []
    for name, body, headers, expected in forgeries(slack):
        response, seconds = slack.post(body, headers)
        timings.append(seconds)
        assert response.status_code == expected, (name, response.status_code, response.text)
        assert effects(slack) == before, name
        measured(name, f"{response.status_code} in {seconds * 1000:.1f} ms")

    # The gate is not simply shut: a genuine command acts, once.
    body = slack.sync_command()
    response, seconds = slack.post(body, signed(body))
    assert response.status_code == 200, response.text
    after = effects(slack)
    assert after["sync runs"] == 1 and SyncRun.objects.get().trigger == "slack"
    assert after["queued tasks"] == 2  # the sync, and the message's progress follower
    assert [c.method for c in slack.mock.calls if c.method != "users.info"] == ["chat.postMessage"]
    measured("genuine /xpm sync", f"{response.status_code} in {seconds * 1000:.1f} ms")
    measured("refusals", f"{len(timings)}, median {statistics.median(timings) * 1000:.1f} ms")


def test_a_replayed_request_is_refused_and_acts_once(slack, measured):
    # Within the five-minute window, so only the replay guard can tell the copy apart.
    sync = slack.sync_command()
    sync_headers = signed(sync, age=60)
    first, first_seconds = slack.post(sync, sync_headers)
    assert first.status_code == 200, first.text
    once = effects(slack)
    assert once["sync runs"] == 1 and once["queued tasks"] == 2

    replays = []
    for _ in range(3):
        replay, seconds = slack.post(sync, sync_headers)
        replays.append((replay.status_code, seconds))
        assert replay.status_code == 401
        assert "replayed" in replay.text
        assert effects(slack) == once

    # A modal submission replayed would save the segment again (or answer that it exists).
    save = slack.save_segment("Everyone at example")
    save_headers = signed(save)
    saved, saved_seconds = slack.post(save, save_headers)
    assert saved.status_code == 200, saved.text
    assert json.loads(saved.text)["response_action"] == "update"
    assert list(Segment.objects.values_list("name", flat=True)) == ["Everyone at example"]
    with_segment = effects(slack)
    replay, replay_seconds = slack.post(save, save_headers)
    assert replay.status_code == 401
    assert effects(slack) == with_segment

    measured("genuine /xpm sync", f"{first.status_code} in {first_seconds * 1000:.1f} ms")
    measured(
        "exact replays of it", ", ".join(f"{code} in {s * 1000:.1f} ms" for code, s in replays)
    )
    measured("genuine segment save", f"{saved.status_code} in {saved_seconds * 1000:.1f} ms")
    measured("its replay", f"{replay.status_code} in {replay_seconds * 1000:.1f} ms")
    measured(
        "sync runs / segments after all", f"{SyncRun.objects.count()} / {Segment.objects.count()}"
    )
