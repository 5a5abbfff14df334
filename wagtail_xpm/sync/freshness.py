"""Custom fields that stay fresh, inside the budget.

XPM does not mark a client changed when only one of its custom fields changes, so reading
custom fields for changed clients alone would leave a Plan Level moved from Silver to Gold
stale for ever. Each sync therefore also re-reads some clients' custom fields (the rolling
refresh) so that no mapped value is older than ``CUSTOM_FIELD_MAX_AGE``:

* only the reads that matter come first: clients with a contact who can be emailed (an
  address, and an active client), or, when a saved segment has a rule on a custom field,
  every client with a contact (``priority_clients``); the other active clients with the
  budget left over; archived and deleted clients not at all, unless a segment with a rule
  on a custom field also names ``is_archived`` (``Needs``);
* the refresh is paced: each run reads, oldest first, the fewest clients that still meets
  every value's deadline if later runs keep the same pace (``paced_quota``), so a week's
  reads spread over the week's runs instead of all falling due at once;
* it uses at most ``CUSTOM_FIELD_REFRESH_SHARE`` of ``DAILY_CALL_LIMIT`` over any 24 hours
  (``refresh_allowance``), and never the leads' reserve (the engine stops there).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from ..conf import get_setting
from ..models import ContactClientLink, FieldMapping, PracticeClient, Segment, SyncRun
from ..segments.rules import iter_rules

DAY = timedelta(days=1)
# The kinds of SyncRun.usage paid from the refresh share: client values re-read, and the
# contacts' XPM opt-outs (optouts.py).
SHARE_KINDS = ("custom_refresh", "opt_outs")


def max_age() -> timedelta:
    return get_setting("CUSTOM_FIELD_MAX_AGE")


def daily_share() -> int:
    """Calls a day the refresh may use: the share of XPM's daily allowance."""
    return int(get_setting("CUSTOM_FIELD_REFRESH_SHARE") * get_setting("DAILY_CALL_LIMIT"))


@dataclass(frozen=True)
class Needs:
    """What the saved segments need beyond the clients someone can be emailed at."""

    # A segment has a rule on a mapped custom field: its members include contacts without
    # an address, so every client with a contact counts.
    any_contact: bool = False
    # ...and it names is_archived: archived (and deleted) clients' values count too.
    archived: bool = False


def custom_keys(connection) -> set[str]:
    """The keys of the practice's mapped custom fields."""
    return set(
        FieldMapping.objects.filter(
            connection=connection, source__startswith="custom:"
        ).values_list("key", flat=True)
    )


def segment_needs(connection, *, keys: set[str] | None = None) -> Needs:
    """``keys``: the mapped custom fields' (``custom_keys``), when the caller read them."""
    keys = custom_keys(connection) if keys is None else keys
    needs = Needs()
    if not keys:
        return needs
    for rules in Segment.objects.filter(connection=connection).values_list("rules", flat=True):
        fields = {rule.get("field") for rule in iter_rules(rules)}
        if fields & keys:
            needs = Needs(any_contact=True, archived=needs.archived or "is_archived" in fields)
    return needs


def segments_use_custom_fields(connection) -> bool:
    """Whether a saved segment has a rule on a mapped custom field."""
    return segment_needs(connection).any_contact


def priority_clients(connection, *, seen: Iterable = (), needs: Needs | None = None) -> set[str]:
    """UUIDs of the clients whose custom fields matter first.

    An active client with a contact who can be emailed (has an address); with a segment
    rule on a custom field, an active client with any contact. ``seen`` are the clients
    this run read from XPM (``SeenClient``): their own contacts and flags decide for them,
    since the database may not know them yet (a first sync).
    """
    needs = needs if needs is not None else segment_needs(connection)
    links = ContactClientLink.objects.filter(
        client__connection=connection,
        client__is_archived=False,
        client__is_deleted=False,
        client__is_missing=False,
    )
    if not needs.any_contact:
        links = links.exclude(contact__email_key="")
    wanted = set(links.values_list("client__uuid", flat=True).distinct())
    for client in seen:
        active = not (client.is_archived or client.is_deleted)
        reachable = any(needs.any_contact or c.email for c in client.contacts)
        if active and reachable:
            wanted.add(client.uuid)
        else:
            wanted.discard(client.uuid)
    return wanted


def inactive_clients(connection, *, seen: Iterable = ()) -> set[str]:
    """UUIDs of archived, deleted and missing clients (as this run saw them, else as known):
    their contacts are archived, so their values matter only to a segment naming
    ``is_archived``."""
    inactive = set(
        PracticeClient.objects.filter(connection=connection)
        .filter(Q(is_archived=True) | Q(is_deleted=True) | Q(is_missing=True))
        .values_list("uuid", flat=True)
    )
    for client in seen:
        if client.is_archived or client.is_deleted:
            inactive.add(client.uuid)
        else:
            inactive.discard(client.uuid)
    return inactive


def refresh_margin(interval: timedelta, age: timedelta) -> timedelta:
    """How much sooner than the maximum age a value is re-read: a run may come a little
    late (the scheduler looks every five minutes), and the value keeps ageing until then."""
    return min(interval + timedelta(minutes=10), age / 4)


