"""Reading the XPM opt-out field during a sync (docs/privacy.md "Opt-outs shared with XPM").

XPM has no bulk read of contact custom fields: one ``GET client.api/contact/{uuid}/customfield``
per XPM contact (docs/xpm-api.md 5.8, 6.2). So the reads are paid from the custom-field
refresh share (freshness.py: ``CUSTOM_FIELD_REFRESH_SHARE`` of the daily calls, counted under
the ``opt_outs`` kind), after this run's own refresh of client values, and stop at the
leads' daily reserve. Only the records of people who can be emailed are read (someone
already unsubscribed cannot be unsubscribed again): those of clients this run saw change
first, then the least recently read, paced like the client values so that none is older
than ``CUSTOM_FIELD_MAX_AGE``.

A tick that appeared since the last read (or a first read that finds it ticked)
unsubscribes the person through the consent funnel, with an ``OPTED_OUT_XPM`` ledger row.
A tick removed in XPM subscribes nobody: only the person confirming can.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ..consent import status
from ..consent.xpm_optout import emailable_links, field_problem
from ..models import ConsentEvent, ContactClientLink, XpmConnection, XpmOptOutWrite
from ..xpm.client import XpmClient
from ..xpm.errors import (
    XpmApiError,
    XpmDailyLimitReached,
    XpmError,
    XpmNotFoundError,
    XpmRateLimited,
    XpmTransientError,
)
from ..xpm.ratelimit import is_pacing
from . import freshness

logger = logging.getLogger(__name__)

# The kind of SyncRun.usage these reads are counted under (freshness.SHARE_KINDS).
KIND = "opt_outs"
REPORT_SAMPLES = 20


@dataclass
class OptOutReport:
    """What the phase did, kept in ``SyncRun.report["opt_outs"]``."""

    due: int = 0
    read: int = 0
    ticked: int = 0
    unsubscribed: int = 0
    stopped: str = ""
    warning: str = ""
    errors: list[str] = field(default_factory=list)
    # Seconds until the minute budget allows more reads, when it paused them (sync steps).
    paused_for: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "due": self.due,
            "read": self.read,
            "ticked": self.ticked,
            "unsubscribed": self.unsubscribed,
        }
        for name in ("stopped", "warning"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.errors:
            data["errors"] = self.errors[:REPORT_SAMPLES]
        return data


def plan(
    connection: XpmConnection,
    *,
    changed: set[str],
    allowance: int,
    now: datetime,
    interval: timedelta,
    since: datetime | None = None,
) -> tuple[list[str], int]:
    """The XPM contact UUIDs to read this run, and how many were due.

    Records of clients this run saw change come first; then the oldest reads (never read
    first), as many as the pace needs; all within ``allowance``. Records read ``since``
    (this run's start: an earlier step of the run read them) are not first again.
    """
    age = freshness.max_age()
    last_read: dict[str, datetime | None] = {}
    touched: set[str] = set()
    rows = emailable_links(connection).values_list(
        "xpm_contact_id", "client__uuid", "opt_out_read_at"
    )
    for xpm_id, client_uuid, read_at in rows:
        key = xpm_id.strip().lower()
        if key in last_read:
            known = last_read[key]
            last_read[key] = None if known is None or read_at is None else min(known, read_at)
        else:
            last_read[key] = read_at
        if client_uuid in changed:
            touched.add(key)
    if since is not None:
        touched = {key for key in touched if last_read[key] is None or last_read[key] < since}
    first = sorted(touched, key=lambda key: (last_read[key] is not None, last_read[key] or now))
    rest = sorted(
        (key for key in last_read if key not in touched),
        key=lambda key: (last_read[key] is not None, last_read[key] or now, key),
    )
    # Never read counts as read a whole maximum age ago: due now.
    quota = freshness.paced_quota(
        [last_read[key] or now - age for key in rest], now=now, interval=interval, age=age
    )
    batch = first[:allowance]
    batch += rest[: max(0, min(quota, allowance - len(batch)))]
    return batch, len(first) + quota


def read(
    connection: XpmConnection,
    client: XpmClient,
    *,
    field_uuid: str,
    changed: Iterable[str],
    allowance: int,
    reserve: int,
    interval: timedelta,
    since: datetime | None = None,
) -> OptOutReport:
    """Read this run's share of opt-outs and unsubscribe the people newly ticked in XPM.

    Never raises an XPM error: whatever was not read is read by a later run.
    """
    report = OptOutReport()
    problem = field_problem(connection, field_uuid)
    if problem:
        report.warning = problem
        return report
    now = timezone.now()
    batch, report.due = plan(
        connection,
        changed=set(changed),
        allowance=max(0, allowance),
        now=now,
        interval=interval,
        since=since,
    )
    if report.due > len(batch) and not report.stopped:
        report.stopped = "share"
    wanted = field_uuid.strip().lower()
    for xpm_id in batch:
        remaining = client.day_remaining
        if remaining is not None and remaining <= reserve:
            report.stopped = "budget"
            break
        try:
            values = client.contact_custom_fields(xpm_id)
        except XpmDailyLimitReached:
            report.stopped = "budget"
            break
        except (XpmRateLimited, XpmTransientError) as exc:
            if is_pacing(exc):
                # Our limiter would not wait for the minute budget: the sync's next step
                # reads on (wagtail_xpm/sync/steps.py).
                report.paused_for = exc.retry_after or 1.0
                break
            # The client already retried: XPM is unavailable for now; a later run reads on.
            report.stopped = "unavailable"
            report.errors.append(_note(xpm_id, exc))
            break
        except XpmNotFoundError as exc:
            # Deleted in XPM meanwhile: read as unticked, so it goes to the back.
            report.errors.append(_note(xpm_id, exc))
            values = []
        except XpmApiError as exc:
            report.errors.append(_note(xpm_id, exc))
            continue
        except XpmError as exc:
            report.stopped = "error"
            report.errors.append(_note(xpm_id, exc))
            break
        report.read += 1
        ticked = any(v.uuid.strip().lower() == wanted and v.value is True for v in values)
        report.ticked += ticked
        report.unsubscribed += apply(connection, xpm_id, ticked, field_uuid=field_uuid)
    return report


def _note(xpm_id: str, exc: XpmError) -> str:
    return _("Opt-out of XPM contact %(contact)s: %(error)s") % {"contact": xpm_id, "error": exc}


def apply(connection: XpmConnection, xpm_id: str, ticked: bool, *, field_uuid: str) -> int:
    """Store one read on the contact's links; a new tick unsubscribes them. Returns the
    number of people unsubscribed."""
    links = ContactClientLink.objects.filter(
        client__connection=connection, xpm_contact_id__iexact=xpm_id
    )
    was_ticked = links.filter(xpm_opted_out=True).exists()
    contact_ids = set(links.values_list("contact_id", flat=True))
    links.update(xpm_opted_out=ticked, opt_out_read_at=timezone.now())
    if not ticked or was_ticked:
        return 0
    # The person re-subscribed (confirmed) and the untick is still on its way to XPM.
    if XpmOptOutWrite.objects.filter(
        connection=connection,
        xpm_contact_id__iexact=xpm_id,
        opted_out=False,
        status__in=[XpmOptOutWrite.Status.PENDING, XpmOptOutWrite.Status.SENDING],
    ).exists():
        return 0
    unsubscribed = 0
    for contact in connection.contacts.filter(pk__in=contact_ids, subscribed=True):
        # The consent funnel: the status, an OPTED_OUT_XPM ledger row, and the writes to the
        # person's other XPM records, in one transaction.
        unsubscribed += status.unsubscribe(
            contact,
            ConsentEvent.Action.OPTED_OUT_XPM,
            ConsentEvent.Actor.SYNC,
            detail={"xpm_contact_id": xpm_id, "field": field_uuid},
        )
    return unsubscribed
