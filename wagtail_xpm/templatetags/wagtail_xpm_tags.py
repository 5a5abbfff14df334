"""Template filters of the XPM admin."""

from __future__ import annotations

from django import template

from ..sync.egress import format_bytes

register = template.Library()


@register.filter
def xpm_bytes(size: int | float | None) -> str:
    """Bytes in the decimal units Xero prices egress in (``{{ size|xpm_bytes }}``)."""
    return format_bytes(size)
