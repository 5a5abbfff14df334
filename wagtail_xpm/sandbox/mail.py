"""A local SMTP server that keeps every email it is sent: the demo's mail catcher, and the
mail server of the tests (with faults a real one has).

Built on aiosmtpd (the ``sandbox`` extra). Like the rest of the sandbox it imports no
Django: ``make demo`` runs it inside ``manage.py xpm_sandbox --smtp-port N``, which shows the
caught emails at ``/_sandbox/mail/`` (``mailpages.py``); tests start one in-process::

    from wagtail_xpm.sandbox.mail import MailCatcher

    with MailCatcher() as catcher:        # 127.0.0.1, a free port
        ...                               # EMAIL_HOST=127.0.0.1, EMAIL_PORT=catcher.port
        catcher.faults.reject("bob@example.com")
        [message] = catcher.mailbox.messages()

Faults (``catcher.faults``, also armed from the mail page): ``down`` (stop listening: the
connection is refused), ``reject`` an address (550 at RCPT), ``require_login`` (535 for any
other user name and password, 530 without a login), ``drop_in_data`` (close the connection
while the message is being sent), ``stall_data`` (never answer after the message: the client
times out), ``temporary`` (451 after the message).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import threading
import warnings
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ._requires import MISSING_EXTRA

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
except ImportError as exc:  # an install from before the extra brought aiosmtpd
    raise ImportError(MISSING_EXTRA) from exc

#: Emails kept in memory (the oldest go first); the directory, when given, keeps them all.
KEEP = 2000


@dataclass
class CaughtMessage:
    """One email as the server received it (envelope and raw bytes)."""

    id: int
    received_at: datetime
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def subject(self) -> str:
        return str(self.parsed.get("Subject", ""))

    def header(self, name: str) -> str:
        return str(self.parsed.get(name, ""))

    def part(self, subtype: str) -> str:
        """The ``text/<subtype>`` body ("plain" or "html"), or ""."""
        body = self.parsed.get_body(preferencelist=(subtype,))
        if body is None or body.get_content_subtype() != subtype:
            return ""
        return str(body.get_content())

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "from": self.header("From") or self.mail_from,
            "to": self.rcpt_tos,
            "subject": self.subject,
            "list_unsubscribe": self.header("List-Unsubscribe"),
        }


class Mailbox:
    """The caught emails, newest last; thread-safe. With ``directory``, each email is also
    written there as ``<id>.eml`` and read back on start, so a restarted demo keeps them."""

    def __init__(self, directory: str | Path | None = None, *, keep: int = KEEP) -> None:
        self._lock = threading.Lock()
        self._messages: deque[CaughtMessage] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self.directory = Path(directory) if directory else None
        self.received = threading.Condition(self._lock)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._load()

    def _load(self) -> None:
        assert self.directory is not None
        files = sorted(
            (p for p in self.directory.glob("*.eml") if p.stem.isdigit()), key=lambda p: int(p.stem)
        )
        for path in files:
            raw = path.read_bytes()
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            self._messages.append(
                CaughtMessage(
                    id=int(path.stem),
                    received_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
                    mail_from=str(parsed.get("From", "")),
                    rcpt_tos=[
                        r.strip()
                        for r in str(parsed.get("X-Caught-Rcpt", parsed.get("To", ""))).split(",")
                        if r.strip()
                    ],
                    raw=raw,
                )
            )
        if files:
            self._ids = itertools.count(int(files[-1].stem) + 1)

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> CaughtMessage:
        with self._lock:
            message = CaughtMessage(
                id=next(self._ids),
                received_at=datetime.now(UTC),
                mail_from=mail_from,
                rcpt_tos=list(rcpt_tos),
                raw=raw,
            )
            self._messages.append(message)
            if self.directory is not None:
                stamp = f"X-Caught-Rcpt: {', '.join(rcpt_tos)}\r\n".encode()
                (self.directory / f"{message.id}.eml").write_bytes(stamp + raw)
            self.received.notify_all()
        return message

    def messages(self) -> list[CaughtMessage]:
        with self._lock:
            return list(self._messages)

    def get(self, message_id: int) -> CaughtMessage | None:
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)

    def to(self, address: str) -> list[CaughtMessage]:
        address = address.lower()
        return [m for m in self.messages() if address in (r.lower() for r in m.rcpt_tos)]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            if self.directory is not None:
                for path in self.directory.glob("*.eml"):
                    path.unlink(missing_ok=True)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` emails were caught (tests)."""
        with self._lock:
            return self.received.wait_for(lambda: len(self._messages) >= count, timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)


