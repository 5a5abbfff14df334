"""The sync engine: XPM clients and contacts in, website CRM contacts out.

One run streams ``client.api/list?detailed=true`` (with ``modifiedsince`` on incremental runs),
fetches custom-field values only for changed clients and only when a custom field is mapped,
then applies the firm's rules in memory and writes only what changed, in bulk:

* custom fields are read first for changed clients someone can be emailed at, then for a
  paced share of the others whose values are oldest (see freshness.py: XPM does not mark a
  client changed when only a custom field changes; customreads.py reads them);

* a reconciling run (``reconcile``, weekly by default) also pages through XPM's live clients
  (``client.api/paged-list``, base fields, 500 a page) and reads in detail only the clients
  that appeared or disappeared, which is how clients deleted in XPM are found without a daily
  detailed download of every client (reconcile.py);

* one website contact per XPM contact, carrying the XPM ClientID and ContactID of its
  primary record and the mapped "extra information" of that client;
* later contacts with an email already owned (trimmed, case-insensitive) are skipped and
  reported, but the owner is linked to their client too; ownership never flips (the
  same-email rule, ownership.py);
* archived, deleted or vanished clients flag their contacts; nothing is hard-deleted;
* subscriptions and what a visitor typed into a form are never overwritten;

* with an XPM opt-out field chosen (site settings), the contacts' opt-outs are read last,
  from the custom-field refresh share (optouts.py); without one, no call is made for them.

The rules are planned in memory (planner.py, from the rows existing.py loads) and the plan
written in bulk (apply.py). Every write is an idempotent upsert keyed by XPM UUIDs, so a run
that dies half-way is simply run again: it converges to the same data.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import (
    FieldMapping,
    SyncRun,
    XpmConnection,
    XpmSiteSettings,
)
from ..wording import explain_sync_failure
from ..xpm.client import XpmClient
from ..xpm.errors import (
    XpmDailyLimitReached,
    XpmError,
    XpmNotFoundError,
    XpmRateLimited,
    XpmResponseError,
)
from ..xpm.ratelimit import is_pacing
from ..xpm.types import XpmClientRecord
from . import apply, freshness, optouts, ownership, reconcile
from .customfields import CustomFieldPhase
from .existing import load_existing
from .mapping import Mapper
from .planner import REPORT_SAMPLES, Planner, PlanOptions, WritePlan, archived_estimate, describe
from .seen import SeenClient, SeenContact

logger = logging.getLogger(__name__)


def sync_failure_message(exc: XpmError) -> str:
    """Why a sync failed, in words an editor can act on, ending with the error's own."""
    return explain_sync_failure(exc)


PROGRESS_EVERY_SECONDS = 0.5
# Clock skew allowance between this server and XPM for the modifiedsince watermark.
WATERMARK_OVERLAP = timedelta(minutes=5)


class SyncAborted(Exception):
    """The run stopped before finishing; the message says why in words an editor understands."""


