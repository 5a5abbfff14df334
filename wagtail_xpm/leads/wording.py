"""Why an enquiry did not reach XPM, in words an editor can act on."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..xpm.errors import (
    XpmApiError,
    XpmAuthError,
    XpmConfigurationError,
    XpmDailyLimitReached,
    XpmError,
    XpmRateLimited,
    XpmTransientError,
)


def explain_failure(exc: XpmError) -> str:
    """One or two sentences for the admin and the admins' email, ending with XPM's words."""
    if isinstance(exc, XpmDailyLimitReached):
        lead = _(
            "Today's Xero Practice Manager API allowance is used up; the enquiry is sent "
            "automatically after the daily reset."
        )
    elif isinstance(exc, XpmRateLimited):
        lead = _("Xero Practice Manager asked us to slow down; the enquiry is sent again shortly.")
    elif isinstance(exc, XpmTransientError):
        if exc.outcome_unknown:
            lead = _(
                "Xero Practice Manager did not answer a request to create a record; the next "
                "attempt checks whether it was created before trying again."
            )
        else:
            lead = _(
                "Xero Practice Manager could not be reached just now; the enquiry is sent "
                "again automatically."
            )
    elif isinstance(exc, XpmConfigurationError):
        lead = _("The site's Xero settings are incomplete.")
    elif isinstance(exc, XpmAuthError):
        lead = _(
            "Xero no longer accepts this site's connection: reconnect it on the Xero Practice "
            "Manager page, then press Retry."
        )
    elif isinstance(exc, XpmApiError):
        text = (exc.description or exc.message or "").lower()
        if "owner" in text:
            lead = _(
                "Xero Practice Manager does not accept the chosen lead owner (perhaps they "
                "left the practice). Pick another lead owner in the Xero Practice Manager "
                "settings; waiting enquiries are then sent."
            )
        else:
            lead = _(
                "Xero Practice Manager refused the enquiry. Check the details, correct them "
                "in XPM or the settings if needed, then press Retry."
            )
    else:
        lead = _("Xero Practice Manager returned an answer the website could not read.")
    return _("%(explanation)s (XPM said: %(error)s)") % {"explanation": lead, "error": exc}
