"""Telling people that something needs them: one call, several channels.

Features call :func:`notify` with an event name and keyword data; every subscriber hears it.
Built in: an email to the site's administrators (``settings.ADMINS`` and active superusers).
Other channels (the Slack bot) subscribe without this module knowing them::

    from wagtail_xpm import notifications

    def post_to_slack(event, **data): ...

    notifications.subscribe(post_to_slack)

Subscribers must not raise into the caller: a failing channel is logged and skipped, so a
broken mail server never turns a stored enquiry into an error page.

Events sent today:

* ``lead_failed``: ``submission`` (a LeadSubmission), ``reason`` (words for an editor),
  ``admin_url`` (absolute URL of the submission in the admin, or "").
* ``leads_waiting``: ``site`` (a wagtail Site), ``reason``, ``count`` (submissions waiting),
  ``admin_url``; sent at most once an hour per site and reason (e.g. no lead owner chosen).
* ``sync_failed``: ``connection``, ``run`` (the failed SyncRun), ``reason``.
* ``budget_low``: ``connection``, ``run``, ``remaining`` (XPM calls left today), ``reserve``,
  ``reason``; the run stopped early to keep the reserve for enquiries.
* ``connection_needs_reauth``: ``connection``, ``reason``; Xero refused the stored grant.
* ``campaign_paused``: ``campaign``, ``reason`` (why the mail server or ESP could not be
  used, in words), ``waiting`` (recipients not sent yet), ``admin_url`` (its Send page).

The administrators' email for the last three goes out at most once per connection in
``EMAIL_REPEAT_SECONDS`` (a sync failing every quarter of an hour is one email, not 96 a day).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.dispatch import Signal
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import mailer

logger = logging.getLogger(__name__)

Subscriber = Callable[..., Any]

# Also available as a Django signal (sender is the event name) for code that prefers it.
notification = Signal()

_subscribers: list[Subscriber] = []
_lock = threading.Lock()


def subscribe(callback: Subscriber) -> Subscriber:
    """Call ``callback(event, **data)`` for every notification; returns it (decorator use)."""
    with _lock:
        if callback not in _subscribers:
            _subscribers.append(callback)
    return callback


def unsubscribe(callback: Subscriber) -> None:
    with _lock:
        if callback in _subscribers:
            _subscribers.remove(callback)


def notify(event: str, **data: Any) -> None:
    """Tell every channel about ``event``; never raises."""
    with _lock:
        callbacks = list(_subscribers)
    for callback in callbacks:
        try:
            callback(event, **data)
        except Exception:  # noqa: BLE001 - one broken channel must not stop the others
            logger.exception("Notification subscriber %r failed for %s", callback, event)
    for receiver, result in notification.send_robust(sender=event, event=event, **data):
        if isinstance(result, Exception):
            logger.error("Notification receiver %r failed for %s: %s", receiver, event, result)


# --- Built-in channel: email to administrators ----------------------------------------------


def admin_emails() -> list[str]:
    """Who hears about problems: ``settings.ADMINS`` plus every active superuser with an email."""
    emails: list[str] = []
    for entry in getattr(settings, "ADMINS", ()) or ():
        address = entry[1] if isinstance(entry, list | tuple) else entry
        if address:
            emails.append(address)
    user_model = get_user_model()
    email_field = user_model.get_email_field_name()
    emails += (
        user_model.objects.filter(is_superuser=True, is_active=True)
        .exclude(**{email_field: ""})
        .values_list(email_field, flat=True)
    )
    seen: set[str] = set()
    unique = []
    for address in emails:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append(address)
    return unique


EMAIL_REPEAT_SECONDS = {
    "sync_failed": 6 * 3600,
    "budget_low": 24 * 3600,
    "connection_needs_reauth": 24 * 3600,
}


def absolute_admin_url(name: str, *args: object) -> str:
    """The named admin URL made absolute (wagtail_xpm/links.py), or "" when it cannot be."""
    from .links import admin_url

    return admin_url(name, *args)


def _practice(connection: Any) -> str:
    return getattr(connection, "tenant_name", "") or str(getattr(connection, "site", "")) or "XPM"


def _connection_email(event: str, data: dict[str, Any]) -> tuple[str, str] | None:
    connection = data.get("connection")
    reason = str(data.get("reason") or "")
    practice = _practice(connection)
    if event == "sync_failed":
        run = data.get("run")
        url = absolute_admin_url("wagtail_xpm_syncrun:inspect", run.pk) if run else ""
        values = {"practice": practice, "reason": reason, "url": url}
        if url:
            body = _(
                "The website could not sync its contacts from Xero Practice Manager "
                "(%(practice)s).\n\nWhy: %(reason)s\n\nNothing was lost: contacts keep their "
                "last synced values, and the next sync tries again. The run is here:\n%(url)s\n"
            )
        else:
            body = _(
                "The website could not sync its contacts from Xero Practice Manager "
                "(%(practice)s).\n\nWhy: %(reason)s\n\nNothing was lost: contacts keep their "
                "last synced values, and the next sync tries again.\n"
            )
        return _("The website's sync with %(practice)s failed") % values, body % values
    if event == "budget_low":
        values = {
            "practice": practice,
            "remaining": data.get("remaining"),
            "reserve": data.get("reserve"),
            "reason": reason,
        }
        return (
            _("XPM daily call budget running low for %(practice)s") % values,
            _(
                "The sync stopped early: %(remaining)s XPM calls are left today and "
                "%(reserve)s are kept for website enquiries.\n\n%(reason)s\n\n"
                "The remaining clients are queued and will be read by the next syncs.\n"
            )
            % values,
        )
    if event == "connection_needs_reauth":
        url = absolute_admin_url("wagtail_xpm:status")
        values = {"practice": practice, "reason": reason, "url": url}
        if url:
            body = _(
                "%(reason)s\n\nUntil someone reconnects, contacts are not synced and website "
                "enquiries wait on the website (none are lost). Reconnect here:\n%(url)s\n"
            )
        else:
            body = _(
                "%(reason)s\n\nUntil someone reconnects, contacts are not synced and website "
                "enquiries wait on the website (none are lost). Reconnect in the admin (Xero "
                "Practice Manager).\n"
            )
        return _("Reconnect the website to Xero Practice Manager (%(practice)s)") % values, (
            body % values
        )
    return None


def _first_in_window(event: str, data: dict[str, Any]) -> bool:
    """Whether this connection's ``event`` was not emailed within its repeat window."""
    connection = data.get("connection")
    key = f"wagtail_xpm:mailed:{event}:{getattr(connection, 'pk', '')}"
    return cache.add(key, 1, timeout=EMAIL_REPEAT_SECONDS[event])


