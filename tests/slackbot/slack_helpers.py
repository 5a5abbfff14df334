"""Shared helpers of the Slack bot tests (a module of its own: pytest keeps several
``conftest`` modules, so test modules importing from one would be fragile)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from slack_mock import MockSlack, command_body, interaction_body, sign

SECRET = "test-signing-secret-0123456789"
TEAM = "T0001"
CHANNEL = "C0OPS"
MANAGER = "U0JO"
VIEWER = "U0VI"


def grant(user, *codenames: str) -> None:
    for codename in codenames:
        app_label, _, name = codename.partition(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=name)
        )


def make_user(username: str, email: str, *perms: str):
    user = get_user_model().objects.create_user(username=username, email=email, password="x")
    grant(user, *perms)
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


@dataclass
class SlackDriver:
    """Sends Slack's requests, signed, through Django's test client to /slack/events."""

    client: Any
    mock: MockSlack
    secret: str = SECRET

    def post(self, body: str, *, timestamp: int | None = None, secret: str | None = None):
        headers = sign(secret or self.secret, body, timestamp)
        return self.client.post(
            "/slack/events",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )

    def command(
        self,
        text: str,
        *,
        user: str = MANAGER,
        team: str = TEAM,
        channel: str = CHANNEL,
        command: str = "/xpm",
    ):
        body = command_body(
            text,
            team_id=team,
            user_id=user,
            channel_id=channel,
            response_url=self.mock.response_url("cmd"),
            command=command,
        )
        return self.post(body)

    def action(
        self,
        action_id: str,
        value: str = "",
        *,
        user: str = MANAGER,
        team: str = TEAM,
        channel: str = CHANNEL,
        view: dict[str, Any] | None = None,
        block_id: str = "b",
    ):
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": team, "domain": "example-firm"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A0001",
            "trigger_id": f"{time.time_ns()}.action",
            "actions": [
                {"action_id": action_id, "block_id": block_id, "value": value, "type": "button"}
            ],
        }
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view.get("id")}
        else:
            payload["channel"] = {"id": channel, "name": "ops"}
            payload["container"] = {"type": "message", "channel_id": channel, "is_ephemeral": True}
            payload["response_url"] = self.mock.response_url("action")
        return self.post(interaction_body(payload))

    def submit(self, view: dict[str, Any], *, user: str = MANAGER, team: str = TEAM):
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": "example-firm"},
            "user": {"id": user, "team_id": team},
            "api_app_id": "A0001",
            "trigger_id": f"{time.time_ns()}.submit",
            "view": view,
        }
        return self.post(interaction_body(payload))

    def replies(self) -> list[dict[str, Any]]:
        """What went back through response URLs (the ephemeral replies)."""
        return self.mock.calls_to("respond")

    def reply_text(self) -> str:
        return "\n".join(r.get("text", "") for r in self.replies())


def ack_json(response) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    return json.loads(response.content) if response.content else {}


def run_scheduled_tasks(huey=None) -> int:
    """Run the Huey tasks that are scheduled for later, as the consumer's scheduler would."""
    from huey.contrib.djhuey import HUEY

    huey = huey or HUEY
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    tasks = huey.read_schedule(later)
    for task in tasks:
        huey.execute(task, timestamp=later)
    return len(tasks)
