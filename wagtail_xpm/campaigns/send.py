"""Sending a campaign: in batches, through Django's email backend, at most once per person.

Delivery semantics: **at most once**. An email cannot be taken back, and a second copy of a
newsletter is worse than a missing one, so nothing that may already have gone out is ever
sent again:

1. One sender at a time holds the campaign (a lease: ``sender_token`` plus a heartbeat; a
   worker that stops beating for ``CAMPAIGN_STALE_AFTER`` seconds is taken over).
2. A batch of ``pending`` rows is claimed in one committed UPDATE (``claimed``, with a claim
   token that records the sender's ``CAMPAIGN_MARK_EVERY``) before any message goes out.
3. Messages go out in primary-key order; outcomes (``sent``/``failed``) are committed every
   ``CAMPAIGN_MARK_EVERY`` messages and at the end of the batch.
4. After a crash, the claimed rows of the dead sender that have no outcome are, in key
   order, first the ones that may have been sent since its last commit (at most
   ``MARK_EVERY``): they are marked failed with reason "interrupted" and never re-sent; the
   rest were never attempted and go back to ``pending``. A worker stopped politely
   (SystemExit, KeyboardInterrupt) records exactly which message was in flight instead.

So a crash can cost at most ``MARK_EVERY`` people their copy (shown in the admin as
"Interrupted while sending"), never give anyone two. ``MARK_EVERY = 1`` makes that one
person at the price of a database commit per message.

When the mail server or ESP cannot be used (refused, timed out, TLS, login, an API key
refused, 429/5xx; see :mod:`wagtail_xpm.mailfaults`), the send stops at once: the campaign is
``paused`` with the reason in words, every recipient not reached goes back to ``pending``
(an email that may have been accepted before the failure is marked interrupted, never
re-sent), and administrators are told (``campaign_paused`` in
:mod:`wagtail_xpm.notifications`). Resume carries on with the ``pending`` rows.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import audit, background, mailer, mailfaults, notifications, privacy
from ..conf import get_setting
from ..models import Campaign, CampaignRecipient, EmailSuppression
from ..segments.compile import segment_queryset
from . import unsubscribe
from .render import (
    CampaignRenderer,
    RenderedEmail,
    build_message,
    contact_values,
    merge_fields,
    merge_tag,
    unknown_merge_tags,
    values_for_contact,
)
from .snapshot import SUPPRESSED_AS, lock_campaign, refresh_counts, take_snapshot

logger = logging.getLogger(__name__)

Status = Campaign.Status
Row = CampaignRecipient.Status
# What a send records about each recipient (Sender.flush).
OUTCOME_FIELDS = ("status", "reason", "error", "sent_at", "message_id")
Reason = CampaignRecipient.Reason


class CampaignNotReady(ValueError):
    """The campaign cannot be sent as it is; ``problems`` says why, for people."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))


