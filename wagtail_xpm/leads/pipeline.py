"""Delivering one stored submission to XPM as a lead, safely repeatable.

Steps, each result stored on the row (committed) before the next step starts:

1. **Find the person.** A website CRM contact with the visitor's email (trimmed,
   case-insensitive) gives its primary XPM client and contact; else ``client.api/search`` by
   the visitor's company and name, matching a contact's email; else ``client.api/add``
   creates a prospect client with the visitor as its primary contact.
2. **Add the lead** (``lead.api/add``): owned by the site's lead owner, with the optional lead
   category, on that client and contact, named "Website enquiry: <name>", described with the
   message, the other fields, the page and a reference to this row.

XPM has no idempotency key, so creates are never blindly repeated. The row records that a
create was *started* before the call; an attempt that finds that mark (the answer was lost,
or the worker died) looks the record up first: the client by search, the lead among
``lead.api/current`` by name, client and the reference in its description.

Failures are sorted by what helps: network trouble, 5xx and 429 are retried with backoff;
the daily limit waits for the reset; everything a person must fix (no lead owner, connection
lost, XPM refusing the data) fails the row with a reason in plain words, tells the admins, and
waits for a Retry (or is re-queued automatically once the cause is gone, see ``sweep``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import get_setting
from ..models import (
    Contact,
    LeadSubmission,
    PracticeStaff,
    XpmConnection,
    XpmSiteSettings,
    email_key,
)
from ..notifications import notify
from ..wording import explain_lead_failure as explain_failure
from ..xpm.client import XpmClient
from ..xpm.errors import (
    XpmApiError,
    XpmAuthError,
    XpmConfigurationError,
    XpmDailyLimitReached,
    XpmError,
    XpmRateLimited,
    XpmResponseError,
    XpmTransientError,
)
from ..xpm.types import NewClient, NewContact, NewLead, XpmClientRecord, XpmContact, XpmLead
from . import configsection, crm

logger = logging.getLogger(__name__)

Status = LeadSubmission.Status
ClientFactory = Callable[[XpmConnection], XpmClient]

# Grace before the sweeper queues a brand-new row itself (its own task should be running).
FRESH_GRACE = timedelta(seconds=60)
DAILY_LIMIT_WAIT = 3600.0
RATE_LIMIT_WAIT = 60.0
# Failures fixed by a person elsewhere (settings, reconnect): the sweeper re-queues them.
SELF_HEALING = (
    LeadSubmission.ERROR_NO_OWNER,
    LeadSubmission.ERROR_OWNER_INVALID,
    LeadSubmission.ERROR_NOT_CONNECTED,
    LeadSubmission.ERROR_CONNECTION,
)


class KeepLocal(Exception):
    """The site does not send leads to XPM (switched off): the enquiry stays on the website."""


class Blocked(Exception):
    """Delivery cannot start until a person fixes something (no XPM call was made)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did; ``retry_in`` asks the caller to try again later."""

    status: str
    retry_in: float | None = None
    message: str = ""


# --- Claiming -------------------------------------------------------------------------------


def claim(submission_id: int, now: datetime | None = None) -> LeadSubmission | None:
    """Take a due pending row for this worker (one conditional UPDATE: exactly one winner)."""
    now = now or timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1))
    won = LeadSubmission.objects.filter(due, pk=submission_id, status=Status.PENDING).update(
        status=Status.SENDING,
        claimed_at=now,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        updated_at=now,
    )
    if not won:
        return None
    return LeadSubmission.objects.select_related("connection", "site", "contact").get(
        pk=submission_id
    )


# --- Pausing a practice's deliveries while XPM is in trouble --------------------------------

# After a network/server problem or a 429, other deliveries for the same site (one site,
# one practice) wait this long at most instead of each spending a worker and API calls
# finding XPM still down. New enquiries arriving meanwhile are not even queued: the sweeper
# picks them up once the pause is over.
PAUSE_SECONDS = 30.0


def _pause_key(site_id: int) -> str:
    return f"wagtail_xpm:leads-paused:{site_id}"


def pause(site_id: int, seconds: float, reason: str) -> None:
    try:
        cache.set(_pause_key(site_id), (time.time() + seconds, reason), timeout=seconds)
    except Exception:  # noqa: BLE001 - without a cache every delivery just tries XPM itself
        logger.warning("Could not record the XPM pause in the cache", exc_info=True)


def paused_for(site_id: int | None) -> tuple[float, str] | None:
    """(seconds left, why) while deliveries for this site are paused, else None."""
    if site_id is None:
        return None
    try:
        value = cache.get(_pause_key(site_id))
    except Exception:  # noqa: BLE001
        return None
    if not value:
        return None
    until, reason = value
    left = until - time.time()
    return (left, reason) if left > 0 else None


# --- Delivery -------------------------------------------------------------------------------


def deliver(
    submission_id: int,
    *,
    client_factory: ClientFactory,
    now: datetime | None = None,
) -> Outcome:
    """Run one attempt for one submission. Safe to call twice, concurrently, or after a crash."""
    row = (
        LeadSubmission.objects.filter(pk=submission_id).select_related("connection", "site").first()
    )
    if row is None:
        return Outcome("missing")
    if row.status == Status.LOCAL:
        # Not for XPM: only the website CRM hears about the person.
        connection = row.connection or _site_connection(row)
        if connection is not None:
            crm.record_contact(row, connection)
        return Outcome(row.status)
    now = now or timezone.now()
    if row.status != Status.PENDING or (
        row.next_attempt_at and row.next_attempt_at > now + timedelta(seconds=1)
    ):
        return Outcome(row.status)  # taken, finished, or not due yet
    paused = paused_for(row.site_id)
    if paused is not None:
        # XPM failed moments ago for this practice: wait with it instead of knocking again.
        wait, reason = paused
        LeadSubmission.objects.filter(pk=row.pk, status=Status.PENDING).update(
            next_attempt_at=now + timedelta(seconds=wait), last_error=reason, updated_at=now
        )
        return Outcome(Status.PENDING, retry_in=wait, message=reason)
    submission = claim(submission_id, now)
    if submission is None:
        return Outcome(row.status)
    outcome = _attempt(submission, client_factory)
    if outcome.status == Status.PENDING and outcome.retry_in and submission.site_id:
        pause(submission.site_id, min(outcome.retry_in, PAUSE_SECONDS), outcome.message)
    return outcome


def _attempt(submission: LeadSubmission, client_factory: ClientFactory) -> Outcome:
    try:
        Delivery(submission, client_factory).run()
    except KeepLocal:
        submission.status = Status.LOCAL
        submission.claimed_at = None
        submission.save(update_fields=["status", "claimed_at", "updated_at"])
        return Outcome(Status.LOCAL)
    except Blocked as exc:
        return fail(submission, exc.code, exc.message)
    except XpmDailyLimitReached as exc:
        wait = max(exc.retry_after or 0, 60) if exc.retry_after else DAILY_LIMIT_WAIT
        return postpone(submission, explain_failure(exc), wait)
    except XpmRateLimited as exc:
        return retry(submission, explain_failure(exc), minimum=exc.retry_after or RATE_LIMIT_WAIT)
    except (XpmTransientError, XpmResponseError) as exc:
        return retry(submission, explain_failure(exc))
    except (XpmAuthError, XpmConfigurationError) as exc:
        return fail(submission, LeadSubmission.ERROR_CONNECTION, explain_failure(exc))
    except XpmApiError as exc:
        text = (exc.description or exc.message or "").lower()
        code = (
            LeadSubmission.ERROR_OWNER_INVALID if "owner" in text else LeadSubmission.ERROR_REFUSED
        )
        return fail(submission, code, explain_failure(exc))
    except XpmError as exc:
        return retry(submission, explain_failure(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must not strand the row in "sending"
        logger.exception("Unexpected error delivering lead submission %s", submission.pk)
        return retry(
            submission,
            _("Something unexpected went wrong on the website (%(error)s).")
            % {"error": type(exc).__name__},
            code=LeadSubmission.ERROR_UNEXPECTED,
        )
    return Outcome(Status.SENT)


def _site_connection(submission: LeadSubmission) -> XpmConnection | None:
    if submission.site_id is None:
        return None
    return XpmConnection.objects.filter(site_id=submission.site_id).first()


class Delivery:
    """One attempt's steps for one claimed submission (see the module docstring)."""

    def __init__(self, submission: LeadSubmission, client_factory: ClientFactory) -> None:
        self.sub = submission
        self.client_factory = client_factory
        self.key = email_key(submission.email)
        self._refound = False

    # -- bookkeeping ----------------------------------------------------------------------

    def save(self, **values: Any) -> None:
        """Store a step's result now, in its own (auto-committed) write."""
        for name, value in values.items():
            setattr(self.sub, name, value)
        self.sub.save(update_fields=[*values, "updated_at"])

    # -- the steps ------------------------------------------------------------------------

    def run(self) -> None:
        sub = self.sub
        connection = sub.connection or _site_connection(sub)
        if connection is None:
            raise Blocked(
                LeadSubmission.ERROR_NOT_CONNECTED,
                _(
                    "This website is not connected to Xero Practice Manager yet. Connect it on "
                    "the Xero Practice Manager page; waiting enquiries are then sent."
                ),
            )
        if sub.connection_id is None:
            self.save(connection=connection)
        crm.record_contact(sub, connection)
        site = sub.site or connection.site
        site_settings = XpmSiteSettings.for_site(site)
        if not site_settings.leads_enabled:
            raise KeepLocal()
        if not connection.is_usable:
            raise Blocked(
                LeadSubmission.ERROR_NOT_CONNECTED,
                _(
                    "The website's connection to Xero Practice Manager is %(status)s. Reconnect "
                    "it on the Xero Practice Manager page; waiting enquiries are then sent."
                )
                % {"status": connection.get_status_display().lower()},
            )
        owner = site_settings.lead_owner_uuid
        if not owner and configsection.apply_pending(
            connection, client_factory=self.client_factory
        ):
            # The config document named an owner before the site was connected.
            site_settings = XpmSiteSettings.for_site(site)
            owner = site_settings.lead_owner_uuid
        if not owner:
            raise Blocked(
                LeadSubmission.ERROR_NO_OWNER,
                _(
                    "No lead owner is chosen, and XPM needs one for every lead. Pick the staff "
                    "member who looks after website leads in Settings, Xero Practice Manager "
                    "settings; waiting enquiries are then sent."
                ),
            )
        client = self.client_factory(connection)
        try:
            if not sub.xpm_client_uuid:
                self.find_or_create_client(client, connection)
            if not sub.xpm_lead_uuid:
                self.add_lead(client, owner, site_settings.lead_category_uuid)
        finally:
            _record_budget(connection, client)
            client.close()
        self.save(
            status=Status.SENT,
            sent_at=timezone.now(),
            last_error="",
            error_code="",
            claimed_at=None,
        )
        crm.link_to_xpm(sub)

    # Step 1 ------------------------------------------------------------------------------

    def find_or_create_client(self, client: XpmClient, connection: XpmConnection) -> None:
        known = self.crm_match(connection)
        if known is not None:
            self.save(
                client_matched_by=LeadSubmission.MatchedBy.CRM,
                xpm_client_uuid=known.xpm_client_id,
                xpm_contact_uuid=known.xpm_contact_id,
                xpm_client_name=known.client_name,
                xpm_client_url=(known.primary_client.web_url if known.primary_client else ""),
            )
            return
        found = self.search(client)
        if found is not None:
            record, contact = found
            ours = bool(self.sub.client_add_started_at) and bool(record.is_prospect)
            self.save(
                client_matched_by=LeadSubmission.MatchedBy.SEARCH,
                xpm_client_uuid=record.uuid,
                xpm_contact_uuid=contact.uuid if contact else "",
                xpm_client_name=record.name or "",
                xpm_client_url=record.web_url or "",
                client_created=ours,
            )
            return
        self.create_client(client)

    def crm_match(self, connection: XpmConnection) -> Contact | None:
        if not self.key or self._refound:
            return None
        return (
            Contact.objects.filter(connection=connection, email_key=self.key, xpm_removed=False)
            .exclude(xpm_client_id="")
            .exclude(xpm_contact_id="")
            .select_related("primary_client")
            .first()
        )

    def new_client_name(self) -> str:
        sub = self.sub
        return sub.company or sub.name or sub.email or f"Website visitor {sub.pk}"

    def search_terms(self) -> list[str]:
        terms: list[str] = []
        for term in (self.sub.company, self.sub.name, self.new_client_name()):
            term = (term or "").strip()
            if term and term.casefold() not in {t.casefold() for t in terms}:
                terms.append(term)
        return terms

    def search(self, client: XpmClient) -> tuple[XpmClientRecord, XpmContact | None] | None:
        """An XPM client with a contact carrying the visitor's email (live clients first)."""
        archived_match = None
        client_email_match = None
        for term in self.search_terms():
            for record in client.search_clients(term):
                if record.is_deleted:
                    continue
                contact = self._contact_for(record)
                if contact is not None:
                    if not record.is_archived:
                        return record, contact
                    archived_match = archived_match or (record, contact)
                elif self.key and email_key(record.email) == self.key and not record.is_archived:
                    client_email_match = client_email_match or (record, None)
        return archived_match or client_email_match

    def _contact_for(self, record: XpmClientRecord) -> XpmContact | None:
        for contact in record.contacts:
            if contact.is_deleted:
                continue
            if self.key and email_key(contact.email) == self.key:
                return contact
            if (
                not self.key
                and self.sub.client_add_started_at
                and (record.name or "") == self.new_client_name()
                and (contact.name or "").strip() == (self.sub.name or "").strip()
            ):
                # No email to match on: recognise the prospect our lost create made.
                return contact
        return None

    def create_client(self, client: XpmClient) -> None:
        sub = self.sub
        contact_name = sub.name or sub.email or "Website visitor"
        new = NewClient(
            name=self.new_client_name(),
            email=sub.email or None,
            phone=sub.phone or None,
            is_prospect=True,
            contacts=(NewContact(contact_name, email=sub.email or None, phone=sub.phone or None),),
        )
        # Marked before the call: if the answer is lost, the next attempt searches first.
        self.save(client_add_started_at=timezone.now())
        record = client.add_client(new)
        contact = next(
            (c for c in record.contacts if self.key and email_key(c.email) == self.key), None
        )
        contact = contact or next((c for c in record.contacts if c.is_primary), None)
        contact = contact or (record.contacts[0] if record.contacts else None)
        self.save(
            client_matched_by=LeadSubmission.MatchedBy.CREATED,
            xpm_client_uuid=record.uuid,
            xpm_contact_uuid=contact.uuid if contact else "",
            xpm_client_name=record.name or new.name,
            xpm_client_url=record.web_url or "",
            client_created=True,
        )

    # Step 2 ------------------------------------------------------------------------------

    def lead_name(self) -> str:
        template = get_setting("LEAD_NAME_TEMPLATE") or "Website enquiry: {name}"
        who = self.sub.name or self.sub.company or self.sub.email or "website visitor"
        return template.format(name=who)[:255]

    def add_lead(self, client: XpmClient, owner: str, category: str) -> None:
        sub = self.sub
        if not sub.xpm_lead_name:
            self.save(xpm_lead_name=self.lead_name())
        if sub.lead_add_started_at:
            existing = self.existing_lead(client)
            if existing is not None:
                self.save(xpm_lead_uuid=existing.uuid)
                return
        self.save(lead_add_started_at=timezone.now(), owner_uuid=owner, category_uuid=category)
        new = NewLead(
            name=sub.xpm_lead_name,
            client_uuid=sub.xpm_client_uuid,
            owner_uuid=owner,
            description=describe(sub),
            contact_uuid=sub.xpm_contact_uuid or None,
            category_uuid=category or None,
        )
        lead = self._add_lead(client, new)
        self.save(xpm_lead_uuid=lead.uuid)

    def _add_lead(self, client: XpmClient, new: NewLead) -> XpmLead:
        """``lead.api/add``; a refusal XPM explains is corrected once where that is safe.

        A refusal means nothing was created, so sending a corrected request is not a blind
        retry. A stale contact or category is dropped (the lead matters more); a client the
        website CRM remembered but XPM no longer has is looked up again.
        """
        for _attempt in range(3):
            try:
                return client.add_lead(new)
            except XpmApiError as exc:
                text = (exc.description or exc.message or "").lower()
                if "contact" in text and new.contact_uuid:
                    self.note(_("Sent without the contact: XPM did not accept the stored one."))
                    self.save(xpm_contact_uuid="")
                    new = _replace(new, contact_uuid=None)
                elif "category" in text and new.category_uuid:
                    self.note(
                        _("Sent without a lead category: XPM no longer knows the one chosen.")
                    )
                    new = _replace(new, category_uuid=None)
                elif (
                    "client" in text
                    and self.sub.client_matched_by == LeadSubmission.MatchedBy.CRM
                    and not self._refound
                ):
                    self._refound = True
                    self.note(
                        _("The website's record of this person's XPM client was out of date.")
                    )
                    self.save(xpm_client_uuid="", xpm_contact_uuid="", client_matched_by="")
                    self.find_or_create_client(client, self.sub.connection)
                    new = _replace(
                        new,
                        client_uuid=self.sub.xpm_client_uuid,
                        contact_uuid=self.sub.xpm_contact_uuid or None,
                    )
                else:
                    raise
        return client.add_lead(new)

    def existing_lead(self, client: XpmClient) -> XpmLead | None:
        """The lead a lost ``lead.api/add`` answer may have created, if XPM has it."""
        sub = self.sub
        reference = reference_of(sub)
        taken = set(
            LeadSubmission.objects.exclude(pk=sub.pk)
            .exclude(xpm_lead_uuid="")
            .filter(xpm_client_uuid=sub.xpm_client_uuid)
            .values_list("xpm_lead_uuid", flat=True)
        )
        candidates = [
            lead
            for lead in client.current_leads()
            if lead.client is not None
            and lead.client.uuid.lower() == sub.xpm_client_uuid.lower()
            and (lead.name or "").strip() == sub.xpm_lead_name.strip()
            and lead.uuid not in taken
        ]
        for lead in candidates:
            if reference in (lead.description or ""):
                return lead
        # Some XPM lists leave descriptions out: then the name and client must do.
        blind = [lead for lead in candidates if lead.description is None]
        return blind[0] if blind else None

    def note(self, text: str) -> None:
        notes = f"{self.sub.notes}\n{text}".strip() if self.sub.notes else text
        self.save(notes=notes)


