"""The XPM connection a submission goes to: its own, else its site's."""

from __future__ import annotations

from ...models import LeadSubmission, XpmConnection


def connection_of(submission: LeadSubmission) -> XpmConnection | None:
    """The row's connection; a row stored before its site was connected has none, and
    takes the site's connection once there is one."""
    if submission.connection is not None:
        return submission.connection
    if submission.site_id is None:
        return None
    return XpmConnection.objects.filter(site_id=submission.site_id).first()
