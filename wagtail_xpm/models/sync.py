"""Sync history, progress and the one-sync-per-connection guard."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SyncRun(models.Model):
    """One sync of one connection: who started it, what it did, how far it got.

    At most one run per connection is ``running`` (a partial unique constraint: the guard
    holds across every worker and host). A run whose heartbeat stops is taken over.
    """

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        ADMIN = "admin", _("Admin")
        CLI = "cli", _("Command line")
        SLACK = "slack", _("Slack")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Stopped early")
        FAILED = "failed", _("Failed")
        ABANDONED = "abandoned", _("Abandoned (worker stopped)")
        SKIPPED = "skipped", _("Skipped (another sync was running)")

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    full = models.BooleanField(default=False)
    # Also compare XPM's live client list (paged-list, base fields) with the clients known
    # here, to find clients deleted in XPM; a full run does that by itself.
    reconcile = models.BooleanField(default=False)
    reconcile_completed = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Taken from the local clock just before the client list call: the next watermark.
    list_started_at = models.DateTimeField(null=True, blank=True)
    list_completed = models.BooleanField(default=False)
    modified_since = models.DateTimeField(null=True, blank=True)
    # Fingerprint of the field mappings used: a change makes the next run read every client.
    mapping_signature = models.CharField(max_length=64, blank=True)
    phase = models.CharField(max_length=40, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    clients_seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped_duplicates = models.PositiveIntegerField(default=0)
    archived = models.PositiveIntegerField(default=0)
    # XPM clients found gone (deleted in XPM) and flagged by this run.
    clients_missing = models.PositiveIntegerField(default=0)
    custom_fields_fetched = models.PositiveIntegerField(default=0)
    custom_fields_pending = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    # Bytes of XPM's responses, as received: since Xero's 2026 pricing egress costs money.
    bytes_downloaded = models.PositiveBigIntegerField(default=0)
    # Calls and bytes by what they were for: {"list": {"calls": 1, "bytes": 5120}, ...}
    # (list, reconcile, custom_fields, custom_refresh, other).
    usage = models.JSONField(default=dict, blank=True)
    day_calls_remaining = models.IntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    errors = models.JSONField(default=list, blank=True)
    # Details for people: skipped duplicates, and with dry runs what would change (samples).
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("sync run")
        ordering = ["-created_at", "-pk"]
        get_latest_by = "created_at"
        constraints = [
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status="running"),
                name="one_running_sync_per_connection",
            )
        ]

    def __str__(self) -> str:
        return f"Sync {self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status not in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))

    def summary(self) -> dict:
        """The counts the CLI's --json and the admin show (docs/contracts.md 4.2)."""
        return {
            "run": self.pk,
            "status": str(self.status),
            "full": self.full,
            "reconcile": self.reconcile,
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped_duplicates": self.skipped_duplicates,
            "archived": self.archived,
            "clients_missing": self.clients_missing,
            "clients_seen": self.clients_seen,
            "custom_fields_fetched": self.custom_fields_fetched,
            "custom_fields_pending": self.custom_fields_pending,
            "api_calls": self.api_calls,
            "bytes_downloaded": self.bytes_downloaded,
            "usage": self.usage,
            "day_calls_remaining": self.day_calls_remaining,
            "message": self.message,
            "errors": self.errors,
        }


class SyncRunState(models.Model):
    """What the next step of a running sync needs (wagtail_xpm/sync/steps.py).

    A sync is a chain of short steps that any consumer may take: reading the client list,
    the reconciliation, custom-field batches, applying. Between two steps the run waits for
    XPM's minute budget without holding a worker, so what it has read lives here. ``seq``
    counts the steps taken: a step is claimed by moving it on, so a continuation delivered
    twice runs once. Deleted when the run finishes.
    """

    run = models.OneToOneField(
        SyncRun, on_delete=models.CASCADE, primary_key=True, related_name="step_state"
    )
    seq = models.PositiveIntegerField(default=0)
    # The engine's bookkeeping: next step, custom-field queues and values read, report.
    engine = models.JSONField(default=dict)
    # The clients the list (and reconciliation) read: written once, read by later steps.
    seen = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sync run state")

    def __str__(self) -> str:
        return f"State of sync {self.run_id} (step {self.seq})"