def _email_subject_and_body(event: str, data: dict[str, Any]) -> tuple[str, str] | None:
    if event in EMAIL_REPEAT_SECONDS:
        if not _first_in_window(event, data):
            return None
        return _connection_email(event, data)
    reason = str(data.get("reason") or "")
    url = str(data.get("admin_url") or "")
    if event == "lead_failed":
        submission = data.get("submission")
        who = getattr(submission, "name", "") or getattr(submission, "email", "") or _("a visitor")
        values = {"who": who, "reason": reason, "url": url}
        subject = _("Website enquiry from %(who)s was not sent to Xero Practice Manager") % values
        if url:
            body = _(
                "An enquiry from %(who)s could not be sent to Xero Practice Manager.\n\n"
                "Why: %(reason)s\n\n"
                "The enquiry is kept on the website. Fix the cause, then press Retry on it:\n"
                "%(url)s\n"
            )
        else:
            body = _(
                "An enquiry from %(who)s could not be sent to Xero Practice Manager.\n\n"
                "Why: %(reason)s\n\n"
                "The enquiry is kept on the website. Fix the cause, then press Retry on it in "
                "the admin (Website enquiries).\n"
            )
        return subject, body % values
    if event == "campaign_paused":
        campaign = data.get("campaign")
        waiting = int(data.get("waiting") or 0)
        values = {
            "name": getattr(campaign, "name", ""),
            "reason": reason,
            "url": url,
            "waiting": ngettext(
                "%(count)s recipient was not sent it yet and waits",
                "%(count)s recipients were not sent it yet and wait",
                waiting,
            )
            % {"count": waiting},
        }
        subject = _("Campaign '%(name)s' stopped sending") % values
        if url:
            body = _(
                "The campaign '%(name)s' stopped sending.\n\nWhy: %(reason)s\n\n%(waiting)s; "
                "nobody is sent it twice. Fix the cause, then press Resume on the campaign:\n"
                "%(url)s\n"
            )
        else:
            body = _(
                "The campaign '%(name)s' stopped sending.\n\nWhy: %(reason)s\n\n%(waiting)s; "
                "nobody is sent it twice. Fix the cause, then press Resume on the campaign in "
                "the admin (Campaigns).\n"
            )
        return subject, body % values
    if event == "leads_waiting":
        count = data.get("count") or 0
        subject = _("Website enquiries are waiting to be sent to Xero Practice Manager")
        waiting = ngettext(
            "%(count)s website enquiry is waiting.",
            "%(count)s website enquiries are waiting.",
            count,
        ) % {"count": count}
        values = {"waiting": waiting, "reason": reason, "url": url}
        if url:
            body = _(
                "%(waiting)s\n\nWhy: %(reason)s\n\nThey are kept and will be sent once this is "
                "fixed:\n%(url)s\n"
            )
        else:
            body = _(
                "%(waiting)s\n\nWhy: %(reason)s\n\nThey are kept and will be sent once this is "
                "fixed.\n"
            )
        return subject, body % values
    return None


def email_admins(event: str, **data: Any) -> None:
    """The built-in channel: a plain-text email to :func:`admin_emails`."""
    message = _email_subject_and_body(event, data)
    if message is None:
        return
    recipients = admin_emails()
    if not recipients:
        logger.warning("No administrator email address to tell about %s", event)
        return
    subject, body = message
    prefix = getattr(settings, "EMAIL_SUBJECT_PREFIX", "")
    try:
        mailer.send_plain(f"{prefix}{subject}", body, recipients)
    except Exception as exc:  # noqa: BLE001 - mail trouble is logged, never raised into a delivery
        from .mailfaults import describe

        # One line in words (the mail server being down is often why they are told at all).
        logger.warning("Could not email administrators about %s: %s", event, describe(exc).reason)


subscribe(email_admins)
