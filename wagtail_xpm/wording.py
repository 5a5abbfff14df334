"""Errors in words people can act on: the admin's messages, and the sync and lead failures
that the admin, the administrators' emails and Slack show (`SyncRun.message`,
`LeadSubmission.last_error`).

Each error says what it is (`XpmError.kind`, wagtail_xpm/xpm/errors.py) and, where it matters,
more: what a refusal is about (`about`, wagtail_xpm/xpm/problems.py), whether a create may
have reached XPM (`outcome_unknown`). Words are looked up by those keys, most specific first
(`refused:owner`, then `refused`), in one table per audience; the sentence ends with the
error's own words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .xpm.errors import XpmError

__all__ = ["error_keys", "explain_lead_failure", "explain_sync_failure", "explain_xpm_error"]

Words = Mapping[str, Promise]

_AUTH_WITH_PRIVILEGE = gettext_lazy(
    "Xero refused this site's access: reconnect it on the Xero Practice Manager page. "
    "If that does not help, check the Xero app has the Practice Manager scopes and the "
    'connecting user XPM\'s "Connect third-party add-ons" privilege.'
)
_CONFIGURATION = gettext_lazy("The site's Xero settings are incomplete.")

# Any admin page that called XPM for an editor (sync, mappings, a contact's XPM client).
ADMIN: Words = {
    "daily_limit": gettext_lazy(
        "Today's Xero Practice Manager API allowance is used up; try again tomorrow."
    ),
    "rate_limited": gettext_lazy(
        "Xero Practice Manager asked us to slow down; try again in a minute."
    ),
    "transient": gettext_lazy(
        "Xero Practice Manager could not be reached just now; try again shortly."
    ),
    "configuration": _CONFIGURATION,
    "auth": _AUTH_WITH_PRIVILEGE,
    "error": gettext_lazy("Xero Practice Manager refused the request."),
}

# Why an enquiry did not reach XPM (the lead's page, the administrators' email, Slack).
LEAD: Words = {
    "daily_limit": gettext_lazy(
        "Today's Xero Practice Manager API allowance is used up; the enquiry is sent "
        "automatically after the daily reset."
    ),
    "rate_limited": gettext_lazy(
        "Xero Practice Manager asked us to slow down; the enquiry is sent again shortly."
    ),
    "transient:outcome_unknown": gettext_lazy(
        "Xero Practice Manager did not answer a request to create a record; the next "
        "attempt checks whether it was created before trying again."
    ),
    "transient": gettext_lazy(
        "Xero Practice Manager could not be reached just now; the enquiry is sent "
        "again automatically."
    ),
    "configuration": _CONFIGURATION,
    "auth": gettext_lazy(
        "Xero no longer accepts this site's connection: reconnect it on the Xero Practice "
        "Manager page, then press Retry."
    ),
    "refused:owner": gettext_lazy(
        "Xero Practice Manager does not accept the chosen lead owner (perhaps they "
        "left the practice). Pick another lead owner in the Xero Practice Manager "
        "settings; waiting enquiries are then sent."
    ),
    "refused": gettext_lazy(
        "Xero Practice Manager refused the enquiry. Check the details, correct them "
        "in XPM or the settings if needed, then press Retry."
    ),
    "error": gettext_lazy("Xero Practice Manager returned an answer the website could not read."),
}

# Why a sync stopped (the run's page, the administrators' email, Slack).
_SYNC_UNREACHABLE = gettext_lazy(
    "XPM could not be reached or kept asking us to slow down, so the sync stopped "
    "before changing anything; the next sync tries again."
)
SYNC: Words = {
    "daily_limit": gettext_lazy(
        "Today's XPM API allowance is used up, so the sync stopped before changing "
        "anything; syncs resume after the reset."
    ),
    "rate_limited": _SYNC_UNREACHABLE,
    "transient": _SYNC_UNREACHABLE,
    "configuration": gettext_lazy("The sync could not start because of the site's XPM settings."),
    "auth": gettext_lazy(
        "Xero refused this site's access, so the sync stopped before changing anything. "
        "Reconnect on the Xero Practice Manager page; if that does not help, check the "
        "Xero app has the Practice Manager scope and the connecting user XPM's "
        '"Connect third-party add-ons" privilege.'
    ),
    "error": gettext_lazy("XPM refused the sync."),
}


def error_keys(exc: BaseException) -> list[str]:
    """The keys an error's words are looked up by, most specific first, ending with "error":
    ``["refused:owner", "refused", "error"]``, ``["transient:outcome_unknown", "transient",
    "error"]``. Errors from outside the XPM client are just "error"."""
    kind = getattr(exc, "kind", "error")
    keys = []
    about = getattr(exc, "about", None)
    if about:
        keys.append(f"{kind}:{about}")
    if getattr(exc, "outcome_unknown", False):
        keys.append(f"{kind}:outcome_unknown")
    keys.append(kind)
    if kind != "error":
        keys.append("error")
    return keys


def words_for(exc: BaseException, words: Words) -> str:
    """The most specific sentence `words` has for `exc`."""
    return str(next(words[key] for key in error_keys(exc) if key in words))


def explain_xpm_error(exc: XpmError) -> str:
    """One or two sentences a site editor can act on, ending with XPM's own words."""
    return f"{words_for(exc, ADMIN)} ({exc})"


def explain_lead_failure(exc: XpmError) -> str:
    """Why an enquiry did not reach XPM, for the admin and the admins' email, ending with
    XPM's words."""
    return _("%(explanation)s (XPM said: %(error)s)") % _parts(exc, LEAD)


def explain_sync_failure(exc: XpmError) -> str:
    """Why a sync failed, in words an editor can act on, ending with the error's own."""
    return _("%(explanation)s (Details: %(error)s)") % _parts(exc, SYNC)


def _parts(exc: XpmError, words: Words) -> dict[str, Any]:
    return {"explanation": words_for(exc, words), "error": exc}
