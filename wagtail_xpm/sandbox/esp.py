"""A stand-in for an email service provider's send API (Mailgun's), on loopback.

django-anymail's Mailgun backend posts each email to ``<MAILGUN_API_URL>/<domain>/messages``
and reads ``{"id": ..., "message": "Queued. Thank you."}`` back. Pointing
``ANYMAIL["MAILGUN_API_URL"]`` at this app runs the real backend over real HTTP with no
internet: the tests use it for the ESP's failures (429, 500, an answer that is not JSON, a
refused API key) and the benchmark for a 10,000-recipient campaign. Mailgun's batch call
(several ``to`` with ``recipient-variables``) is accepted too, each recipient counted.
It imports no Django; it is served by the sandbox's waitress server::

    esp = MailgunStandIn(api_key="key-test")
    with esp.serve() as server:
        ANYMAIL = {"MAILGUN_API_KEY": "key-test", "MAILGUN_API_URL": f"{server.url}/v3"}
        esp.fail(429, times=1)
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from .server import ServerHandle

#: Emails kept for inspection (the count goes on beyond it).
KEEP = 1000


@dataclass
class AcceptedEmail:
    """One email as the API accepted it (one per recipient of a batch call)."""

    message_id: str
    domain: str
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    variables: dict[str, str]
    tags: list[str] = field(default_factory=list)


class MailgunStandIn:
    """The WSGI app; ``fail``/``malformed`` arm faults for the next calls."""

    def __init__(self, *, api_key: str | None = None, keep: int = KEEP) -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._faults: deque[tuple[int, bytes, str]] = deque()
        self.calls = 0
        self.accepted_count = 0
        self.accepted: deque[AcceptedEmail] = deque(maxlen=keep)

    # -- faults ---------------------------------------------------------------------------------

    def fail(self, status: int, *, times: int = 1, body: dict[str, Any] | None = None) -> None:
        """Answer the next ``times`` calls with ``status`` (nothing is accepted)."""
        payload = json.dumps(body or {"message": f"Stand-in error {status}"}).encode()
        with self._lock:
            self._faults.extend([(status, payload, "application/json")] * times)

    def malformed(self, *, times: int = 1) -> None:
        """Accept the next ``times`` emails but answer 200 with a body that is not JSON."""
        with self._lock:
            fault = (200, b"<html>upstream proxy says hi</html>", "text/html")
            self._faults.extend([fault] * times)

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def _authorised(self, request: Request) -> bool:
        if self.api_key is None:
            return True
        expected = base64.b64encode(f"api:{self.api_key}".encode()).decode()
        return request.headers.get("Authorization", "") == f"Basic {expected}"

    def stats(self) -> dict[str, int]:
        return {"calls": self.calls, "accepted": self.accepted_count}

    def handle(self, request: Request) -> Response:
        if request.path == "/_standin/stats":
            return _json(self.stats(), 200)
        parts = request.path.strip("/").split("/")
        if request.method != "POST" or len(parts) != 3 or parts[::2] != ["v3", "messages"]:
            return _json({"message": "Mailgun Magnificent API"}, 200)
        with self._lock:
            self.calls += 1
        if not self._authorised(request):
            return Response("Forbidden", status=401)
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault[0] != 200:
            status, body, content_type = fault
            return Response(body, status=status, content_type=content_type)
        form = request.form
        recipients = form.getlist("to")
        if not recipients or not form.get("from"):
            return _json({"message": "'to' and 'from' parameters are missing"}, 400)
        domain = parts[1]
        variables = json.loads(form.get("recipient-variables") or "{}")
        headers = {k[2:]: v for k, v in form.items() if k.startswith("h:")}
        custom = {k[2:]: v for k, v in form.items() if k.startswith("v:")}
        with self._lock:
            message_id = f"<{next(self._ids)}.standin@{domain}>"
            for recipient in recipients:
                self.accepted_count += 1
                self.accepted.append(
                    AcceptedEmail(
                        message_id=message_id,
                        domain=domain,
                        to=recipient,
                        subject=form.get("subject", ""),
                        text=form.get("text", ""),
                        html=form.get("html", ""),
                        headers=headers,
                        variables={**custom, **_recipient_vars(variables, recipient)},
                        tags=form.getlist("o:tag"),
                    )
                )
        if fault is not None:  # accepted, but the answer cannot be read
            return Response(fault[1], status=200, content_type=fault[2])
        return _json({"id": message_id, "message": "Queued. Thank you."}, 200)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
        """Serve on a background thread (waitress, keep-alive); a context manager."""
        return ServerHandle(self, host, port)


class StandInProcess:
    """A ``MailgunStandIn`` served by a process of its own (forked), as a real ESP is: its
    work does not share the sender's interpreter (the benchmark). ``url``; ``stats()``
    reads its counts over HTTP; ``stop()`` ends it. A context manager."""

    def __init__(self, *, api_key: str | None = None) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve_until, args=(api_key, send, self._stop), daemon=True
        )
        self._process.start()
        if not receive.poll(30):
            self._process.kill()
            raise RuntimeError("The ESP stand-in did not start within 30 seconds")
        self.url: str = receive.recv()

    def stats(self) -> dict[str, int]:
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/_standin/stats", timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def __enter__(self) -> StandInProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _serve_until(api_key: str | None, send: Any, stop: Any) -> None:
    stand_in = MailgunStandIn(api_key=api_key, keep=10)
    with stand_in.serve() as server:
        send.send(server.url)
        stop.wait()


def _recipient_vars(variables: dict[str, Any], recipient: str) -> dict[str, str]:
    for key, values in variables.items():
        if key.lower() in recipient.lower():
            return {k: str(v) for k, v in (values or {}).items()}
    return {}


def _json(data: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")
