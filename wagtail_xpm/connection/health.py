"""Proving a connection works: one cheap XPM call that also reads the day's call budget."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import ngettext

from ..models import XpmConnection
from ..xpm.errors import XpmError
from . import budget
from .factory import client_for


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    staff_count: int | None = None
    day_calls_remaining: int | None = None


def check_connection(connection: XpmConnection) -> ConnectionCheck:
    """Make one cheap API call to prove the connection works and learn the day budget."""
    try:
        client = client_for(connection)
        staff = client.list_staff()
    except XpmError as exc:
        connection.refresh_from_db()
        connection.last_error = str(exc)
        connection.save(update_fields=["last_error", "updated_at"])
        return ConnectionCheck(ok=False, message=str(exc))
    budget.record(connection.pk, client.day_remaining)
    connection.refresh_from_db()
    connection.last_error = ""
    connection.save(update_fields=["last_error", "updated_at"])
    return ConnectionCheck(
        ok=True,
        message=ngettext(
            "Connected to %(practice)s: %(count)s staff member visible.",
            "Connected to %(practice)s: %(count)s staff visible.",
            len(staff),
        )
        % {"practice": connection.tenant_name, "count": len(staff)},
        staff_count=len(staff),
        day_calls_remaining=client.day_remaining,
    )
