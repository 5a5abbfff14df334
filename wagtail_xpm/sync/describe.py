"""A sync run in words: its kind, headline, duration, calls and bytes, and the live progress
payload (the sync pages of the admin). Errors are put into words by wagtail_xpm/wording.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ..models import SyncRun
from .egress import format_bytes

# A queued run nobody picked up after this long points at a stopped background worker.
QUEUED_TOO_LONG = timedelta(seconds=30)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return _("under a second")
    seconds = round(seconds)
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}


def format_age(age: timedelta) -> str:
    """How old something is, in its largest whole unit: "3 days", "5 hours", "12 minutes"."""
    seconds = max(0, int(age.total_seconds()))
    if seconds >= 86400:
        days = seconds // 86400
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if seconds >= 3600:
        hours = seconds // 3600
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    minutes = seconds // 60
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def run_duration(run: SyncRun) -> float | None:
    if not run.started_at:
        return None
    end = run.finished_at or timezone.now()
    return (end - run.started_at).total_seconds()


def run_kind(run: SyncRun) -> str:
    if run.dry_run:
        return _("Dry run")
    if run.full:
        return _("Full sync")
    return _("Sync + check for deleted clients") if run.reconcile else _("Sync")


# What SyncRun.usage's kinds of call were for, in the admin's words.
USAGE_LABELS = {
    "list": gettext_lazy("Changed clients (client list)"),
    "reconcile": gettext_lazy("Check for deleted clients"),
    "custom_fields": gettext_lazy("Custom fields of new and changed clients"),
    "custom_refresh": gettext_lazy("Custom fields kept fresh"),
    "opt_outs": gettext_lazy("Opt-outs recorded in XPM"),
    "other": gettext_lazy("Other calls"),
}


def usage_rows(run: SyncRun) -> list[dict[str, Any]]:
    """The run's calls and bytes by what they were for, in a fixed order."""
    usage = run.usage or {}
    order = [*USAGE_LABELS, *sorted(set(usage) - set(USAGE_LABELS))]
    return [
        {
            "kind": kind,
            "label": USAGE_LABELS.get(kind, kind),
            "calls": usage[kind].get("calls", 0),
            "bytes": format_bytes(usage[kind].get("bytes", 0)),
        }
        for kind in order
        if kind in usage
    ]


def counts_sentence(run: SyncRun) -> str:
    """'37 created, 2 updated, 120 unchanged, 1 duplicate email skipped, 3 archived'."""
    parts = [
        ngettext("%(count)d created", "%(count)d created", run.created) % {"count": run.created},
        ngettext("%(count)d updated", "%(count)d updated", run.updated) % {"count": run.updated},
        ngettext("%(count)d unchanged", "%(count)d unchanged", run.unchanged)
        % {"count": run.unchanged},
        ngettext(
            "%(count)d duplicate email skipped",
            "%(count)d duplicate emails skipped",
            run.skipped_duplicates,
        )
        % {"count": run.skipped_duplicates},
        ngettext("%(count)d archived", "%(count)d archived", run.archived)
        % {"count": run.archived},
    ]
    return ", ".join(parts)