def _replace(new: NewLead, **changes: Any) -> NewLead:
    from dataclasses import replace

    return replace(new, **changes)


def _record_budget(connection: XpmConnection, client: XpmClient) -> None:
    remaining = client.day_remaining
    if remaining is not None:
        XpmConnection.objects.filter(pk=connection.pk).update(
            day_calls_remaining=remaining, day_calls_checked_at=timezone.now()
        )


# --- The lead's description -----------------------------------------------------------------


def reference_of(submission: LeadSubmission) -> str:
    """A marker in the lead's description tying it to this row (used to find lost leads)."""
    host = submission.site.hostname if submission.site_id and submission.site else "website"
    return f"Website reference: {host}-{submission.pk}"


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value).strip()


def describe(submission: LeadSubmission) -> str:
    """The lead's description: the message, every field, where it came from, the reference."""
    sub = submission
    lines: list[str] = []
    if sub.message:
        lines += [sub.message.strip(), ""]
    for label, value in (
        ("Name", sub.name),
        ("Email", sub.email),
        ("Phone", sub.phone),
        ("Company", sub.company),
    ):
        if value:
            lines.append(f"{label}: {value}")
    roles = sub.field_roles or {}
    labels = sub.field_labels or {}
    for name, value in (sub.form_data or {}).items():
        text = _display(value)
        if name in roles.values() or not text:
            continue
        lines.append(f"{labels.get(name) or name.replace('_', ' ').capitalize()}: {text}")
    if "consent" in roles:
        lines.append(f"Marketing consent: {'Yes' if sub.consent else 'No'}")
    lines.append("")
    if sub.form_title:
        lines.append(f"Form: {sub.form_title}")
    if sub.source_url:
        lines.append(f"Page: {sub.source_url}")
    when = timezone.localtime(sub.submit_time) if sub.submit_time else timezone.localtime()
    lines.append(f"Sent: {date_format(when, 'j M Y, H:i T')}")
    lines.append(reference_of(sub))
    return "\n".join(lines)


