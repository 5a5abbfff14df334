"""The one place that picks Django's email backend, on every supported Django.

Django 6.1 configures backends in the ``MAILERS`` setting and hands them out from
``django.core.mail.mailers``; ``mail.get_connection()`` and ``send_mail(connection=...)`` are
deprecated there. Django 5.2 and 6.0 have only ``get_connection()``. Everything in
wagtail_xpm that sends email asks this module for a backend, so the choice is made once.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

#: The alias wagtail_xpm sends through when ``MAILERS`` is configured (Django 6.1+).
DEFAULT_ALIAS = "default"

#: Seconds a mail server may take to answer, for a backend whose own timeout is unset
#: (Django's SMTP backend waits for ever unless EMAIL_TIMEOUT / the "timeout" option is set):
#: an unanswering server must stop a campaign, not hold a worker for ever.
DEFAULT_TIMEOUT = 30


def has_mailers() -> bool:
    """True on Django 6.1+, where ``django.core.mail.mailers`` exists."""
    return hasattr(mail, "mailers")


def open_backend(alias: str = DEFAULT_ALIAS) -> BaseEmailBackend:
    """A new, not yet opened, instance of the site's email backend.

    On Django 6.1+ this is ``mailers[alias]`` (built from ``MAILERS``, or from the older
    ``EMAIL_*`` settings while a project has not moved to ``MAILERS``); on 5.2 and 6.0,
    ``get_connection()``. Errors are raised, never swallowed: callers decide what a failed
    send means.
    """
    backend = mail.mailers[alias] if has_mailers() else mail.get_connection()
    if getattr(backend, "timeout", False) is None:
        backend.timeout = DEFAULT_TIMEOUT
    return backend


def send_plain(
    subject: str, body: str, recipients: Sequence[str], *, from_email: str | None = None
) -> int:
    """Send one plain-text email to ``recipients`` (all in To:); the number sent (0 or 1)."""
    message = mail.EmailMessage(subject, body, from_email, list(recipients))
    return open_backend().send_messages([message]) or 0
