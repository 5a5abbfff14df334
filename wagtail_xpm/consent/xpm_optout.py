"""Opt-outs shared with XPM (placeholder: the issue-15 helper replaces this module)."""

from __future__ import annotations


def queue_for(contact, *, opted_out: bool) -> int:
    """Queue writes of the opt-out field to each XPM contact record of ``contact``."""
    return 0