# --- After an attempt -----------------------------------------------------------------------


def backoff_seconds(attempts: int) -> float:
    base = float(get_setting("LEAD_RETRY_BASE_SECONDS"))
    cap = float(get_setting("LEAD_RETRY_MAX_SECONDS"))
    return min(base * 2 ** max(attempts - 1, 0), cap)


def retry(
    submission: LeadSubmission,
    message: str,
    *,
    minimum: float | None = None,
    code: str = "",
) -> Outcome:
    """A problem worth retrying: pending again with backoff, or failed after too many tries."""
    if submission.attempts >= int(get_setting("LEAD_MAX_ATTEMPTS")):
        return fail(
            submission,
            code or LeadSubmission.ERROR_UNREACHABLE,
            ngettext(
                "Gave up after %(attempts)s attempt. Last problem: %(problem)s",
                "Gave up after %(attempts)s attempts. Last problem: %(problem)s",
                submission.attempts,
            )
            % {"attempts": submission.attempts, "problem": message},
        )
    wait = max(backoff_seconds(submission.attempts), minimum or 0)
    return postpone(submission, message, wait, code=code)


def postpone(submission: LeadSubmission, message: str, wait: float, *, code: str = "") -> Outcome:
    submission.status = Status.PENDING
    submission.next_attempt_at = timezone.now() + timedelta(seconds=wait)
    submission.claimed_at = None
    submission.last_error = message
    submission.error_code = code
    submission.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "claimed_at",
            "last_error",
            "error_code",
            "updated_at",
        ]
    )
    logger.info("Lead submission %s will be retried in %.0fs", submission.pk, wait)
    return Outcome(Status.PENDING, retry_in=wait, message=message)