def paced_quota(
    fetched: Sequence[datetime], *, now: datetime, interval: timedelta, age: timedelta
) -> int:
    """How many of the oldest values this run should re-read.

    Each value must be read again before ``fetched + age - margin`` (its deadline). Every
    value due before the next run is read now; beyond that, the run reads the steady
    number per run that would meet the later deadlines if every later run read as many
    (oldest first): the largest over k of (values due within k runs) / k, rounded down
    (a practice of 25 clients reads them as they fall due, not one a run). Reads for
    changed clients reset a value early and so lower the pace.
    """
    if not fetched:
        return 0
    interval = max(interval, timedelta(minutes=1))
    window = age - refresh_margin(interval, age)
    deadlines = sorted(when + window for when in fetched)
    runs = max(1, math.ceil(window / interval))
    quota = bisect_right(deadlines, now + interval)
    for k in range(2, runs + 1):
        due = bisect_right(deadlines, now + k * interval)
        quota = max(quota, due // k)
        if due == len(deadlines):
            break
    return quota


@dataclass(frozen=True)
class RefreshPlan:
    """The clients this run should re-read, oldest first, and how many it should."""

    candidates: list[str]
    quota: int


def refresh_plan(
    connection,
    *,
    priority: set[str],
    exclude: Iterable[str],
    now: datetime,
    interval: timedelta,
    age: timedelta | None = None,
) -> RefreshPlan:
    """The priority clients read before, oldest first, with the paced quota for this run.

    ``exclude`` are clients this run reads anyway (changed, or owed a first read).
    """
    age = age or max_age()
    excluded = set(exclude)
    rows = (
        PracticeClient.objects.filter(
            connection=connection,
            custom_fields_fetched_at__isnull=False,
            is_archived=False,
            is_deleted=False,
            is_missing=False,
        )
        .order_by("custom_fields_fetched_at", "pk")
        .values_list("uuid", "custom_fields_fetched_at")
    )
    candidates, fetched = [], []
    for uuid, when in rows:
        if uuid in priority and uuid not in excluded:
            candidates.append(uuid)
            fetched.append(when)
    return RefreshPlan(candidates, paced_quota(fetched, now=now, interval=interval, age=age))


def share_used(connection, *, now: datetime, exclude_run: int | None = None) -> int:
    """Calls paid from the refresh share by the runs of the last 24 hours."""
    runs = SyncRun.objects.filter(connection=connection, created_at__gt=now - DAY)
    if exclude_run is not None:
        runs = runs.exclude(pk=exclude_run)
    return sum(
        (usage or {}).get(kind, {}).get("calls", 0)
        for usage in runs.values_list("usage", flat=True)
        for kind in SHARE_KINDS
    )


def refresh_allowance(
    connection, *, now: datetime, interval: timedelta, exclude_run: int | None = None
) -> int:
    """Reads this run may pay from the refresh share: what is left of the last 24 hours'
    share, and at most twice a run's even part of it (the reads spread over the day)."""
    share = daily_share()
    if share <= 0:
        return 0
    left = share - share_used(connection, now=now, exclude_run=exclude_run)
    per_run = math.ceil(2 * share * max(interval, timedelta(minutes=1)) / DAY)
    return max(0, min(left, per_run))


def others_to_refresh(
    connection,
    *,
    priority: set[str],
    exclude: Iterable[str],
    now: datetime,
    age: timedelta,
    archived: bool = False,
) -> list[str]:
    """Active clients outside the priority set (and archived ones, when ``archived``)
    whose values are older than the maximum age, oldest first: read only with calls the
    refresh share has to spare."""
    excluded = set(exclude)
    stale = Q(custom_fields_fetched_at__isnull=True) | Q(custom_fields_fetched_at__lt=now - age)
    rows = PracticeClient.objects.filter(connection=connection).filter(stale)
    if not archived:
        rows = rows.filter(is_archived=False, is_deleted=False)
    rows = (
        rows.exclude(is_missing=True)
        .order_by("custom_fields_fetched_at", "pk")
        .values_list("uuid", flat=True)
    )
    return [uuid for uuid in rows if uuid not in priority and uuid not in excluded]


@dataclass(frozen=True)
class Freshness:
    """How fresh the mapped custom-field values are (the admin and the bench show it)."""

    priority: int  # clients whose values matter first
    read: int  # of those, read at least once
    oldest: timedelta | None  # age of the oldest value among them
    max_age: timedelta
    reads_needed_per_day: int  # to keep every one of them under the maximum age
    share_per_day: int  # what the refresh share allows

    @property
    def unread(self) -> int:
        return self.priority - self.read

    @property
    def keeps_up(self) -> bool:
        return self.reads_needed_per_day <= self.share_per_day

    @property
    def share_needed(self) -> float:
        """The CUSTOM_FIELD_REFRESH_SHARE that would keep up (changed clients not counted)."""
        return self.reads_needed_per_day / max(1, get_setting("DAILY_CALL_LIMIT"))

    @property
    def too_old(self) -> bool:
        return self.oldest is not None and self.oldest > self.max_age


def freshness(connection, *, now: datetime) -> Freshness | None:
    """The state of the custom-field values, or None when no custom field is mapped."""
    keys = custom_keys(connection)
    if not keys:
        return None
    priority = priority_clients(connection, needs=segment_needs(connection, keys=keys))
    # Filtered here, not with uuid__in: tens of thousands of parameters are too many.
    rows = PracticeClient.objects.filter(
        connection=connection, custom_fields_fetched_at__isnull=False
    ).values_list("uuid", "custom_fields_fetched_at")
    fetched = [when for uuid, when in rows if uuid in priority]
    age = max_age()
    return Freshness(
        priority=len(priority),
        read=len(fetched),
        oldest=now - min(fetched) if fetched else None,
        max_age=age,
        reads_needed_per_day=math.ceil(len(priority) * DAY / age),
        share_per_day=daily_share(),
    )
