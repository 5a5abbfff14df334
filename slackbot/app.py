"""The Bolt app factory: nothing talks to Slack at import time or while building the app.

:func:`build_app` takes its settings as keyword arguments (tests and the benchmark pass
their own); :func:`get_app` builds one per configuration from Django settings and caches
it. Authorisation is a static function returning the configured bot token, so Bolt never
calls ``auth.test``: the bot serves the workspace its token belongs to, and which teams may
use it is checked by the bot's own middleware (:mod:`slackbot.middleware`).

Acknowledging: the app runs with ``process_before_response`` and lazy listeners (Bolt's
pattern for answering within Slack's 3 seconds). Each listener's ``ack`` part runs in the
request's own thread and does no network I/O, so the HTTP response (or the Socket Mode
envelope acknowledgement) goes back at once; the slow part is a lazy listener that Bolt
starts on its worker threads afterwards. Acks never queue behind slow work that way.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.django import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from .conf import SlackConfig, get_config

logger = logging.getLogger(__name__)


class InlineLazyListenerRunner(LazyListenerRunner):
    """Runs the work after an ack in the request's thread (``SLACK_BACKGROUND_WORK`` False):
    for tests and debugging, where seeing the effects before the response matters more
    than Slack's 3 seconds."""

    def __init__(self, logger_: logging.Logger) -> None:
        self.logger = logger_

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        self.run(function, request)


def build_app(
    *,
    bot_token: str,
    signing_secret: str = "",
    api_url: str = "https://slack.com/api/",
    background_work: bool = True,
    bot_user_id: str = "",
    timeout: int = 10,
    verify_requests: bool = True,
    logger_: logging.Logger | None = None,
) -> App:
    """A Bolt app with every listener and middleware of the bot registered.

    ``verify_requests`` False is only for Socket Mode, where Slack's websocket (opened with
    the app token) stands in for request signatures.
    """
    if not bot_token:
        raise ImproperlyConfigured("SLACK_BOT_TOKEN is not set.")
    if verify_requests and not signing_secret:
        # An empty secret would let anyone sign requests: refuse to serve rather than guess.
        raise ImproperlyConfigured("SLACK_SIGNING_SECRET is not set.")

    def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> Any:
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            bot_token=bot_token,
            bot_user_id=bot_user_id or None,
        )

    # No token on the app's own client: each request's client gets it from ``authorize``
    # (Bolt warns when both are given).
    client = WebClient(base_url=api_url, timeout=timeout)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    app = App(
        name="wagtail-xpm",
        logger=logger_ or logger,
        client=client,
        signing_secret=signing_secret or None,
        authorize=authorize,
        process_before_response=True,
        request_verification_enabled=verify_requests,
        # Commands and interactions only: the bot subscribes to no events of its own.
        ignoring_self_events_enabled=bool(bot_user_id),
    )
    if not background_work:
        app.listener_runner.lazy_listener_runner = InlineLazyListenerRunner(app.logger)
    from .listeners import register

    register(app)
    return app


def wire_for_django(app: App, *, background_work: bool = True) -> SlackRequestHandler:
    """Bolt's Django adapter around ``app`` (it makes the worker threads that run lazy
    listeners close their database connections), keeping inline work when configured."""
    handler = SlackRequestHandler(app)
    if not background_work:
        app.listener_runner.lazy_listener_runner = InlineLazyListenerRunner(app.logger)
    return handler


@functools.lru_cache(maxsize=4)
def _cached_app(config: SlackConfig, verify_requests: bool) -> App:
    return build_app(
        bot_token=config.bot_token,
        signing_secret=config.signing_secret,
        api_url=config.api_url,
        background_work=config.background_work,
        bot_user_id=config.bot_user_id,
        timeout=config.timeout,
        verify_requests=verify_requests,
    )


def get_app(*, socket_mode: bool = False) -> App:
    """The app for the current settings (built on first use, then reused)."""
    return _cached_app(get_config(), not socket_mode)


_django_handlers: dict[int, SlackRequestHandler] = {}
_django_lock = threading.Lock()


def get_django_handler() -> SlackRequestHandler | None:
    """Bolt's Django adapter around the current app (one per app: it rewires the app's
    runners), or None while HTTP mode is not configured."""
    config = get_config()
    if not config.http_ready:
        return None
    try:
        app = get_app()
    except ImproperlyConfigured:
        return None
    with _django_lock:
        handler = _django_handlers.get(id(app))
        if handler is None or handler.app is not app:
            handler = wire_for_django(app, background_work=config.background_work)
            _django_handlers[id(app)] = handler
        return handler


def reset() -> None:
    """Forget built apps and their adapters (settings changed)."""
    _cached_app.cache_clear()
    with _django_lock:
        _django_handlers.clear()