def fail(submission: LeadSubmission, code: str, message: str) -> Outcome:
    """A problem a person must fix: failed, with the reason, and the admins are told."""
    submission.status = Status.FAILED
    submission.claimed_at = None
    submission.next_attempt_at = None
    submission.last_error = message
    submission.error_code = code
    submission.save(
        update_fields=[
            "status",
            "claimed_at",
            "next_attempt_at",
            "last_error",
            "error_code",
            "updated_at",
        ]
    )
    logger.warning("Lead submission %s failed (%s)", submission.pk, code)
    if code in (LeadSubmission.ERROR_NO_OWNER, LeadSubmission.ERROR_NOT_CONNECTED):
        _notify_waiting(submission, code, message)
    else:
        notify(
            "lead_failed",
            submission=submission,
            reason=message,
            admin_url=admin_url(submission),
        )
    return Outcome(Status.FAILED, message=message)


def _notify_waiting(submission: LeadSubmission, code: str, message: str) -> None:
    """One "enquiries are waiting" notice per site and cause per hour, not one per enquiry."""
    from django.core.cache import cache

    key = f"wagtail_xpm:leads-waiting:{submission.site_id}:{code}"
    try:
        first = cache.add(key, 1, timeout=3600)
    except Exception:  # noqa: BLE001 - without a cache, tell every time rather than never
        first = True
    if not first:
        return
    count = LeadSubmission.objects.filter(
        site_id=submission.site_id, status=Status.FAILED, error_code=code
    ).count()
    notify(
        "leads_waiting",
        site=submission.site,
        reason=message,
        count=count,
        admin_url=admin_url(None),
    )


