"""django-anymail's tracking webhooks, refusing replays. Include before the page catch-all::

    path("anymail/", include("wagtail_xpm.campaigns.webhooks")),

Every ESP's tracking URL of ``anymail.urls`` is served at the same path and name (e.g.
``anymail/mailgun/tracking/``, ``anymail/postmark/tracking/``,
``anymail/amazon_ses/tracking/``). Anymail checks each ESP's signature or basic auth and
refuses forged and unsigned calls; on top of that a call is refused (400, nothing changes)
when one of its events was already accepted (``event_id``, remembered in the cache for
``WEBHOOK_MAX_AGE`` seconds) or is older than that: a captured webhook replayed later. The
events then reach :mod:`wagtail_xpm.campaigns.tracking` through anymail's ``tracking``
signal.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError, AnymailWebhookValidationFailure
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils import timezone

from ..conf import get_setting

app_name = "wagtail_xpm_webhooks"


class ReplayGuardMixin:
    """Refuse webhook calls whose events were already received or are too old."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(self, "warn_if_no_basic_auth", False) and not getattr(self, "basic_auth", None):
            # For ESPs whose only webhook security is basic auth, anymail merely warns when
            # ANYMAIL["WEBHOOK_SECRET"] is unset and accepts anyone's POST: a forged event
            # could then suppress or unsubscribe addresses. Refuse instead.
            raise AnymailWebhookValidationFailure(
                f"{self.esp_name} tracking webhook refused: set ANYMAIL['WEBHOOK_SECRET'] "  # type: ignore[attr-defined]
                "and the same user:password in the ESP's webhook URL"
            )
        self.run_validators(request)  # type: ignore[attr-defined]
        events = self.parse_events(request)  # type: ignore[attr-defined]
        max_age = int(get_setting("WEBHOOK_MAX_AGE"))
        oldest = timezone.now() - timedelta(seconds=max_age)
        esp = self.esp_name  # type: ignore[attr-defined]
        for event in events:
            if event.timestamp is not None and event.timestamp < oldest:
                raise AnymailWebhookValidationFailure(
                    f"{esp} webhook event from {event.timestamp.isoformat()} is too old (replayed?)"
                )
        taken: list[str] = []
        for event in events:
            if not event.event_id:
                continue
            digest = hashlib.sha256(str(event.event_id).encode()).hexdigest()[:40]
            key = f"wagtail_xpm:webhook:{esp}:{digest}"
            if not cache.add(key, 1, timeout=max_age):
                cache.delete_many(taken)
                raise AnymailWebhookValidationFailure(
                    f"{esp} webhook event was already received (replayed?)"
                )
            taken.append(key)
        try:
            for event in events:
                self.signal.send(sender=self.__class__, event=event, esp_name=esp)  # type: ignore[attr-defined]
        except Exception:
            # Not processed: the ESP's retry of this call must be accepted.
            cache.delete_many(taken)
            raise
        return HttpResponse()


def _configured_only(view):
    """The tracking URL of an ESP the site does not use (no webhook secret in its settings)
    answers 404 instead of a server error."""

    def serve(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError:
            raise Http404 from None

    serve.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return serve


def _guarded(pattern: URLPattern) -> URLPattern:
    view = pattern.callback
    view_class = view.view_class  # type: ignore[attr-defined]
    guarded = type(f"Guarded{view_class.__name__}", (ReplayGuardMixin, view_class), {})
    return URLPattern(
        pattern.pattern,
        _configured_only(guarded.as_view(**view.view_initkwargs)),  # type: ignore[attr-defined]
        pattern.default_args,
        pattern.name,
    )


urlpatterns = [
    _guarded(pattern)
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern) and "tracking" in (pattern.name or "")
]
