"""Plain snapshots handed from the Django side to the Block Kit builders.

The builders in :mod:`slackbot.blocks` take these frozen values, never model instances, so
they stay pure functions that tests call with literals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FINISHED_STATUSES = frozenset({"succeeded", "partial", "failed", "abandoned", "skipped"})


@dataclass(frozen=True)
class RunSnapshot:
    """A sync run as the progress message shows it."""

    id: int
    status: str
    status_label: str
    phase: str = ""
    progress_done: int = 0
    progress_total: int | None = None
    percent: int | None = None
    clients_seen: int = 0
    full: bool = False
    dry_run: bool = False
    trigger: str = "slack"
    started_by: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    errors: tuple[str, ...] = ()
    admin_url: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True)
class StatusSnapshot:
    """What ``/xpm status`` reports."""

    site_name: str
    status: str
    status_label: str
    tenant_name: str = ""
    last_error: str = ""
    day_calls_remaining: int | None = None
    day_calls_checked_at: datetime | None = None
    daily_reserve: int | None = None
    contacts: int = 0
    last_run: RunSnapshot | None = None
    running: RunSnapshot | None = None
    # None when the leads feature is not installed.
    leads_pending: int | None = None
    leads_failed: int | None = None
    lead_owner: str = ""
    admin_url: str = ""

    @property
    def connected(self) -> bool:
        return self.status == "connected"


@dataclass(frozen=True)
class StaffEntry:
    uuid: str
    name: str
    email: str = ""
    is_lead_owner: bool = False


@dataclass(frozen=True)
class ContactEntry:
    name: str
    email: str = ""
    client_name: str = ""


@dataclass(frozen=True)
class ClientEntry:
    name: str
    uuid: str = ""
    position: str = ""
    is_primary: bool = False
    archived: bool = False
    web_url: str = ""


@dataclass(frozen=True)
class WhoSnapshot:
    """One contact with their XPM clients and segments (``/xpm who``)."""

    contact: ContactEntry
    source: str = "xpm"
    subscribed: bool = True
    archived: bool = False
    # (label, value) of the mapped fields, in the mapping order.
    fields: tuple[tuple[str, str], ...] = ()
    clients: tuple[ClientEntry, ...] = ()
    # None when segments are not available.
    segments: tuple[str, ...] | None = None
    admin_url: str = ""


@dataclass(frozen=True)
class SegmentEntry:
    name: str
    count: int | None
    description: str = ""


@dataclass(frozen=True)
class SegmentPreview:
    """The answer to ``/xpm segment <expression>``."""

    expression: str
    description: str
    count: int
    sample: tuple[ContactEntry, ...] = ()
    notes: tuple[str, ...] = ()
    can_save: bool = False
    save_blocked: str = ""