class EmailNotSent(Exception):
    """A single email (a test) was not sent; ``reason`` says why, for people."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# --- checks and state changes (admin, CLI) --------------------------------------------------


def problems(campaign: Campaign) -> list[str]:
    """What stops the campaign from being sent (empty when it is ready)."""
    found = []
    if campaign.segment_id is None:
        found.append(_("Choose the segment to send to."))
    elif campaign.segment.connection_id != campaign.connection_id:
        found.append(_("The segment belongs to another site's practice."))
    if not (campaign.subject or "").strip():
        found.append(_("Write a subject."))
    if not strip_tags(campaign.body or "").strip():
        found.append(_("Write the email."))
    fields = merge_fields(campaign.connection)
    unknown = unknown_merge_tags(f"{campaign.subject} {campaign.body}", fields)
    if unknown:
        found.append(
            _("Unknown merge fields: %(tags)s.")
            % {"tags": ", ".join(merge_tag(key) for key in unknown)}
        )
    return found


def _audit_send(campaign: Campaign) -> None:
    """Wagtail's audit log: the send started (its recipient list just frozen), by the user
    who pressed Send or scheduled it, to how many people."""
    frozen = Campaign.objects.select_related("sent_by").get(pk=campaign.pk)
    audit.record(
        frozen,
        audit.CAMPAIGN_SEND,
        frozen.sent_by,
        what=frozen.name,
        rows=frozen.to_send,
        excluded=frozen.excluded_count,
    )


def _enqueue(campaign_id: int) -> None:
    background.enqueue_on_commit("send_campaign", campaign_id)


def start(campaign: Campaign, *, user: Any = None) -> Campaign:
    """Queue the campaign for sending now (the recipient list is frozen when it starts)."""
    found = problems(campaign)
    if found:
        raise CampaignNotReady(found)
    with transaction.atomic():
        lock_campaign(campaign.pk)
        locked = Campaign.objects.get(pk=campaign.pk)
        if not locked.is_editable:
            raise CampaignNotReady([_("This campaign was already sent or is being sent.")])
        locked.status = Status.QUEUED
        locked.sent_by = user if user is not None and getattr(user, "pk", None) else None
        locked.message = ""
        locked.save(update_fields=["status", "sent_by", "message", "updated_at"])
        _enqueue(locked.pk)
    return locked


def schedule(campaign: Campaign, when: datetime, *, user: Any = None) -> Campaign:
    """Send at ``when`` (a periodic task starts due campaigns every minute)."""
    found = problems(campaign)
    if found:
        raise CampaignNotReady(found)
    if when <= timezone.now():
        raise CampaignNotReady([_("Choose a time in the future.")])
    updated = Campaign.objects.filter(
        pk=campaign.pk, status__in=[Status.DRAFT, Status.SCHEDULED]
    ).update(
        status=Status.SCHEDULED,
        scheduled_at=when,
        sent_by=user if user is not None and getattr(user, "pk", None) else None,
        updated_at=timezone.now(),
    )
    if not updated:
        raise CampaignNotReady([_("This campaign was already sent or is being sent.")])
    campaign.refresh_from_db()
    return campaign


def unschedule(campaign: Campaign) -> bool:
    return bool(
        Campaign.objects.filter(pk=campaign.pk, status=Status.SCHEDULED).update(
            status=Status.DRAFT, scheduled_at=None, updated_at=timezone.now()
        )
    )


def cancel(campaign: Campaign) -> bool:
    """Stop a queued or sending campaign; recipients not reached yet are left out."""
    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign.pk, status__in=[Status.QUEUED, Status.SENDING, Status.SCHEDULED]
        ).update(status=Status.CANCELLED, finished_at=timezone.now(), updated_at=timezone.now())
        if changed:
            CampaignRecipient.objects.filter(campaign=campaign, status=Row.PENDING).update(
                status=Row.EXCLUDED, reason=Reason.CANCELLED
            )
    if changed:
        refresh_counts(campaign)
    return bool(changed)


def resume(campaign: Campaign) -> bool:
    """Carry on with a send that stopped on errors (the rows still waiting)."""
    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign.pk, status__in=[Status.PAUSED, Status.FAILED], snapshot_at__isnull=False
        ).update(status=Status.QUEUED, sender_token="", message="", updated_at=timezone.now())
        if changed:
            _enqueue(campaign.pk)
    return bool(changed)


def due_campaign_ids(now: datetime | None = None) -> list[int]:
    """Scheduled campaigns whose time has come, queued; plus sends whose worker vanished."""
    now = now or timezone.now()
    started = []
    for campaign in Campaign.objects.filter(status=Status.SCHEDULED, scheduled_at__lte=now):
        if problems(campaign):
            Campaign.objects.filter(pk=campaign.pk, status=Status.SCHEDULED).update(
                status=Status.FAILED, message=" ".join(problems(campaign))
            )
            continue
        if Campaign.objects.filter(pk=campaign.pk, status=Status.SCHEDULED).update(
            status=Status.QUEUED, updated_at=now
        ):
            started.append(campaign.pk)
    stale = now - timedelta(seconds=get_setting("CAMPAIGN_STALE_AFTER"))
    # Huey does not redeliver a task whose worker died: pick such sends up again.
    stalled = Campaign.objects.filter(
        Q(status=Status.SENDING, heartbeat_at__lt=stale)
        | Q(status=Status.QUEUED, updated_at__lt=stale)
    ).values_list("pk", flat=True)
    return [*started, *stalled]


# --- test sends -----------------------------------------------------------------------------


def sample_member(campaign: Campaign) -> Any:
    """The member whose details a preview or a test shows: the first with an email."""
    if not campaign.segment_id:
        return None
    return segment_queryset(campaign.segment).exclude(email="").order_by("pk").first()


def placeholder_values(campaign: Campaign) -> dict[str, str]:
    """Every merge field as its label in brackets ("[First name]"): nobody's real data."""
    return {key: f"[{label}]" for key, label in merge_fields(campaign.connection).items()}


