"""The custom-field step of a run: which clients' values to read, in what order, and what
stopping early means for the run.

XPM returns a client's custom values only one client a call (docs/xpm-api.md) and does not
mark a client changed when only a custom value changes, so the step reads changed clients
first, then a paced refresh of the oldest values (freshness.py), down to the daily calls
kept for website enquiries. The reads themselves are customreads.py's. The plan is JSON
(``plan``) so a step paused by the minute budget carries on from it (sync/steps.py keeps
it through engine.py ``snapshot``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import get_setting
from ..models import PracticeClient, SyncRun, XpmConnection
from ..xpm.client import XpmClient
from . import freshness
from .customreads import CustomFieldReader
from .seen import SeenClient

if TYPE_CHECKING:
    from .engine import SyncOptions


class CustomFieldPhase:
    """One custom-field step, given what it reads and changes: the run and its report, the
    run's options, the client names for the report (``names``, shared), the plan kept
    between steps (``plan``, ``{}`` before the first step) and the clients owed a read
    (``wanted``); ``progress``, ``metered`` and ``note_error`` are the engine's."""

    def __init__(
        self,
        *,
        connection: XpmConnection,
        client: XpmClient,
        run: SyncRun,
        options: SyncOptions,
        uses_custom_fields: bool,
        report: dict[str, Any],
        names: dict[str, str],
        plan: dict[str, Any],
        wanted: list[str],
        progress: Callable[..., None],
        metered: Callable[[str], AbstractContextManager[None]],
        note_error: Callable[[str], None],
    ) -> None:
        self.connection = connection
        self.client = client
        self.run = run
        self.options = options
        self.uses_custom_fields = uses_custom_fields
        self.report = report
        self.names = names
        self.plan = plan
        self.wanted = wanted
        self.progress = progress
        self.metered = metered
        self.note_error = note_error
        # Set by _read_custom_values when the minute budget paused it: the clients left
        # unread, and how long until the budget allows more.
        self.unread: list[str] | None = None
        self.paused_for = 0.0

    def _plan_custom_fields(self, seen: list[SeenClient]) -> None:
        """Which clients' custom values to read, the reads that matter first (freshness.py):

        1. owed clients someone can be emailed at: changed (listed by this run), new, or
           left pending by an earlier run; down to the leads' reserve;
        2. owed active clients nobody can be emailed at, with the day's budget left over
           (archived and deleted clients only for a segment that names ``is_archived``);
        3. the rolling refresh of the first kind's oldest values, paced to keep every value
           under CUSTOM_FIELD_MAX_AGE, within the refresh share of the daily budget; with
           what the share has left, values of the second kind older than the maximum age.

        The plan (``self.plan``, JSON) is read by ``step`` as many times as the minute
        budget needs.
        """
        run = self.run
        self.plan = {"stage": "done", "fetched": {}}
        if not self.uses_custom_fields:
            return
        existing = {}
        pending = set()
        for uuid, name, content_hash, fetched_at, owed in PracticeClient.objects.filter(
            connection=self.connection
        ).values_list(
            "uuid", "name", "content_hash", "custom_fields_fetched_at", "custom_fields_pending"
        ):
            existing[uuid] = (content_hash, fetched_at)
            self.names[uuid] = name
            if owed:
                pending.add(uuid)
        self.names.update((c.uuid, c.name) for c in seen)
        incremental = run.modified_since is not None
        wanted = [
            c.uuid
            for c in seen
            if incremental or c.uuid in pending or _needs_custom_read(existing.get(c.uuid), c)
        ]
        # Pending clients not returned by this (incremental) list are still owed a fetch.
        listed = {c.uuid for c in seen}
        wanted += sorted(pending - listed)
        needs = freshness.segment_needs(self.connection)
        if not needs.archived:
            # Their contacts are archived: nothing reads their values.
            inactive = freshness.inactive_clients(self.connection, seen=seen)
            wanted = [uuid for uuid in wanted if uuid not in inactive]
            settled = (pending & inactive) - listed
            if settled and not self.options.dry_run:
                PracticeClient.objects.filter(
                    connection=self.connection, uuid__in=sorted(settled)
                ).update(custom_fields_pending=False)
        priority = freshness.priority_clients(self.connection, seen=seen, needs=needs)
        first = [uuid for uuid in wanted if uuid in priority]
        others = [uuid for uuid in wanted if uuid not in priority]
        self.wanted = list(wanted)
        summary: dict[str, Any] = {"owed": len(first), "owed_others": len(others)}
        self.report["custom_fields"] = summary
        if self.options.dry_run:
            run.custom_fields_pending = len(wanted)
            return
        run.phase = _("Reading custom fields")
        run.progress_done, run.progress_total = 0, len(wanted)
        self.progress(force=True)
        self.plan = {
            "stage": "owed",
            "queue": first,
            "first": first,
            "others": others,
            "wanted": wanted,
            "priority": sorted(priority),
            "archived": needs.archived,
            "extra": None,
            "fetched": {},
        }

    def step(self, seen: Callable[[], list[SeenClient]]) -> bool:
        """Read planned custom values until done (True) or the minute budget pauses us
        (``paused_for`` says how long); ``seen`` gives the clients the run read."""
        if not self.plan:
            self._plan_custom_fields(seen())
        plan, run = self.plan, self.run
        fetched: dict[str, dict[str, Any]] = plan["fetched"]
        summary = self.report.get("custom_fields", {})
        while plan["stage"] != "done":
            stage = plan["stage"]
            if stage == "refresh" and plan["extra"] is None:
                extra: list[str] = []
                plan["refreshing"] = run.status == SyncRun.Status.RUNNING
                if plan["refreshing"]:
                    extra = self._refresh_batch(
                        set(plan["priority"]),
                        plan["wanted"],
                        freshness.Needs(archived=plan["archived"]),
                    )
                    if extra:
                        run.phase = _("Refreshing custom fields")
                        run.progress_done = len(fetched)
                        run.progress_total = len(fetched) + len(extra)
                        self.progress(force=True)
                        wanted = set(plan["wanted"])
                        self.wanted += [uuid for uuid in extra if uuid not in wanted]
                plan["extra"], plan["queue"] = extra, list(extra)
            with self.metered("custom_refresh" if stage == "refresh" else "custom_fields"):
                read = self._read_custom_values(
                    plan["queue"],
                    owed=stage != "refresh",
                    wait_for_budget=stage == "others",
                    already=len(fetched),
                )
            fetched.update(read)
            if self.unread is not None:
                plan["queue"] = self.unread  # paused: the rest when the budget allows
                return False
            if stage == "owed":
                left = [uuid for uuid in plan["first"] if uuid not in fetched]
                if left:
                    summary["days_to_read_all"] = self._days_to_read(len(left))
                    plan["stage"], plan["queue"] = "refresh", []
                elif plan["others"] and run.status == SyncRun.Status.RUNNING:
                    plan["stage"], plan["queue"] = "others", list(plan["others"])
                else:
                    plan["stage"], plan["queue"] = "refresh", []
            elif stage == "others":
                plan["stage"], plan["queue"] = "refresh", []
            else:
                if plan["refreshing"]:
                    summary["refreshed"] = sum(1 for uuid in plan["extra"] if uuid in fetched)
                plan["stage"] = "done"
        if "wanted" in plan:
            run.custom_fields_pending = sum(1 for uuid in plan["wanted"] if uuid not in fetched)
        return True

    def _refresh_batch(
        self, priority: set[str], owed: list[str], needs: freshness.Needs
    ) -> list[str]:
        """What the refresh share pays for this run: the paced oldest priority values, then
        stale values of clients nobody can be emailed at, while the share lasts."""
        now = timezone.now()
        allowance = freshness.refresh_allowance(
            self.connection, now=now, interval=self.options.interval, exclude_run=self.run.pk
        )
        plan = freshness.refresh_plan(
            self.connection,
            priority=priority,
            exclude=owed,
            now=now,
            interval=self.options.interval,
        )
        summary = self.report["custom_fields"]
        summary.update(refresh_due=plan.quota, refresh_allowance=allowance)
        batch = plan.candidates[: min(plan.quota, allowance)]
        room = allowance - len(batch)
        if room > 0:
            stale = freshness.others_to_refresh(
                self.connection,
                priority=priority,
                exclude=set(owed) | set(batch),
                now=now,
                age=freshness.max_age(),
                archived=needs.archived,
            )
            batch += stale[:room]
        return batch

    def _days_to_read(self, left: int) -> int:
        """Days until ``left`` owed clients are read, at the daily calls above the reserve."""
        per_day = max(1, get_setting("DAILY_CALL_LIMIT") - self.options.reserve)
        return max(1, math.ceil(left / per_day))

    def _read_custom_values(
        self,
        wanted: list[str],
        *,
        owed: bool = True,
        wait_for_budget: bool = False,
        already: int = 0,
    ) -> dict[str, dict[str, Any]]:
        """Read custom values with up to ``concurrency`` calls in flight (customreads.py).

        Stops submitting when the day budget reaches the reserve, when XPM's daily limit is
        hit, or when XPM stays unavailable; whatever was not read stays pending for the
        next run. Owed reads stopping early make the run "stopped early", unless they only
        ``wait_for_budget`` (reads done with the budget left over); a refresh just waits
        for a later run. A client XPM no longer knows is reported and skipped.
        """
        run = self.run
        self.unread, self.paused_for = None, 0.0

        def count(read: int) -> None:
            run.custom_fields_fetched = run.progress_done = already + read
            self.progress()

        reader = CustomFieldReader(
            self.client,
            concurrency=self.options.concurrency,
            reserve=self.options.reserve,
            name_of=self._client_name,
            note_error=self.note_error,
            on_progress=count,
        )
        reads = reader.read(wanted)
        self.paused_for = reads.paused_for
        if reads.stop == "pace":
            self.unread = reads.unread
            return reads.fetched
        left = len(wanted) - len(reads.fetched)
        if reads.stop is not None and left:
            self.report["custom_fields"]["stopped_early"] = reads.stop
        if not owed or (reads.stop == "budget" and wait_for_budget):
            pass
        elif reads.stop == "budget":
            self._stop_for_budget(left, self.client.day_remaining or 0)
        elif reads.stop == "unavailable":
            run.status = SyncRun.Status.PARTIAL
            run.message = ngettext(
                "XPM stopped answering while custom fields were read; %(left)s client is "
                "queued for the next sync.",
                "XPM stopped answering while custom fields were read; %(left)s clients are "
                "queued for the next sync.",
                left,
            ) % {"left": left}
        return reads.fetched

    def _client_name(self, uuid: str) -> str:
        """A client as a person knows it: its name (the UUID only when it has none)."""
        name = self.names.get(uuid)
        return f"“{name}”" if name else uuid

    def _stop_for_budget(self, left: int, remaining: int) -> None:
        run = self.run
        run.status = SyncRun.Status.PARTIAL
        queued = ngettext(
            "%(left)s client is queued for the next sync",
            "%(left)s clients are queued for the next sync",
            left,
        ) % {"left": left}
        # Translators: %(clients)s is the "N clients are queued for the next sync" above.
        run.message = _(
            "Stopped reading custom fields with %(remaining)s XPM calls left today (the "
            "reserve for website leads is %(reserve)s); %(clients)s."
        ) % {"remaining": remaining, "reserve": self.options.reserve, "clients": queued}
        per_day = max(1, get_setting("DAILY_CALL_LIMIT") - self.options.reserve)
        days = self._days_to_read(left)
        run.message += " " + ngettext(
            "Every client someone can be emailed at will have its custom fields in about "
            "%(days)s day at %(calls)s calls a day.",
            "Every client someone can be emailed at will have its custom fields in about "
            "%(days)s days at %(calls)s calls a day.",
            days,
        ) % {"days": days, "calls": f"{per_day:,}"}


def _needs_custom_read(existing: tuple[str, Any] | None, client: SeenClient) -> bool:
    """XPM returns every custom field of a client in one call, so a client read once also
    serves new custom mappings; only new, changed or never-read clients cost a call."""
    if existing is None:
        return True
    content_hash, fetched_at = existing
    return fetched_at is None or content_hash != client.content_hash