@dataclass
class MailFaults:
    """What the server does wrong; changed at any time, read per connection and command."""

    rejected: set[str] = field(default_factory=set)
    login: tuple[str, str] | None = None
    drop_in_data: bool = False
    stall_data: bool = False
    temporary: bool = False

    def reject(self, *addresses: str) -> None:
        self.rejected.update(a.lower() for a in addresses)

    def require_login(self, username: str, password: str) -> None:
        self.login = (username, password)

    def reset(self) -> None:
        self.rejected.clear()
        self.login = None
        self.drop_in_data = self.stall_data = self.temporary = False

    def describe(self) -> dict[str, Any]:
        return {
            "rejected": sorted(self.rejected),
            "require_login": self.login is not None,
            "drop_in_data": self.drop_in_data,
            "stall_data": self.stall_data,
            "temporary": self.temporary,
        }


class _Handler:
    def __init__(self, mailbox: Mailbox, faults: MailFaults) -> None:
        self.mailbox = mailbox
        self.faults = faults

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.lower() in self.faults.rejected:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.faults.stall_data:
            await asyncio.sleep(3600)
        if self.faults.temporary:
            return "451 4.3.0 Mail server temporarily unavailable, try again later"
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        self.mailbox.add(str(envelope.mail_from), list(envelope.rcpt_tos), raw)
        return "250 2.0.0 OK: queued"


class _FaultySMTP(SMTP):
    """aiosmtpd's server, able to drop the connection halfway through a message."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._faults = handler.faults

    async def smtp_DATA(self, arg: str) -> None:
        if self._faults.drop_in_data and self.envelope is not None and self.envelope.rcpt_tos:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readline()  # type: ignore[union-attr]
            if self.transport is not None:
                self.transport.close()
            return
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._handler = handler

    def factory(self) -> SMTP:
        login = self._handler.faults.login
        options: dict[str, Any] = dict(self.SMTP_kwargs)
        if login is not None:

            def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and (
                        auth_data.login.decode(),
                        auth_data.password.decode(),
                    )
                    == login
                )
                # handled=False: aiosmtpd answers "535 Authentication credentials invalid".
                return AuthResult(success=ok, handled=False)

            options.update(auth_required=True, auth_require_tls=False, authenticator=authenticate)
        with warnings.catch_warnings():
            # A loopback test server has no TLS; aiosmtpd warns about login without it.
            warnings.simplefilter("ignore", UserWarning)
            return _FaultySMTP(self._handler, **options)


class MailCatcher:
    """The SMTP server on a background thread; a context manager that stops it.

    ``port=0`` picks a free port (``catcher.port`` says which). ``down()`` stops listening
    (clients are refused) and ``up()`` listens again on the same port.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        mailbox: Mailbox | None = None,
        faults: MailFaults | None = None,
    ) -> None:
        self.host = host
        self.mailbox = mailbox if mailbox is not None else Mailbox()
        self.faults = faults if faults is not None else MailFaults()
        self._handler = _Handler(self.mailbox, self.faults)
        self._lock = threading.Lock()
        self.port = port or _free_port(host)
        self._controller: _Controller | None = None
        self.up()

    @property
    def is_up(self) -> bool:
        return self._controller is not None

    def up(self) -> None:
        """Listen (again)."""
        with self._lock:
            if self._controller is not None:
                return
            controller = _Controller(
                self._handler,
                hostname=self.host,
                port=self.port,
                server_hostname="mail.sandbox.invalid",
                ready_timeout=10.0,
            )
            controller.start()
            self._controller = controller

    def down(self) -> None:
        """Stop listening: a client's connection is refused until ``up()``."""
        with self._lock:
            controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    stop = down

    def __enter__(self) -> MailCatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.down()


def _free_port(host: str) -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