def sample_values(
    campaign: Campaign, *, real: bool = True, masked: Iterable[str] = ()
) -> dict[str, str]:
    """Merge values for a preview or a test: the first member's when ``real`` (for people who
    may see contacts) and there is one, else placeholders. The ``masked`` merge fields (tax
    numbers the user may not see: docs/privacy.md) keep their last characters only."""
    contact = sample_member(campaign) if real else None
    if contact is not None:
        return privacy.masked_data(values_for_contact(contact), masked)
    return placeholder_values(campaign)


def preview(campaign: Campaign, *, real: bool = True, masked: Iterable[str] = ()) -> RenderedEmail:
    """The email as a recipient sees it (``sample_values``), with an inert unsubscribe link."""
    renderer = CampaignRenderer(campaign)
    link = unsubscribe.unsubscribe_url(renderer.base_url, unsubscribe.make_test_token(campaign.pk))
    return renderer.render(sample_values(campaign, real=real, masked=masked), link)


def send_test(
    campaign: Campaign, to: str, *, real: bool = True, masked: Iterable[str] = ()
) -> None:
    """Send the campaign to one address now, marked [Test]; its unsubscribe link is inert.
    ``real``: with the first member's details (else placeholders), ``masked`` as in
    ``sample_values``."""
    renderer = CampaignRenderer(campaign)
    link = unsubscribe.unsubscribe_url(renderer.base_url, unsubscribe.make_test_token(campaign.pk))
    rendered = renderer.render(sample_values(campaign, real=real, masked=masked), link)
    rendered = type(rendered)(
        subject=_("[Test] %(subject)s") % {"subject": rendered.subject},
        html=rendered.html,
        text=rendered.text,
    )
    message = build_message(rendered, to=to, from_email=campaign.from_email, unsubscribe_url=link)
    backend = None
    try:
        backend = mailer.open_backend()
        sent = backend.send_messages([message])
    except Exception as exc:  # noqa: BLE001  (worded for the editor below)
        logger.warning("Test email for campaign %s failed: %s", campaign.pk, type(exc).__name__)
        raise EmailNotSent(mailfaults.describe(exc, backend=backend).reason) from exc
    if not sent:
        raise EmailNotSent(_("The site's email backend reported that nothing was sent."))
    Campaign.objects.filter(pk=campaign.pk).update(test_sent_at=timezone.now())


# --- the sender -----------------------------------------------------------------------------


def _claim_token(sender_token: str, mark_every: int) -> str:
    # The dead sender's MARK_EVERY travels with its claims: recovery needs it.
    return f"{sender_token[:24]}-{mark_every}"


def _window(claim_token: str) -> int:
    try:
        return max(1, int(claim_token.rsplit("-", 1)[1]))
    except (IndexError, ValueError):
        return 1_000_000  # unknown: assume every claimed row may have gone out


