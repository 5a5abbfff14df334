"""What went wrong when sending an email, in words an editor can act on.

Django's SMTP backend and django-anymail's ESP backends raise very different exceptions
(``smtplib``'s, ``ssl``'s, the socket's, ``AnymailRequestsAPIError``...). Senders hand any of
them to :func:`describe` and get a :class:`MailFault`:

* ``scope="server"``: the mail server or ESP cannot be used at all right now (refused,
  timed out, TLS, login, an API key refused, 429/5xx). A campaign stops at once and keeps
  every unsent recipient waiting; sending to the next person would only fail the same way.
* ``scope="recipient"``: this address was refused (550 no such user, an invalid address);
  the rest can still go.
* ``scope="message"``: this one email was refused for what it is (content, size); it is
  recorded, and repeated refusals pause a campaign (``CAMPAIGN_MAX_CONSECUTIVE_FAILURES``).

``maybe_sent`` says whether the email may nevertheless have been accepted (no answer after it
was handed over, or an ESP's 2xx that could not be read): at-most-once senders never send
such an email again.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

try:  # django-anymail is a dependency, but an ESP-less site must not need it to report SMTP
    from anymail.exceptions import (
        AnymailAPIError,
        AnymailError,
        AnymailInvalidAddress,
        AnymailRecipientsRefused,
        AnymailRequestsAPIError,
    )
except ImportError:  # pragma: no cover
    AnymailError = AnymailAPIError = AnymailRequestsAPIError = ()  # type: ignore[misc,assignment]
    AnymailInvalidAddress = AnymailRecipientsRefused = ()  # type: ignore[misc,assignment]

from . import mailer

Scope = Literal["server", "recipient", "message"]


@dataclass(frozen=True)
class MailFault:
    """One sending failure, classified and worded for people (never the raw exception)."""

    scope: Scope
    reason: str
    maybe_sent: bool = False

    @property
    def stops_sending(self) -> bool:
        return self.scope == "server"


def _uses_mailers() -> bool:
    return mailer.has_mailers() and hasattr(settings, "MAILERS")


def _setting(name: str) -> str:
    """How an editor's administrator finds a mail setting on this Django."""
    if not _uses_mailers():
        return name
    option = {
        "EMAIL_HOST": "host",
        "EMAIL_PORT": "port",
        "EMAIL_HOST_USER": "username",
        "EMAIL_HOST_PASSWORD": "password",
        "EMAIL_USE_TLS": "use_tls",
        "EMAIL_USE_SSL": "use_ssl",
        "EMAIL_TIMEOUT": "timeout",
    }.get(name)
    return f'MAILERS["default"]["OPTIONS"]["{option}"]' if option else name


def server_name(backend: Any) -> str:
    """``the mail server at smtp.example.com:587``, ``Mailgun``, or ``the mail server``."""
    esp = getattr(backend, "esp_name", None)
    if esp:
        return str(esp)
    host = getattr(backend, "host", None)
    if host:
        port = getattr(backend, "port", None)
        where = f"{host}:{port}" if port else str(host)
        return _("the mail server at %(where)s") % {"where": where}
    return _("the mail server")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _smtp_reply(code: Any, text: Any) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    words = " ".join(str(text or "").split())[:200]
    return f"{code} {words}".strip()