def run_headline(run: SyncRun) -> str:
    """The sentence at the top of a run: what is happening, or what happened."""
    status = run.status
    if status == SyncRun.Status.QUEUED:
        if run.created_at and timezone.now() - run.created_at > QUEUED_TOO_LONG:
            return _(
                "Waiting for the background worker. If this does not start soon, check that "
                "the task worker (Huey consumer) is running."
            )
        return _("Waiting for the background worker to start the sync…")
    if status == SyncRun.Status.RUNNING:
        return run.phase or _("Starting…")
    if (
        status == SyncRun.Status.SUCCEEDED
        and run.dry_run
        and not (run.created or run.updated or run.archived)
    ):
        return _(
            "Dry run finished: a sync would change no contacts (%(counts)s). Nothing was changed."
        ) % {"counts": counts_sentence(run)}
    if status == SyncRun.Status.SUCCEEDED and run.dry_run:
        return _(
            "Dry run finished, nothing was changed. A sync would make these changes to "
            "contacts: %(counts)s."
        ) % {"counts": counts_sentence(run)}
    if status == SyncRun.Status.SUCCEEDED:
        return _("Sync finished. Contacts: %(counts)s.") % {"counts": counts_sentence(run)}
    if status == SyncRun.Status.PARTIAL:
        return _(
            "Stopped early. Contacts so far: %(counts)s. The next sync carries on where this "
            "one stopped."
        ) % {"counts": counts_sentence(run)}
    if status == SyncRun.Status.FAILED:
        return _("The sync failed; no contacts were changed.")
    if status == SyncRun.Status.SKIPPED:
        return _("Not started: another sync of this practice was already running.")
    if status == SyncRun.Status.ABANDONED:
        return _("The worker running this sync stopped; a later sync took over.")
    return run.get_status_display()


def status_tone(run: SyncRun) -> str:
    """The badge colour of a run's status: ok, warn, error or neutral."""
    return {
        SyncRun.Status.SUCCEEDED: "ok",
        SyncRun.Status.PARTIAL: "warn",
        SyncRun.Status.SKIPPED: "warn",
        SyncRun.Status.FAILED: "error",
        SyncRun.Status.ABANDONED: "error",
    }.get(run.status, "neutral")


def progress_payload(run: SyncRun) -> dict[str, Any]:
    """Everything the live progress bar shows (the JSON endpoint and the first render)."""
    finished = run.is_finished
    percent = 100 if finished and run.status == SyncRun.Status.SUCCEEDED else run.percent
    if run.status == SyncRun.Status.RUNNING and run.progress_total is None:
        phase_detail = ngettext(
            "%(count)d client read so far", "%(count)d clients read so far", run.clients_seen
        ) % {"count": run.clients_seen}
    elif run.status == SyncRun.Status.RUNNING and run.progress_total:
        phase_detail = _("%(done)d of %(total)d done") % {
            "done": run.progress_done,
            "total": run.progress_total,
        }
    else:
        phase_detail = ""
    if run.status == SyncRun.Status.RUNNING and run.api_calls:
        calls = ngettext("%(count)d API call", "%(count)d API calls", run.api_calls) % {
            "count": run.api_calls
        }
        so_far = _("%(calls)s, %(size)s so far") % {
            "calls": calls,
            "size": format_bytes(run.bytes_downloaded),
        }
        phase_detail = " · ".join(filter(None, [phase_detail, so_far]))
    return {
        "id": run.pk,
        "status": str(run.status),
        "status_label": str(run.get_status_display()),
        "tone": status_tone(run),
        "finished": finished,
        "kind": run_kind(run),
        "full": run.full,
        "dry_run": run.dry_run,
        "headline": run_headline(run),
        "phase": run.phase,
        "phase_detail": phase_detail,
        "progress_done": run.progress_done,
        "progress_total": run.progress_total,
        "percent": percent,
        "clients_seen": run.clients_seen,
        "counts": {
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "skipped_duplicates": run.skipped_duplicates,
            "archived": run.archived,
        },
        "custom_fields_fetched": run.custom_fields_fetched,
        "custom_fields_pending": run.custom_fields_pending,
        "api_calls": run.api_calls,
        "bytes_downloaded": run.bytes_downloaded,
        "downloaded": format_bytes(run.bytes_downloaded),
        "clients_missing": run.clients_missing,
        "day_calls_remaining": run.day_calls_remaining,
        "message": run.message,
        # The message usually quotes the first error already; do not say it twice.
        "errors": [e for e in run.errors or [] if e and e not in run.message],
        "duration": format_duration(run_duration(run)),
        "summary": run.summary() if finished else None,
    }