class Sender:
    """Sends one campaign to completion (or until cancelled, paused or interrupted).

    ``after_batch`` is called after each batch (the benchmark empties the locmem outbox
    there); ``email_connection`` overrides Django's default email backend connection.
    """

    def __init__(
        self,
        campaign_id: int,
        *,
        batch_size: int | None = None,
        mark_every: int | None = None,
        email_connection: Any = None,
        after_batch: Callable[[Campaign], None] | None = None,
    ) -> None:
        self.campaign_id = campaign_id
        self.batch_size = max(1, batch_size or get_setting("CAMPAIGN_BATCH_SIZE"))
        self.mark_every = max(1, mark_every or get_setting("CAMPAIGN_MARK_EVERY"))
        self.email_connection = email_connection
        self.after_batch = after_batch
        self.token = uuid.uuid4().hex
        self.claim = _claim_token(self.token, self.mark_every)
        self.max_failures = get_setting("CAMPAIGN_MAX_CONSECUTIVE_FAILURES")
        self.consecutive_failures = 0
        self.outcomes: list[CampaignRecipient] = []

    # -- lease -------------------------------------------------------------------------------

    def acquire(self) -> bool:
        now = timezone.now()
        stale = now - timedelta(seconds=get_setting("CAMPAIGN_STALE_AFTER"))
        return bool(
            Campaign.objects.filter(pk=self.campaign_id, status__in=[Status.QUEUED, Status.SENDING])
            .filter(Q(sender_token="") | Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale))
            .update(
                status=Status.SENDING,
                sender_token=self.token,
                heartbeat_at=now,
                started_at=Coalesce(F("started_at"), Value(now)),
                updated_at=now,
            )
        )

    def holding(self) -> Campaign | None:
        """The campaign while this sender still holds it and it is still sending."""
        campaign = Campaign.objects.filter(pk=self.campaign_id).first()
        if campaign is None or campaign.sender_token != self.token:
            return None
        return campaign if campaign.status == Status.SENDING else None

    def beat(self) -> None:
        Campaign.objects.filter(pk=self.campaign_id, sender_token=self.token).update(
            heartbeat_at=timezone.now()
        )

    def release(self, **fields: Any) -> None:
        Campaign.objects.filter(pk=self.campaign_id, sender_token=self.token).update(
            sender_token="", updated_at=timezone.now(), **fields
        )

    # -- recovery ----------------------------------------------------------------------------

    def recover(self, campaign: Campaign) -> int:
        """Settle rows claimed by senders that died; returns how many were interrupted."""
        dead = (
            CampaignRecipient.objects.filter(campaign=campaign, status=Row.CLAIMED)
            .exclude(claim_token=self.claim)
            .order_by()
            .values_list("claim_token", flat=True)
            .distinct()
        )
        interrupted = 0
        for claim in list(dead):
            pks = list(
                CampaignRecipient.objects.filter(
                    campaign=campaign, status=Row.CLAIMED, claim_token=claim
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            maybe_sent, untouched = pks[: _window(claim)], pks[_window(claim) :]
            with transaction.atomic():
                interrupted += CampaignRecipient.objects.filter(pk__in=maybe_sent).update(
                    status=Row.FAILED,
                    reason=Reason.INTERRUPTED,
                    error=_("The sender stopped while this email may have been going out."),
                )
                CampaignRecipient.objects.filter(pk__in=untouched).update(
                    status=Row.PENDING, claim_token="", claimed_at=None
                )
        if interrupted:
            logger.warning(
                "Campaign %s: %d recipients left unsure by an interrupted sender were not "
                "sent again",
                campaign.pk,
                interrupted,
            )
        return interrupted

    # -- sending -----------------------------------------------------------------------------

    def run(self) -> Campaign:
        if not self.acquire():
            # Finished, cancelled, or another worker is sending it: nothing to do here.
            return Campaign.objects.get(pk=self.campaign_id)
        campaign = Campaign.objects.select_related("connection__site", "segment").get(
            pk=self.campaign_id
        )
        try:
            started = take_snapshot(campaign)
        except ValueError as exc:
            self.release(status=Status.FAILED, message=str(exc), finished_at=timezone.now())
            return Campaign.objects.get(pk=self.campaign_id)
        if started:
            _audit_send(campaign)
        self.recover(campaign)
        renderer = CampaignRenderer(campaign)
        while True:
            current = self.holding()
            if current is None:
                break  # cancelled, or taken over after we looked stale
            rows = self.claim_batch(campaign)
            if rows is None:
                break
            paused = self.send_batch(campaign, renderer, rows)
            refresh_counts(campaign)
            self.beat()
            if self.after_batch is not None:
                self.after_batch(campaign)
            if paused:
                return Campaign.objects.get(pk=self.campaign_id)
        return self.finish(campaign)

    def claim_batch(self, campaign: Campaign) -> list[CampaignRecipient] | None:
        pks = list(
            CampaignRecipient.objects.filter(campaign=campaign, status=Row.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)[: self.batch_size]
        )
        if not pks:
            return None
        # Someone who unsubscribed after the list was frozen is not sent it, nor an address
        # that bounced or complained meanwhile (an ESP's tracking webhook) or was erased on
        # request (docs/privacy.md).
        CampaignRecipient.objects.filter(
            pk__in=pks, status=Row.PENDING, contact__subscribed=False
        ).update(status=Row.EXCLUDED, reason=Reason.UNSUBSCRIBED)
        for suppression, reason in SUPPRESSED_AS.items():
            CampaignRecipient.objects.filter(
                pk__in=pks,
                status=Row.PENDING,
                email__in=EmailSuppression.objects.filter(reason=suppression).values("email_key"),
            ).update(status=Row.EXCLUDED, reason=reason)
        CampaignRecipient.objects.filter(pk__in=pks, status=Row.PENDING).update(
            status=Row.CLAIMED, claim_token=self.claim, claimed_at=timezone.now()
        )
        return list(
            CampaignRecipient.objects.filter(pk__in=pks, status=Row.CLAIMED, claim_token=self.claim)
            .select_related("contact")
            .order_by("pk")
        )

    def send_batch(
        self, campaign: Campaign, renderer: CampaignRenderer, rows: list[CampaignRecipient]
    ) -> bool:
        """Send one claimed batch; True when the send stopped (mail server problem, or too
        many refusals in a row)."""
        connection = self.email_connection
        in_flight: CampaignRecipient | None = None
        done = 0
        try:
            try:
                if connection is None:
                    connection = mailer.open_backend()
                connection.open()
            except Exception as exc:  # noqa: BLE001  (nothing was sent: stop, keep everyone)
                fault = mailfaults.describe(exc, backend=connection, sending=False)
                logger.warning(
                    "Campaign %s: the mail server could not be used: %s",
                    campaign.pk,
                    type(exc).__name__,
                )
                self.unclaim(rows)
                self.stop(campaign, fault.reason)
                return True
            for row in rows:
                in_flight = row
                fault = self.send_one(campaign, renderer, connection, row)
                in_flight = None
                done += 1
                if fault is not None and fault.stops_sending:
                    if fault.maybe_sent:
                        # It may have been accepted: at most once, so it is not sent again.
                        row.status, row.reason = Row.FAILED, Reason.INTERRUPTED
                        row.error = fault.reason
                        self.outcomes.append(row)
                        unsent = rows[done:]
                    else:
                        unsent = rows[done - 1 :]
                    self.flush()
                    self.unclaim(unsent)
                    self.stop(campaign, fault.reason)
                    return True
                if len(self.outcomes) >= self.mark_every:
                    self.flush()
                if self.max_failures and self.consecutive_failures >= self.max_failures:
                    self.flush()
                    self.unclaim(rows[done:])
                    self.stop(
                        campaign,
                        _(
                            "%(n)d emails in a row were refused (the last: %(error)s) Check the "
                            "email settings and the campaign's From address."
                        )
                        % {"n": self.consecutive_failures, "error": rows[done - 1].error},
                    )
                    return True
            self.flush()
            return False
        except BaseException:
            # A worker being stopped (or a database error): record what is known, exactly.
            self.flush_quietly()
            if in_flight is not None:
                self.mark_quietly(in_flight)
                self.unclaim(rows[done + 1 :], quietly=True)
            else:
                self.unclaim(rows[done:], quietly=True)
            self.release_quietly()
            raise
        finally:
            try:
                if connection is not None:
                    connection.close()
            except Exception:  # noqa: BLE001  (closing must not hide the real outcome)
                logger.warning("Closing the email connection failed", exc_info=True)

    def stop(self, campaign: Campaign, reason: str) -> None:
        """Pause the send with ``reason`` (words for an editor) and tell administrators."""
        waiting = CampaignRecipient.objects.filter(
            campaign=campaign, status__in=[Row.PENDING, Row.CLAIMED]
        ).count()
        message = _(
            "%(reason)s Nothing is lost: %(waiting)s not sent yet will be sent when you "
            "resume, and nobody gets it twice."
        ) % {"reason": reason, "waiting": _people(waiting)}
        stopped = Campaign.objects.filter(
            pk=self.campaign_id, sender_token=self.token, status=Status.SENDING
        ).update(sender_token="", status=Status.PAUSED, message=message, updated_at=timezone.now())
        if not stopped:  # cancelled meanwhile: that decision stands
            self.release()
            return
        refresh_counts(campaign)
        notifications.notify(
            "campaign_paused",
            campaign=campaign,
            reason=reason,
            waiting=waiting,
            admin_url=notifications.absolute_admin_url("wagtail_xpm_campaigns:send", campaign.pk),
        )

    def send_one(
        self,
        campaign: Campaign,
        renderer: CampaignRenderer,
        connection: Any,
        row: CampaignRecipient,
    ) -> mailfaults.MailFault | None:
        """Send one email; its outcome goes to ``self.outcomes`` unless the fault (returned)
        stops the whole send."""
        contact = row.contact
        try:
            if contact is not None:
                values = values_for_contact(contact)
                values["email"] = row.email
            else:
                values = contact_values(name=row.name, email=row.email)
            token = unsubscribe.make_token(row.contact_id or 0, campaign.pk)
            link = unsubscribe.unsubscribe_url(renderer.base_url, token)
            message = build_message(
                renderer.render(values, link),
                to=row.email,
                from_email=campaign.from_email,
                unsubscribe_url=link,
                campaign_id=campaign.pk,
            )
            connection.send_messages([message])
        except Exception as exc:  # noqa: BLE001  (an email server's refusal: record it)
            fault = mailfaults.describe(exc, backend=connection)
            logger.warning("Campaign %s: an email was refused: %s", campaign.pk, type(exc).__name__)
            if fault.stops_sending:
                return fault
            self.consecutive_failures += 1
            row.status, row.reason = Row.FAILED, Reason.SEND_ERROR
            row.error = fault.reason[:1000]
            self.outcomes.append(row)
            return fault
        else:
            self.consecutive_failures = 0
            row.status, row.sent_at = Row.SENT, timezone.now()
            status = getattr(message, "anymail_status", None)
            row.message_id = str(getattr(status, "message_id", "") or "")[:255]
        self.outcomes.append(row)
        return None

    def flush(self) -> None:
        """Commit the recorded outcomes: one prepared UPDATE run for every row
        (``executemany``); ``bulk_update``'s CASE expressions cost more than the sending."""
        if not self.outcomes:
            return
        db = connections[CampaignRecipient.objects.db]
        fields = [CampaignRecipient._meta.get_field(name) for name in OUTCOME_FIELDS]
        pk = CampaignRecipient._meta.pk
        quote = db.ops.quote_name
        # Only the model's own table and column names go into the SQL; values are parameters.
        sql = (
            f"UPDATE {quote(CampaignRecipient._meta.db_table)} SET "  # noqa: S608
            + ", ".join(f"{quote(field.column)} = %s" for field in fields)
            + f" WHERE {quote(pk.column)} = %s"
        )
        params = [
            [field.get_db_prep_save(getattr(row, field.attname), db) for field in fields] + [row.pk]
            for row in self.outcomes
        ]
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            cursor.executemany(sql, params)
        self.outcomes = []

    def flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # noqa: BLE001
            logger.exception("Could not record campaign outcomes; recovery will settle them")

    def mark_quietly(self, row: CampaignRecipient) -> None:
        try:
            CampaignRecipient.objects.filter(pk=row.pk, status=Row.CLAIMED).update(
                status=Row.FAILED,
                reason=Reason.INTERRUPTED,
                error=_("The sender stopped while this email was going out."),
            )
        except Exception:  # noqa: BLE001
            logger.exception("Could not record the interrupted email")

    def unclaim(self, rows: list[CampaignRecipient], *, quietly: bool = False) -> None:
        try:
            CampaignRecipient.objects.filter(
                pk__in=[r.pk for r in rows], status=Row.CLAIMED, claim_token=self.claim
            ).update(status=Row.PENDING, claim_token="", claimed_at=None)
        except Exception:
            if not quietly:
                raise
            logger.exception("Could not release unsent claimed recipients")

    def release_quietly(self) -> None:
        try:
            self.release()
        except Exception:  # noqa: BLE001
            logger.exception("Could not release the campaign")

    def finish(self, campaign: Campaign) -> Campaign:
        refresh_counts(campaign)
        remaining = CampaignRecipient.objects.filter(
            campaign=campaign, status__in=[Row.PENDING, Row.CLAIMED]
        ).exists()
        current = Campaign.objects.get(pk=self.campaign_id)
        if current.sender_token == self.token and current.status == Status.SENDING:
            if remaining:
                self.release()
            else:
                self.release(
                    status=Status.SENT, finished_at=timezone.now(), message=summary(campaign)
                )
        elif current.sender_token == self.token:
            self.release()
        return Campaign.objects.get(pk=self.campaign_id)


def _people(n: int) -> str:
    return ngettext("%(n)s person", "%(n)s people", n) % {"n": f"{n:,}"}


def summary(campaign: Campaign) -> str:
    parts = [_("%(n)d sent") % {"n": campaign.sent_count}]
    if campaign.failed_count:
        parts.append(_("%(n)d failed") % {"n": campaign.failed_count})
    if campaign.excluded_count:
        parts.append(_("%(n)d left out") % {"n": campaign.excluded_count})
    return ", ".join(parts) + "."


def run_campaign(campaign_id: int, **options: Any) -> Campaign:
    """Send (or carry on sending) one campaign; safe to call twice (the lease decides)."""
    return Sender(campaign_id, **options).run()
