"""How the admin names a practice: its site, and the XPM practice when it has a name."""

from __future__ import annotations

from ..models import XpmConnection


def connection_label(connection: XpmConnection) -> str:
    site = connection.site
    site_name = site.site_name or site.hostname
    return f"{site_name} · {connection.tenant_name}" if connection.tenant_name else site_name
