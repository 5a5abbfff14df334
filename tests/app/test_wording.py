"""Every kind of error in words (wagtail_xpm/wording.py): the admin's, a lead's and a sync's,
keyed on the error's kind and what it is about, ending with the error's own words."""

from __future__ import annotations

import pytest
from django.utils import translation

from wagtail_xpm.wording import (
    error_keys,
    explain_lead_failure,
    explain_sync_failure,
    explain_xpm_error,
)
from wagtail_xpm.xpm.errors import (
    KINDS,
    XpmApiError,
    XpmAuthError,
    XpmConfigurationError,
    XpmDailyLimitReached,
    XpmError,
    XpmInvalidGrant,
    XpmNotFoundError,
    XpmRateLimited,
    XpmReauthorizationRequired,
    XpmResponseError,
    XpmTenantError,
    XpmTransientError,
)

DAILY = XpmDailyLimitReached("XPM daily call limit reached for this practice; try again tomorrow")
MINUTE = XpmRateLimited("XPM rate limit hit (minute)", problem="minute")
DOWN = XpmTransientError("staff.api/list failed with HTTP 503", status=503)
MAYBE_CREATED = XpmTransientError("lead.api/add failed (ReadTimeout)", outcome_unknown=True)
SETTINGS = XpmConfigurationError("Xero client id is not configured")
REFUSED_TOKEN = XpmAuthError("XPM refused the access token (HTTP 401)")
OWNER = XpmApiError("Invalid owner", description="Invalid owner", about="owner")
CONTACT = XpmNotFoundError(
    "Invalid contact identifier", description="Invalid contact identifier", about="contact"
)
REFUSED = XpmApiError("Invalid EstimatedValue value: lots")
UNREADABLE = XpmResponseError("malformed XML from XPM")
OTHER = XpmError("something else")

ADMIN_AUTH = (
    "Xero refused this site's access: reconnect it on the Xero Practice Manager page. "
    "If that does not help, check the Xero app has the Practice Manager scopes and the "
    'connecting user XPM\'s "Connect third-party add-ons" privilege.'
)
SYNC_UNREACHABLE = (
    "XPM could not be reached or kept asking us to slow down, so the sync stopped before "
    "changing anything; the next sync tries again."
)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_every_error_class_names_a_kind() -> None:
    classes = [
        XpmError,
        XpmConfigurationError,
        XpmAuthError,
        XpmInvalidGrant,
        XpmReauthorizationRequired,
        XpmTenantError,
        XpmRateLimited,
        XpmDailyLimitReached,
        XpmTransientError,
        XpmApiError,
        XpmNotFoundError,
        XpmResponseError,
    ]
    assert {cls.kind for cls in classes} == set(KINDS)
    assert XpmTenantError.kind == XpmInvalidGrant.kind == "auth"