def describe(exc: BaseException, *, backend: Any = None, sending: bool = True) -> MailFault:
    """Classify ``exc`` raised by ``backend``. ``sending``: raised while an email was being
    handed over (rather than while connecting), which is when it may have gone out."""
    server = server_name(backend)
    Server = _capital(server)

    # --- django-anymail (ESP HTTP APIs) ---------------------------------------------------
    if AnymailError and isinstance(exc, AnymailRecipientsRefused):
        return MailFault("recipient", _("%(esp)s refused this address.") % {"esp": Server})
    if AnymailError and isinstance(exc, AnymailInvalidAddress):
        return MailFault("recipient", _("The email address is not valid."))
    if AnymailError and isinstance(exc, AnymailRequestsAPIError):
        return _describe_esp_http(exc, Server)
    if AnymailError and isinstance(exc, AnymailAPIError):
        return MailFault(
            "message", _("%(esp)s did not accept this email.") % {"esp": Server}, maybe_sent=False
        )
    if AnymailError and isinstance(exc, AnymailError):
        # Anymail's own checks (a missing API key or sender domain): settings, not people.
        first_line = str(exc.args[0] if exc.args else "").splitlines()[0:1]
        detail = first_line[0][:200] if first_line else type(exc).__name__
        return MailFault(
            "server",
            _("The email settings for %(esp)s are incomplete (%(detail)s): check ANYMAIL.")
            % {"esp": server, "detail": detail},
        )

    # --- SMTP -----------------------------------------------------------------------------
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return MailFault(
            "server",
            _("%(server)s refused the login: check %(user)s and %(password)s.")
            % {
                "server": Server,
                "user": _setting("EMAIL_HOST_USER"),
                "password": _setting("EMAIL_HOST_PASSWORD"),
            },
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = [
            _smtp_reply(code, text) for code, text in list((exc.recipients or {}).values())[:1]
        ]
        reply = replies[0] if replies else ""
        if reply.startswith("4"):
            # A temporary refusal ("try again later") is about the server, not the person.
            return MailFault(
                "server",
                _("%(server)s asked to try again later (%(reply)s).")
                % {"server": Server, "reply": reply},
            )
        return MailFault(
            "recipient",
            _("%(server)s refused this address (%(reply)s).") % {"server": Server, "reply": reply},
        )
    if isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code == 530:
        return MailFault(
            "server",
            _("%(server)s requires a login: set %(user)s and %(password)s.")
            % {
                "server": Server,
                "user": _setting("EMAIL_HOST_USER"),
                "password": _setting("EMAIL_HOST_PASSWORD"),
            },
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return MailFault(
            "server",
            _(
                "%(server)s refused the sender address %(sender)s (%(reply)s): use an address "
                "the server may send from (the campaign's From, or DEFAULT_FROM_EMAIL)."
            )
            % {
                "server": Server,
                "sender": exc.sender,
                "reply": _smtp_reply(exc.smtp_code, exc.smtp_error),
            },
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
        exc.__context__, TimeoutError
    ):
        # smtplib reports a reply that never came as a disconnection.
        return MailFault(
            "server",
            _("%(server)s did not answer in time: is it reachable from this server?")
            % {"server": Server},
            maybe_sent=sending,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return MailFault(
            "server",
            _("%(server)s closed the connection unexpectedly; the email was not accepted.")
            % {"server": Server},
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailFault(
            "server",
            _("%(server)s does not offer what the settings ask for (TLS or login): check %(tls)s.")
            % {"server": Server, "tls": _setting("EMAIL_USE_TLS")},
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _smtp_reply(exc.smtp_code, exc.smtp_error)
        if isinstance(exc, smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
            return MailFault(
                "message",
                _("%(server)s rejected this email (%(reply)s).")
                % {"server": Server, "reply": reply},
            )
        return MailFault(
            "server",
            _("%(server)s answered with an error (%(reply)s).")
            % {"server": Server, "reply": reply},
        )
    if isinstance(exc, smtplib.SMTPException):
        return MailFault(
            "server", _("%(server)s could not be used to send email.") % {"server": Server}
        )

    # --- the network -----------------------------------------------------------------------
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return MailFault(
            "server",
            _(
                "The secure (TLS) connection to %(server)s failed: check %(tls)s, %(ssl)s and "
                "%(port)s."
            )
            % {
                "server": server,
                "tls": _setting("EMAIL_USE_TLS"),
                "ssl": _setting("EMAIL_USE_SSL"),
                "port": _setting("EMAIL_PORT"),
            },
        )
    if isinstance(exc, ConnectionRefusedError):
        return MailFault(
            "server",
            _(
                "%(server)s refused the connection: is it running, and are %(host)s and "
                "%(port)s right?"
            )
            % {"server": Server, "host": _setting("EMAIL_HOST"), "port": _setting("EMAIL_PORT")},
        )
    if isinstance(exc, socket.gaierror):
        return MailFault(
            "server",
            _("The name of %(server)s could not be found: check %(host)s.")
            % {"server": server, "host": _setting("EMAIL_HOST")},
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return MailFault(
            "server",
            _("%(server)s did not answer in time: is it reachable from this server?")
            % {"server": Server},
            maybe_sent=sending,
        )
    if isinstance(exc, ConnectionError):
        return MailFault(
            "server",
            _("The connection to %(server)s was lost; the email was not accepted.")
            % {"server": server},
        )
    if isinstance(exc, OSError):
        return MailFault(
            "server",
            _("%(server)s could not be reached (%(why)s).")
            % {"server": Server, "why": exc.strerror or type(exc).__name__},
        )
    if isinstance(exc, ImproperlyConfigured | ImportError):
        return MailFault(
            "server",
            _("The site's email settings are wrong: %(detail)s")
            % {"detail": str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__},
        )
    return MailFault(
        "message",
        _("The email could not be sent (%(kind)s).") % {"kind": type(exc).__name__},
    )


def _describe_esp_http(exc: Any, esp: str) -> MailFault:
    status = getattr(exc, "status_code", None)
    cause = exc.__cause__
    if status is None:
        # requests raised before any answer: connect errors, timeouts.
        import requests

        if isinstance(cause, requests.exceptions.ConnectTimeout):
            return MailFault("server", _("%(esp)s did not answer in time.") % {"esp": esp})
        if isinstance(cause, requests.exceptions.Timeout):
            return MailFault(
                "server",
                _("%(esp)s did not answer in time; the email may have been accepted.")
                % {"esp": esp},
                maybe_sent=True,
            )
        if isinstance(cause, requests.exceptions.SSLError):
            return MailFault("server", _("The secure connection to %(esp)s failed.") % {"esp": esp})
        return MailFault(
            "server",
            _("%(esp)s could not be reached: check the server's internet access and ANYMAIL.")
            % {"esp": esp},
        )
    if 200 <= status < 300:
        # The ESP took the request but its answer could not be read (malformed JSON): the
        # email may well be on its way, so it is never sent again.
        return MailFault(
            "server",
            _(
                "%(esp)s answered in a way the site does not understand; the email may have "
                "been accepted."
            )  # fmt: skip
            % {"esp": esp},
            maybe_sent=True,
        )
    if status in (401, 403):
        return MailFault(
            "server",
            _(
                "%(esp)s refused the site's credentials (HTTP %(status)s): check the API key "
                "in ANYMAIL."
            )  # fmt: skip
            % {"esp": esp, "status": status},
        )
    if status == 429:
        return MailFault(
            "server",
            _("%(esp)s is limiting how fast the site may send (HTTP 429): resume later.")
            % {"esp": esp},
        )
    if status >= 500:
        return MailFault(
            "server",
            _("%(esp)s had a problem of its own (HTTP %(status)s): resume later.")
            % {"esp": esp, "status": status},
        )
    if status == 404:
        return MailFault(
            "server",
            _(
                "%(esp)s does not know the sending domain or API address (HTTP 404): check ANYMAIL."
            )  # fmt: skip
            % {"esp": esp},
        )
    return MailFault(
        "message",
        _("%(esp)s did not accept this email (HTTP %(status)s).") % {"esp": esp, "status": status},
    )
