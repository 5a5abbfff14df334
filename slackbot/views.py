"""Slack's request URL in HTTP mode (``/slack/events``): Bolt's Django adapter, nothing more."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from .app import get_django_handler
from .conf import get_config

#: The adapter around the current app (built on first use).
request_handler = get_django_handler


def signed_by_slack(request: HttpRequest, signing_secret: str) -> bool:
    """Whether the request carries Slack's signature of its body, timestamp within 5 min.

    Bolt checks this too, but it parses the body first, and its parsing and its check raise
    on input no Slack request has (a body that is not UTF-8, a ``payload`` that is not JSON,
    a timestamp ``int()`` rejects, a non-ASCII signature): anyone could turn those into 500s.
    """
    try:
        return SignatureVerifier(signing_secret).is_valid(
            request.body,
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
        )
    except (ValueError, TypeError):  # UnicodeDecodeError is a ValueError
        return False


@csrf_exempt  # Slack signs its requests instead; Bolt verifies the signature.
@require_POST
def slack_events(request: HttpRequest) -> HttpResponse:
    """Slash commands, button presses and modal submissions from Slack."""
    handler = request_handler()
    if handler is None:
        return HttpResponse(
            "The Slack bot is not configured (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN).",
            status=503,
            content_type="text/plain",
        )
    if not signed_by_slack(request, get_config().signing_secret):
        # Refused before Bolt parses anything, as Bolt itself answers a bad signature.
        return JsonResponse({"error": "invalid request"}, status=401)
    return handler.handle(request)