def test_keys_go_from_the_most_specific_to_any_error() -> None:
    assert error_keys(OWNER) == ["refused:owner", "refused", "error"]
    assert error_keys(MAYBE_CREATED) == ["transient:outcome_unknown", "transient", "error"]
    assert error_keys(DAILY) == ["daily_limit", "error"]
    assert error_keys(OTHER) == ["error"]
    assert error_keys(ValueError("not ours")) == ["error"]


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (DAILY, "Today's Xero Practice Manager API allowance is used up; try again tomorrow."),
        (MINUTE, "Xero Practice Manager asked us to slow down; try again in a minute."),
        (DOWN, "Xero Practice Manager could not be reached just now; try again shortly."),
        (MAYBE_CREATED, "Xero Practice Manager could not be reached just now; try again shortly."),
        (SETTINGS, "The site's Xero settings are incomplete."),
        (REFUSED_TOKEN, ADMIN_AUTH),
        (XpmTenantError("XPM refused tenant t (HTTP 403)"), ADMIN_AUTH),
        (OWNER, "Xero Practice Manager refused the request."),
        (REFUSED, "Xero Practice Manager refused the request."),
        (UNREADABLE, "Xero Practice Manager refused the request."),
        (OTHER, "Xero Practice Manager refused the request."),
    ],
)
def test_the_admin_words(error: XpmError, words: str) -> None:
    assert explain_xpm_error(error) == f"{words} ({error})"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            DAILY,
            "Today's Xero Practice Manager API allowance is used up; the enquiry is sent "
            "automatically after the daily reset.",
        ),
        (MINUTE, "Xero Practice Manager asked us to slow down; the enquiry is sent again shortly."),
        (
            DOWN,
            "Xero Practice Manager could not be reached just now; the enquiry is sent again "
            "automatically.",
        ),
        (
            MAYBE_CREATED,
            "Xero Practice Manager did not answer a request to create a record; the next "
            "attempt checks whether it was created before trying again.",
        ),
        (SETTINGS, "The site's Xero settings are incomplete."),
        (
            XpmReauthorizationRequired("no Xero connection is stored"),
            "Xero no longer accepts this site's connection: reconnect it on the Xero Practice "
            "Manager page, then press Retry.",
        ),
        (
            OWNER,
            "Xero Practice Manager does not accept the chosen lead owner (perhaps they left the "
            "practice). Pick another lead owner in the Xero Practice Manager settings; waiting "
            "enquiries are then sent.",
        ),
        (
            CONTACT,
            "Xero Practice Manager refused the enquiry. Check the details, correct them in XPM "
            "or the settings if needed, then press Retry.",
        ),
        (
            REFUSED,
            "Xero Practice Manager refused the enquiry. Check the details, correct them in XPM "
            "or the settings if needed, then press Retry.",
        ),
        (UNREADABLE, "Xero Practice Manager returned an answer the website could not read."),
        (OTHER, "Xero Practice Manager returned an answer the website could not read."),
    ],
)
def test_a_leads_words(error: XpmError, words: str) -> None:
    assert explain_lead_failure(error) == f"{words} (XPM said: {error})"


def test_a_refusal_naming_the_owner_is_worded_by_what_it_is_about_not_its_text() -> None:
    unparsed = XpmApiError("Invalid owner")  # no `about`: nothing says it is the owner
    assert "lead owner" not in explain_lead_failure(unparsed)
    about_owner = XpmApiError("Invalid staff member", about="owner")
    assert "lead owner" in explain_lead_failure(about_owner)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            DAILY,
            "Today's XPM API allowance is used up, so the sync stopped before changing "
            "anything; syncs resume after the reset.",
        ),
        (MINUTE, SYNC_UNREACHABLE),
        (DOWN, SYNC_UNREACHABLE),
        (SETTINGS, "The sync could not start because of the site's XPM settings."),
        (
            XpmInvalidGrant("Xero refused the grant (token refresh)"),
            "Xero refused this site's access, so the sync stopped before changing anything. "
            "Reconnect on the Xero Practice Manager page; if that does not help, check the "
            "Xero app has the Practice Manager scope and the connecting user XPM's "
            '"Connect third-party add-ons" privilege.',
        ),
        (OWNER, "XPM refused the sync."),
        (UNREADABLE, "XPM refused the sync."),
        (OTHER, "XPM refused the sync."),
    ],
)
def test_a_syncs_words(error: XpmError, words: str) -> None:
    assert explain_sync_failure(error) == f"{words} (Details: {error})"


def test_the_sync_engine_words_failures_here() -> None:
    from wagtail_xpm.sync.engine import sync_failure_message

    assert sync_failure_message(DAILY) == explain_sync_failure(DAILY)


def test_the_words_are_translated() -> None:
    with translation.override("fr"):
        for explain in (explain_xpm_error, explain_lead_failure, explain_sync_failure):
            for error in (DAILY, MINUTE, DOWN, SETTINGS, REFUSED_TOKEN, OWNER, OTHER):
                with translation.override("en"):
                    english = explain(error)
                assert explain(error) != english, (explain.__name__, error)