class SyncPaused(Exception):
    """XPM's minute budget (the practice's or the app's) is spent: take the step again in
    ``retry_after`` seconds instead of waiting (sync/steps.py)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"XPM minute budget spent; next step in {retry_after:.0f}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    dry_run: bool = False
    # Daily calls kept for lead delivery: custom-field fetching stops at this many.
    reserve: int = 100
    # Also compare XPM's live client list with the known clients (finds deleted clients).
    reconcile: bool = False
    # A complete full run or reconciliation refuses to flag more than this share of known
    # clients as gone.
    max_missing_share: float = 0.2
    max_missing_floor: int = 5
    # Custom-field reads in flight at once (XPM allows 5 per practice).
    concurrency: int = 5
    # How often the schedule runs a sync: the custom-field refresh spreads over the runs.
    interval: timedelta = timedelta(minutes=60)
    # The XPM contact checkbox holding opt-outs (optouts.py): None reads the site's setting,
    # "" reads none.
    opt_out_field: str | None = None


def record_hash(record: XpmClientRecord) -> str:
    """A fingerprint of everything a sync reads from a client record."""
    parts = [repr(sorted(record.fields.items())), repr(record.contacts), repr(record.groups)]
    return hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


class SyncEngine:
    """Runs one sync for one connection and records what it did on ``run``."""

    def __init__(
        self,
        *,
        connection: XpmConnection,
        client: XpmClient,
        run: SyncRun,
        options: SyncOptions,
        on_progress: Callable[[SyncRun], None] | None = None,
    ) -> None:
        self.connection = connection
        self.client = client
        self.run = run
        self.options = options
        self.on_progress = on_progress
        self._last_progress = 0.0
        self._calls_at_start = client.calls_made
        self._bytes_at_start = client.bytes_received
        # Calls and bytes by what they were for ("list", "custom_fields"...), for the run.
        self.usage: dict[str, dict[str, int]] = {}
        mappings = sorted(
            FieldMapping.objects.filter(connection=connection).values_list("source", "key")
        )
        self.mapper = Mapper(mappings)
        self.mapping_signature = hashlib.sha1(
            repr(mappings).encode(), usedforsecurity=False
        ).hexdigest()
        self.report: dict[str, list] = {"skipped_duplicates": [], "errors": []}
        # Clients whose custom fields this run should read (changed, or owed from before).
        self.custom_wanted: list[str] = []
        # Clients a reconciliation found deleted in XPM (its detail read said so).
        self.removed: list[str] = []
        # Names for the report (errors name clients, not UUIDs).
        self.client_names: dict[str, str] = {}
        # The next step, the clients read (loaded by later steps from where a step left
        # them) and the custom-field reads planned and done (customfields.py).
        self.step = "list"
        self.seen: list[SeenClient] | None = None
        self.seen_dirty = False  # read or changed by this step (sync/steps.py saves it)
        self.load_seen: Callable[[], list[SeenClient]] | None = None
        self.custom_plan: dict[str, Any] = {}
        # How long until XPM's minute budget allows more, when a step paused.
        self.paused_for = 0.0
        # Where a reconciliation got to (_reconcile), None when none is under way.
        self.reconciling: dict[str, Any] | None = None

    # --- the run ---------------------------------------------------------------------------

    def execute(self) -> SyncRun:
        """Every step in one go (waiting inside the limiter for the minute budget)."""
        while not self.advance():
            pass
        return self.run

    def advance(self) -> bool:
        """Take the next step of the run; True when the run is over (``run.status`` says how).

        Steps: the client list, the reconciliation, custom-field reads (as many as the
        minute budget allows in one go), applying. Raises ``SyncPaused`` when XPM's minute
        budget is spent and the client may not wait for it (``max_minute_wait``): the
        step can be taken again later, from what ``snapshot`` kept (sync/steps.py).
        """
        run = self.run
        try:
            if self.step == "list":
                self.seen, self.seen_dirty = self._read_clients(), True
                self.step = "reconcile" if self.options.reconcile and not run.full else "custom"
            elif self.step == "reconcile":
                # A paused reconciliation carries on from its next page (self.reconciling).
                self._reconcile(self.seen_clients())
                self.step = "custom"
            elif self.step == "custom":
                if not self._custom_fields_step():
                    raise SyncPaused(self.paused_for)
                self.step = "apply"
            elif self.step == "apply":
                self._apply(self.seen_clients(), self.custom_plan.get("fetched", {}))
                self.step = "opt_outs"
            elif self.step == "opt_outs":
                if not self._read_opt_outs(self.seen_clients()):
                    raise SyncPaused(self.paused_for)
                self.step = "done"
        except XpmRateLimited as exc:
            if not is_pacing(exc):
                self._fail(exc)
            else:
                raise SyncPaused(exc.retry_after or 1.0) from exc
        except XpmResponseError as exc:
            # Not XPM refusing the sync: the website refusing what XPM sent (XPM errors
            # can only come before the apply phase, so nothing was written).
            self.step = "done"
            run.status = SyncRun.Status.FAILED
            run.message = _(
                "XPM sent a reply the website could not safely read (malformed, unsafe or "
                "too large), so the sync stopped before changing anything. Details: %(error)s"
            ) % {"error": exc}
            run.errors = [*run.errors, str(exc)]
        except XpmError as exc:
            self._fail(exc)
        except SyncAborted as exc:
            self.step = "done"
            run.status = SyncRun.Status.FAILED
            run.message = str(exc)
            run.errors = [*run.errors, str(exc)]
        finally:
            self._account()
        if self.step != "done":
            return False
        if run.status == SyncRun.Status.RUNNING:
            run.status = SyncRun.Status.SUCCEEDED
        return True

    def _fail(self, exc: XpmError) -> None:
        self.step = "done"
        self.run.status = SyncRun.Status.FAILED
        self.run.message = sync_failure_message(exc)
        self.run.errors = [*self.run.errors, str(exc)]

    def _account(self) -> None:
        """The run's calls, bytes and report so far (earlier steps' included)."""
        run = self.run
        run.api_calls = self.client.calls_made - self._calls_at_start
        run.bytes_downloaded = self.client.bytes_received - self._bytes_at_start
        run.usage = self._usage_by_kind(run.api_calls, run.bytes_downloaded)
        if self.client.day_remaining is not None:
            run.day_calls_remaining = self.client.day_remaining
        run.report = {**run.report, **self.report}

    def seen_clients(self) -> list[SeenClient]:
        if self.seen is None:
            self.seen = self.load_seen() if self.load_seen is not None else []
        return self.seen

    # --- between steps (sync/steps.py keeps this on a SyncRunState row) ----------------------

    def snapshot(self) -> dict[str, Any]:
        """What a later step needs besides the run's own fields and the clients seen."""
        return {
            "step": self.step,
            "usage": self.usage,
            "report": self.report,
            "custom_wanted": self.custom_wanted,
            "removed": self.removed,
            "client_names": {u: self.client_names.get(u, "") for u in self.custom_wanted},
            "custom_plan": self.custom_plan,
            "reconciling": self.reconciling,
            # A running run stays "running" in the database between steps; an outcome
            # already decided (a reconciliation that could not finish) waits here.
            "status": self.run.status,
            "message": self.run.message,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.step = state["step"]
        self.usage = state["usage"]
        self.report = state["report"]
        self.custom_wanted = state["custom_wanted"]
        self.removed = state["removed"]
        self.client_names = dict(state["client_names"])
        self.custom_plan = state["custom_plan"]
        self.reconciling = state.get("reconciling")
        self.run.status = state["status"]
        self.run.message = state["message"]
        # Calls and bytes of earlier steps are already on the run: this client counts on.
        self._calls_at_start = self.client.calls_made - self.run.api_calls
        self._bytes_at_start = self.client.bytes_received - self.run.bytes_downloaded

    @contextmanager
    def _metered(self, kind: str) -> Iterator[None]:
        """Count the calls and bytes of a phase under ``kind`` (phases run one at a time;
        the client is this run's own, so the difference is the phase's)."""
        calls, size = self.client.calls_made, self.client.bytes_received
        try:
            yield
        finally:
            entry = self.usage.setdefault(kind, {"calls": 0, "bytes": 0})
            entry["calls"] += self.client.calls_made - calls
            entry["bytes"] += self.client.bytes_received - size

    def _usage_by_kind(self, calls: int, size: int) -> dict[str, dict[str, int]]:
        usage = {kind: dict(entry) for kind, entry in self.usage.items() if entry["calls"]}
        other_calls = calls - sum(e["calls"] for e in usage.values())
        other_bytes = size - sum(e["bytes"] for e in usage.values())
        if other_calls or other_bytes:
            usage["other"] = {"calls": other_calls, "bytes": other_bytes}
        return usage

    # --- phase 1: stream the client list ----------------------------------------------------

    def previous_watermark(self) -> datetime | None:
        """Where an incremental run starts; None when the run must read every client."""
        last = (
            SyncRun.objects.filter(connection=self.connection, list_completed=True, dry_run=False)
            .exclude(pk=self.run.pk)
            .order_by("-list_started_at")
            .values_list("list_started_at", "mapping_signature")
            .first()
        )
        if last is None:
            return None
        watermark, signature = last
        if signature != self.mapping_signature:
            # New or changed mappings apply to every client, not only to changed ones.
            self.report["notes"] = [_("Field mappings changed: every client was read once.")]
            return None
        return watermark

    def _read_clients(self) -> list[SeenClient]:
        run = self.run
        run.mapping_signature = self.mapping_signature
        watermark = None if self.options.full else self.previous_watermark()
        run.full = watermark is None
        run.modified_since = watermark - WATERMARK_OVERLAP if watermark else None
        run.phase = _("Reading clients from XPM")
        run.list_started_at = timezone.now()
        self._progress(force=True)
        seen: list[SeenClient] = []
        records = self.client.list_clients(detailed=True, modified_since=run.modified_since)
        # closing(): a failure mid-list closes the response now, so its bytes are counted.
        with self._metered("list"), closing(records):
            for record in records:
                seen.append(self._seen_client(record))
                run.clients_seen = len(seen)
                self._progress()
        run.list_completed = True
        return seen

    def _seen_client(self, record: XpmClientRecord) -> SeenClient:
        seen = SeenClient(
            uuid=record.uuid,
            name=(record.name or "").strip(),
            email=(record.email or "").strip(),
            is_archived=bool(record.is_archived),
            is_deleted=bool(record.is_deleted),
            is_prospect=bool(record.is_prospect),
            web_url=record.web_url or "",
            content_hash=record_hash(record),
            standard_data=self.mapper.standard_data(record),
        )
        for contact in record.contacts:
            if contact.is_deleted:
                continue
            seen.contacts.append(
                SeenContact(
                    client_uuid=record.uuid,
                    uuid=contact.uuid,
                    name=(contact.name or "").strip(),
                    email=(contact.email or "").strip(),
                    phone=(contact.phone or "").strip(),
                    mobile=(contact.mobile or "").strip(),
                    position=(contact.position or "").strip(),
                    is_primary=bool(contact.is_primary),
                )
            )
        return seen

    # --- phase 1b: reconciliation (finds clients deleted in XPM) -----------------------------

    def _reconcile(self, seen: list[SeenClient]) -> None:
        """Compare XPM's live clients with the ones known here; read only the differences
        (reconcile.py). Whatever goes wrong here is reported and the rest of the sync
        carries on; the next run tries again. A paused check carries on where it stopped
        (``self.reconciling``, kept between steps by sync/steps.py).
        """
        run = self.run
        known = reconcile.known_clients(self.connection)
        state = self.reconciling
        if state is None:
            pages = reconcile.pages_needed(known)
            remaining = self.client.day_remaining
            if remaining is not None and remaining - pages <= self.options.reserve:
                # Not worth the leads' reserve: the next run with budget does it.
                self.report.setdefault("notes", []).append(
                    _(
                        "The check for clients deleted in XPM waits for the daily budget to "
                        "reset (%(remaining)s calls left, %(reserve)s kept for website "
                        "enquiries)."
                    )
                    % {"remaining": remaining, "reserve": self.options.reserve}
                )
                return
            state = self.reconciling = reconcile.new_state(known)
        try:
            with self._metered("reconcile"):
                if state["queue"] is None:
                    self._reconcile_pages(state, known, {c.uuid for c in seen})
                self._read_came_or_went(state, seen)
        except XpmDailyLimitReached:
            raise
        except XpmError as exc:
            if is_pacing(exc):
                raise  # the step carries on from here once the minute budget allows
            # The rest of the sync is still worth doing; a half-finished check flags nothing.
            self.removed, self.reconciling = [], None
            message = _(
                "The check for clients deleted in XPM could not finish; the next sync tries "
                "again. (Details: %(error)s)"
            ) % {"error": exc}
            self._note_error(message)
            run.errors = [*run.errors, str(exc)]
            run.status = SyncRun.Status.PARTIAL
            run.message = message
            return
        self.reconciling = None
        run.reconcile_completed = True

    def _read_came_or_went(self, state: dict[str, Any], seen: list[SeenClient]) -> None:
        """Read in detail the clients the check queued: a client XPM still has joins the
        clients seen (its archived or deleted flags are applied); one it no longer has at
        all (``Invalid client identifier``) is flagged missing."""
        run = self.run
        run.phase = _("Reading the clients that came or went")
        run.progress_total = state["details"]
        run.progress_done = state["details"] - len(state["queue"])
        self._progress(force=True)
        while state["queue"]:
            uuid = state["queue"][0]
            try:
                record = self.client.get_client(uuid)
            except XpmNotFoundError:
                self.removed.append(uuid)
            else:
                seen.append(self._seen_client(record))
                self.seen_dirty = True
            state["queue"].pop(0)
            run.progress_done += 1
            self._progress()

    def _reconcile_pages(
        self, state: dict[str, Any], known: reconcile.Known, listed: set[str]
    ) -> None:
        """Read the live list from the page ``state`` stopped at, then decide which clients
        to read in detail (``state["queue"]``; reconcile.py)."""
        run = self.run
        check = reconcile.LiveListCheck(
            self.client,
            state,
            known,
            listed,
            max_missing_share=self.options.max_missing_share,
            max_missing_floor=self.options.max_missing_floor,
            before_page=self._before_live_page,
            note=self._note,
            refuse=self._refuse_sweep,
        )
        run.phase = _("Checking XPM for deleted clients")
        run.progress_total = max(1, len(check.active))
        check.run()

    def _before_live_page(self, state: dict[str, Any]) -> None:
        self.run.progress_done = min(state["live"], self.run.progress_total)
        self._progress(force=state["pages"] == 0)

    def _note(self, message: str) -> None:
        self.report.setdefault("notes", []).append(message)

    def _refuse_sweep(self, message: str) -> None:
        self.report["errors"].append(message)
        self.run.errors = [*self.run.errors, message]

    # --- phase 2: custom fields (one call per changed client) -------------------------------

    def _custom_fields_step(self) -> bool:
        """Read planned custom values until done (True) or the minute budget pauses us
        (customfields.py); what the phase planned and read is kept on the engine, for
        ``snapshot``, whatever happens."""
        phase = CustomFieldPhase(
            connection=self.connection,
            client=self.client,
            run=self.run,
            options=self.options,
            uses_custom_fields=self.mapper.uses_custom_fields,
            report=self.report,
            names=self.client_names,
            plan=self.custom_plan,
            wanted=self.custom_wanted,
            progress=self._progress,
            metered=self._metered,
            note_error=self._note_error,
        )
        try:
            return phase.step(self.seen_clients)
        finally:
            self.custom_plan, self.custom_wanted = phase.plan, phase.wanted
            self.paused_for = phase.paused_for

    def _note_error(self, message: str) -> None:
        if len(self.report["errors"]) < REPORT_SAMPLES:
            self.report["errors"].append(message)

    # --- phase 3: apply the rules -----------------------------------------------------------

    def _apply(self, seen: list[SeenClient], custom: dict[str, dict[str, Any]]) -> None:
        run = self.run
        run.phase = _("Updating contacts")
        run.progress_done, run.progress_total = 0, len(seen)
        self._progress(force=True)
        options = self._plan_options(custom)
        existing = load_existing(
            self.connection,
            seen,
            incremental=options.incremental,
            also_clients=options.custom_wanted | options.removed,
        )
        plan = Planner(
            connection=self.connection,
            seen=seen,
            existing=existing,
            mapper=self.mapper,
            options=options,
            decide_ownership=ownership.decide,
        ).build()
        self._record_plan(plan)
        if self.options.dry_run:
            run.archived = archived_estimate(plan, existing)
            run.report = {
                **run.report,
                "dry_run": describe(plan, custom_fields_to_fetch=len(options.custom_wanted)),
            }
            return
        with transaction.atomic():
            apply.write(plan)
            run.archived = apply.flag_archived(plan)
        run.progress_done = len(seen)
        if run.created + run.updated >= apply.ANALYZE_AFTER_WRITES:
            apply.refresh_planner_statistics()

    def _plan_options(self, custom: dict[str, dict[str, Any]]) -> PlanOptions:
        run, options = self.run, self.options
        return PlanOptions(
            now=timezone.now(),
            incremental=run.modified_since is not None,
            find_missing=run.full and run.list_completed,
            custom_values=custom,
            custom_wanted=frozenset(self.custom_wanted),
            removed=frozenset(self.removed),
            max_missing_share=options.max_missing_share,
            max_missing_floor=options.max_missing_floor,
        )

    def _record_plan(self, plan: WritePlan) -> None:
        """The plan's counts, skipped duplicates and refusals on the run and its report."""
        run = self.run
        for message in plan.errors:
            self.report["errors"].append(message)
            run.errors = [*run.errors, message]
        skipped = self.report["skipped_duplicates"]
        skipped += plan.skipped_duplicates[: max(0, REPORT_SAMPLES - len(skipped))]
        run.created = len(plan.contacts_to_create)
        run.updated = len(plan.contacts_to_update)
        run.unchanged = plan.unchanged
        run.skipped_duplicates = plan.skipped
        run.clients_missing = len(plan.missing_clients)
        if plan.missing_clients and not self.options.dry_run:
            self.report["clients_missing"] = [
                {"client_id": c.uuid, "name": c.name} for c in plan.missing_clients[:REPORT_SAMPLES]
            ]

    # --- phase 4: opt-outs recorded in XPM (optouts.py) -----------------------------------

    def _opt_out_field(self) -> str:
        if self.options.opt_out_field is not None:
            return self.options.opt_out_field
        site = self.connection.site
        return (XpmSiteSettings.for_site(site).xpm_opt_out_field_uuid or "").strip()

    def _read_opt_outs(self, seen: list[SeenClient]) -> bool:
        """With an opt-out field chosen: this run's share of contact opt-out reads, after the
        contacts exist. Without one, nothing at all (no call, no query beyond the setting).
        False when the minute budget paused the reads (the step is taken again: each read
        is stored as it is made, so it carries on with the oldest unread)."""
        if self.options.dry_run:
            return True
        field_uuid = self._opt_out_field()
        if not field_uuid:
            return True
        run = self.run
        run.phase = _("Reading opt-outs recorded in XPM")
        self._progress(force=True)
        allowance = freshness.refresh_allowance(
            self.connection,
            now=timezone.now(),
            interval=self.options.interval,
            exclude_run=run.pk,
        ) - sum(self.usage.get(kind, {}).get("calls", 0) for kind in freshness.SHARE_KINDS)
        with self._metered(optouts.KIND):
            result = optouts.read(
                self.connection,
                self.client,
                field_uuid=field_uuid,
                changed={c.uuid for c in seen},
                allowance=allowance,
                reserve=self.options.reserve,
                interval=self.options.interval,
                # A step taken again after a pause: what it read already is not first again.
                since=run.list_started_at,
            )
        report = result.as_dict()
        earlier = self.report.get("opt_outs") or {}
        for name in ("read", "ticked", "unsubscribed"):  # an earlier step's reads count too
            report[name] += earlier.get(name, 0)
        self.report["opt_outs"] = report
        if result.warning:
            run.errors = [*run.errors, result.warning]
        for error in result.errors:
            self._note_error(error)
        if result.paused_for:
            self.paused_for = result.paused_for
            return False
        return True

    # --- progress ---------------------------------------------------------------------------

    def _progress(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_EVERY_SECONDS:
            return
        self._last_progress = now
        run = self.run
        run.api_calls = self.client.calls_made - self._calls_at_start
        run.bytes_downloaded = self.client.bytes_received - self._bytes_at_start
        run.heartbeat_at = timezone.now()
        if self.on_progress is not None:
            self.on_progress(run)
