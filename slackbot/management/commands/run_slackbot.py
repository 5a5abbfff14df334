"""``manage.py run_slackbot``: the bot over Socket Mode (no public request URL needed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from slack_bolt.adapter.django.handler import (
    DjangoListenerCompletionHandler,
    DjangoListenerStartHandler,
)
from slack_bolt.adapter.socket_mode import SocketModeHandler

from slackbot.app import get_app, wire_for_django
from slackbot.conf import get_config


class Command(BaseCommand):
    help = (
        "Run the Slack bot over Socket Mode: it connects out to Slack with SLACK_APP_TOKEN, "
        "so the site needs no public /slack/events URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="build the app and handler, then exit"
        )
        parser.add_argument(
            "--concurrency", type=int, default=10, help="threads handling Slack's requests"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = get_config()
        if not config.app_token:
            raise CommandError(
                "SLACK_APP_TOKEN is not set: create an app-level token with the "
                "connections:write scope (docs/slack.md)."
            )
        if not config.bot_token:
            raise CommandError("SLACK_BOT_TOKEN is not set (docs/slack.md).")
        if not config.allowed_team_ids:
            self.stderr.write("Warning: SLACK_ALLOWED_TEAM_IDS is empty, every request is refused.")
        app = get_app(socket_mode=True)
        # Bolt's worker threads (lazy listeners) close their database connections, as in
        # HTTP mode; and so do Socket Mode's own threads, which run the ack parts.
        wire_for_django(app, background_work=config.background_work)
        app.listener_runner.listener_start_handler = DjangoListenerStartHandler()
        app.listener_runner.listener_completion_handler = DjangoListenerCompletionHandler()
        handler = SocketModeHandler(
            app, app_token=config.app_token, concurrency=options["concurrency"]
        )
        if options["check"]:
            self.stdout.write("Socket Mode handler ready (not connected: --check).")
            return
        self.stdout.write("Connecting to Slack over Socket Mode (Ctrl-C to stop)…")
        try:
            handler.start()
        except KeyboardInterrupt:
            handler.close()
            self.stdout.write("Stopped.")