def admin_url(submission: LeadSubmission | None) -> str:
    """Absolute admin URL of a submission (or of the listing), when the base URL is known."""
    from django.urls import reverse

    from ..links import admin_base_url

    base = admin_base_url()
    if submission is None:
        path = reverse("wagtail_xpm_leadsubmission:index")
    else:
        path = reverse("wagtail_xpm_leadsubmission:inspect", args=[submission.pk])
    return f"{base}{path}" if base else path


# --- Re-queueing ----------------------------------------------------------------------------


def requeue(submission: LeadSubmission) -> bool:
    """Make a failed, spam or website-only row pending again (the admin's Retry)."""
    updated = LeadSubmission.objects.filter(
        pk=submission.pk, status__in=[Status.FAILED, Status.SPAM, Status.LOCAL, Status.PENDING]
    ).update(
        status=Status.PENDING,
        next_attempt_at=None,
        claimed_at=None,
        error_code="",
        attempts=0,
        updated_at=timezone.now(),
    )
    return bool(updated)


def mark_spam(submission: LeadSubmission, reason: str) -> bool:
    """File a row that was not sent yet as spam (a sent lead is already in XPM)."""
    updated = LeadSubmission.objects.filter(
        pk=submission.pk,
        status__in=[Status.PENDING, Status.FAILED, Status.LOCAL],
    ).update(
        status=Status.SPAM,
        spam_reason=reason[:255],
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    return bool(updated)


@dataclass
class SweepResult:
    requeued_stuck: list[int]
    due: list[int]
    healed: list[int]


def sweep(*, now: datetime | None = None, limit: int = 500) -> SweepResult:
    """Find what should be delivered now; the caller queues ``due`` (ids).

    * rows stuck in ``sending`` longer than ``LEAD_STUCK_SECONDS`` (their worker died) go
      back to pending;
    * pending rows whose time came (or fresh rows whose own task never ran);
    * failed rows whose cause a person has since fixed: a lead owner now chosen (or changed
      after XPM refused the old one), or the site connected again.
    """
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=float(get_setting("LEAD_STUCK_SECONDS")))
    stuck = list(
        LeadSubmission.objects.filter(
            status=Status.SENDING, claimed_at__lt=stuck_before
        ).values_list("pk", flat=True)[:limit]
    )
    if stuck:
        LeadSubmission.objects.filter(pk__in=stuck, status=Status.SENDING).update(
            status=Status.PENDING,
            next_attempt_at=now,
            claimed_at=None,
            last_error=_(
                "The delivery was interrupted (the background worker stopped); it is tried "
                "again, and nothing already created in XPM is created twice."
            ),
            updated_at=now,
        )
    healed = _healed(now, limit)
    due = list(
        LeadSubmission.objects.filter(status=Status.PENDING)
        .filter(
            Q(next_attempt_at__lte=now)
            | Q(next_attempt_at__isnull=True, submit_time__lte=now - FRESH_GRACE)
            | Q(pk__in=stuck + healed)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return SweepResult(requeued_stuck=stuck, due=due, healed=healed)


def _healed(now: datetime, limit: int) -> list[int]:
    failed = LeadSubmission.objects.filter(status=Status.FAILED, error_code__in=SELF_HEALING)
    healed: list[int] = []
    for row in failed.select_related("connection", "site")[:limit]:
        connection = row.connection or _site_connection(row)
        if not _cause_gone(row, connection):
            continue
        healed.append(row.pk)
    if healed:
        LeadSubmission.objects.filter(pk__in=healed, status=Status.FAILED).update(
            status=Status.PENDING, next_attempt_at=now, error_code="", updated_at=now
        )
    return healed


def _cause_gone(row: LeadSubmission, connection: XpmConnection | None) -> bool:
    code = row.error_code
    if code in (LeadSubmission.ERROR_NOT_CONNECTED, LeadSubmission.ERROR_CONNECTION):
        if connection is None or not connection.is_usable:
            return False
        # An auth refusal is only worth retrying after someone reconnected.
        if code == LeadSubmission.ERROR_CONNECTION:
            return bool(connection.connected_at and connection.connected_at > row.updated_at)
        return True
    site = row.site or (connection.site if connection else None)
    if site is None:
        return False
    owner = XpmSiteSettings.for_site(site).lead_owner_uuid
    if code == LeadSubmission.ERROR_NO_OWNER:
        return bool(owner)
    return bool(owner) and owner != row.owner_uuid


def waiting_for_owner(site_id: int) -> int:
    return LeadSubmission.objects.filter(
        site_id=site_id,
        status__in=[Status.FAILED, Status.PENDING],
        error_code=LeadSubmission.ERROR_NO_OWNER,
    ).count()


def owner_label(connection: XpmConnection | None, uuid: str) -> str:
    if not uuid:
        return ""
    staff = PracticeStaff.objects.filter(connection=connection, uuid__iexact=uuid).first()
    return str(staff) if staff else uuid
