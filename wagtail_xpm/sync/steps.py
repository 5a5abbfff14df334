"""A sync as a chain of short steps, kept between steps on a ``SyncRunState`` row.

One sync used to be one task that slept inside the rate limiter whenever its practice's
minute budget was spent (xpm/ratelimit.py), so eight worker threads could serve only eight
practices at 55 calls a minute each, and short tasks queued behind them for half an hour
(issue 17). Now a step stops when the budget is spent (``SyncPaused``) and the run is
continued by whichever consumer takes the next task, after the wait, from what this module
saved: the engine's bookkeeping (engine.py ``snapshot``) and the clients the list read.

Saving also moves ``seq`` on: a continuation task carries the number it was queued with and
claims its step by moving it on again, so a continuation delivered twice (or late, for a run
that was since taken over) does nothing (``claim_step``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import F
from django.utils import timezone

from ..models import SyncRun, SyncRunState
from .engine import SyncEngine
from .seen import SeenClient, SeenContact

# A step's client waits this long at most for a minute budget, then the step pauses.
STEP_MAX_MINUTE_WAIT = 2.0
# A task taking steps hands its worker back after about this long even when the budget
# would allow more, so practices due at the same time take turns (fair scheduling).
TASK_SLICE_SECONDS = 20.0

# The run's own fields a step changes (saved with the state; status stays "running").
RUN_FIELDS = [
    "phase", "progress_done", "progress_total", "clients_seen", "custom_fields_fetched",
    "custom_fields_pending", "api_calls", "bytes_downloaded", "heartbeat_at",
    "list_started_at", "list_completed", "modified_since", "full", "mapping_signature",
    "reconcile_completed", "day_calls_remaining", "errors", "report", "usage",
]  # fmt: skip


def seen_to_json(seen: list[SeenClient]) -> list[dict[str, Any]]:
    return [asdict(client) for client in seen]


def seen_from_json(rows: list[dict[str, Any]]) -> list[SeenClient]:
    clients = []
    for row in rows:
        contacts = [SeenContact(**contact) for contact in row["contacts"]]
        clients.append(SeenClient(**{**row, "contacts": contacts}))
    return clients


def restore(engine: SyncEngine) -> None:
    """Continue ``engine`` from the run's saved state, if a step saved one."""
    run_id = engine.run.pk
    state = SyncRunState.objects.filter(run_id=run_id).values_list("engine", flat=True).first()
    if state:
        engine.restore(state)

    def load_seen() -> list[SeenClient]:
        rows = SyncRunState.objects.filter(run_id=run_id).values_list("seen", flat=True).first()
        return seen_from_json(rows or [])

    engine.load_seen = load_seen


def save(engine: SyncEngine) -> int:
    """Keep what the next step needs; returns the number its task must claim it with."""
    run = engine.run
    snapshot = engine.snapshot()
    values: dict[str, Any] = {"engine": snapshot}
    if engine.seen_dirty and engine.seen is not None:
        values["seen"] = seen_to_json(engine.seen)
        engine.seen_dirty = False
    state, created = SyncRunState.objects.get_or_create(run_id=run.pk, defaults=values)
    if not created:
        SyncRunState.objects.filter(pk=state.pk).update(seq=F("seq") + 1, **values)
    # Between steps the run is running whatever outcome is already decided (the snapshot
    # keeps it): a finished-looking run would let a second sync of the practice start.
    decided = run.status
    run.status = SyncRun.Status.RUNNING
    run.heartbeat_at = timezone.now()
    try:
        run.save(update_fields=[*RUN_FIELDS, "status", "message"])
    finally:
        run.status = decided
    return SyncRunState.objects.values_list("seq", flat=True).get(pk=run.pk)


def claim_step(run_id: int, seq: int) -> bool:
    """Take the step queued as ``seq`` of a running run; False when it is not ours to take
    (taken already, or the run finished or was taken over since)."""
    return bool(
        SyncRunState.objects.filter(
            run_id=run_id, seq=seq, run__status=SyncRun.Status.RUNNING
        ).update(seq=seq + 1)
    )


def discard(run: SyncRun) -> None:
    """The run is over: its state is no longer needed."""
    SyncRunState.objects.filter(run_id=run.pk).delete()
