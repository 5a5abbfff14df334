"""Wagtail's audit log for what the app does with people's data (docs/privacy.md).

Every export, campaign send, consent change by an editor, mapping change and connection
change is a ``log()`` entry with its user, so it shows in Wagtail's "Site history" report
with the labels registered here (``register_log_actions`` in wagtail_hooks).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import LogFormatter, log

EXPORT = "wagtail_xpm.export"
CAMPAIGN_SEND = "wagtail_xpm.campaign_send"
CONSENT_CHANGE = "wagtail_xpm.consent_change"
MAPPING_CHANGE = "wagtail_xpm.mapping_change"
CONNECTION_CHANGE = "wagtail_xpm.connection_change"
ACCESS_REQUEST = "wagtail_xpm.access_request"
ERASURE = "wagtail_xpm.erasure"


class _Formatter(LogFormatter):
    """A message built from the entry's ``data`` (``what`` and ``rows`` when present)."""

    verb = ""

    def format_message(self, log_entry):
        data = log_entry.data or {}
        what = data.get("what") or ""
        rows = data.get("rows")
        parts = [str(self.verb)]
        if what:
            parts.append(str(what))
        if rows is not None:
            parts.append(_("(%(rows)s rows)") % {"rows": rows})
        return " ".join(parts)


def _formatter(label, verb):
    return type("Formatter", (_Formatter,), {"label": label, "verb": verb})


ACTIONS = {
    EXPORT: _formatter(_("XPM: export"), _("Exported")),
    CAMPAIGN_SEND: _formatter(_("XPM: campaign send"), _("Campaign sent:")),
    CONSENT_CHANGE: _formatter(_("XPM: consent change"), _("Marketing consent changed:")),
    MAPPING_CHANGE: _formatter(_("XPM: field mapping change"), _("Field mapping changed:")),
    CONNECTION_CHANGE: _formatter(_("XPM: connection change"), _("XPM connection changed:")),
    ACCESS_REQUEST: _formatter(_("XPM: access request"), _("Exported everything held on")),
    ERASURE: _formatter(_("XPM: erasure"), _("Erased the website's data on")),
}


def register(actions) -> None:
    """The ``register_log_actions`` hook: our actions with readable labels."""
    for action, formatter in ACTIONS.items():
        actions.register_action(action)(formatter)


def record(
    instance: models.Model,
    action: str,
    user=None,
    *,
    what: str = "",
    title: str | None = None,
    **data: Any,
) -> None:
    """Log ``action`` on ``instance`` (a contact, segment, campaign, connection...) by ``user``.

    ``what`` is the short text the report shows (for example "contacts as CSV"); ``title``
    names the object in the report instead of ``str(instance)`` (an erased person is named
    by number only); every other keyword is kept in the entry's data (JSON-serialisable
    values only).
    """
    payload = {"what": str(what), **data}
    extra = {"title": title} if title else {}
    log(instance, action, user=user, data=payload, **extra)
