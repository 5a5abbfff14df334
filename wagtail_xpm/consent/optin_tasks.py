"""Huey task for double opt-in: the confirmation email, sent after the form was answered.

A dead or slow mail server must not hold up the visitor's thank-you page, so the email is
sent here (consent/optin.py records a failure; the person can send the form again).
"""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from .. import background
from . import optin


@db_task()
def send_consent_confirmation(confirmation_id: int) -> str:
    return optin.send(confirmation_id)


background.register(optin.TASK, send_consent_confirmation)
