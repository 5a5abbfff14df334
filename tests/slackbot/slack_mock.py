"""A local Slack Web API for the bot's tests: records every call and answers like Slack.

slack_sdk talks to Slack with urllib, which ``responses`` cannot intercept; this is a real
HTTP server on 127.0.0.1 that ``SLACK_API_URL`` points at. It also serves response URLs
(``/respond/<name>``) and, for Socket Mode, a minimal WebSocket endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TRIGGERS = itertools.count(1)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str = ""
    at: float = field(default_factory=time.monotonic)


# How long a held method waits for its test to let it answer.
HOLD_LIMIT = 10.0


class MockSlack:
    """The fake Slack. ``users`` answers users.info; ``errors`` makes a method fail."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        # method -> Slack error code, optionally only for one channel: {"chat.postMessage":
        # ("not_in_channel", "C_OUTSIDE")}
        self.errors: dict[str, tuple[str, str | None]] = {}
        self.delays: dict[str, float] = {}
        # method -> an Event: the method answers once it is set (HOLD_LIMIT seconds at most),
        # so a test can tell what happened before the answer without timing anything.
        self.holds: dict[str, threading.Event] = {}
        self.socket_envelopes: list[dict[str, Any]] = []
        self.socket_acks: list[dict[str, Any]] = []
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    self.close_connection = True
                    mock._serve_websocket(self)
                    return
                self._api(urlsplit(self.path), b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._api(urlsplit(self.path), self.rfile.read(length))

            def _api(self, url: Any, raw: bytes) -> None:
                params: dict[str, Any] = dict(parse_qsl(url.query))
                content_type = self.headers.get("Content-Type", "")
                if raw and "json" in content_type:
                    params.update(json.loads(raw))
                elif raw:
                    params.update(dict(parse_qsl(raw.decode())))
                for name in ("blocks", "view"):
                    if isinstance(params.get(name), str):
                        params[name] = json.loads(params[name])
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if url.path.startswith("/respond/"):
                    method = "respond"
                    params["response_url_name"] = url.path.rsplit("/", 1)[-1]
                else:
                    method = url.path.rsplit("/", 1)[-1]
                delay = mock.delays.get(method, 0)
                if delay:
                    time.sleep(delay)
                hold = mock.holds.get(method)
                if hold is not None:
                    hold.wait(HOLD_LIMIT)
                mock._record(Call(method, params, token))
                body = json.dumps(mock.answer(method, params)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            # A short poll: shutdown() waits up to one interval (0.5 s by default) per test.
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    # --- life cycle

    def __enter__(self) -> MockSlack:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"{self.base}/respond/{name}"

    # --- recording

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c.params for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c.params for c in self.calls if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method} called {len(found)} times, wanted {count}")
                self._changed.wait(left)

    def add_user(self, user_id: str, email: str | None, **extra: Any) -> None:
        profile = {"email": email} if email else {}
        self.users[user_id] = {"id": user_id, "name": user_id.lower(), "profile": profile, **extra}

    # --- answers

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        error = self.errors.get(method)
        if error and (error[1] is None or error[1] == params.get("channel")):
            return {"ok": False, "error": error[0]}
        if method == "respond":
            return {"ok": True}
        if method == "users.info":
            user = self.users.get(params.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "chat.postMessage":
            channel = params.get("channel", "")
            if channel.startswith(("U", "W")):
                channel = "D" + channel[1:]  # posting to a user lands in the app's DM with them
            ts = f"1700000000.{next(self._ts):06d}"
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": params.get("text")},
            }
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method in ("views.open", "views.update", "views.push"):
            view = dict(params.get("view") or {})
            view_id = params.get("view_id") or f"V{next(self._views):04d}"
            view.update(id=view_id, hash=f"hash-{time.monotonic_ns()}")
            return {"ok": True, "view": view}
        if method == "apps.connections.open":
            host, port = self.server.server_address[:2]
            return {"ok": True, "url": f"ws://{host}:{port}/link/?ticket=test"}
        if method == "auth.test":
            return {"ok": True, "team_id": "T0001", "user_id": "UBOT", "bot_id": "B1"}
        return {"ok": True}

    # --- Socket Mode: just enough RFC 6455 for slack_sdk's built-in client

    def _serve_websocket(self, handler: BaseHTTPRequestHandler) -> None:
        key = handler.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept)
        handler.end_headers()
        handler.wfile.flush()
        sock: socket.socket = handler.connection
        self._ws_send(sock, json.dumps({"type": "hello", "num_connections": 1}))
        for envelope in self.socket_envelopes:
            self._ws_send(sock, json.dumps(envelope))
        sock.settimeout(15)
        try:
            while len(self.socket_acks) < len(self.socket_envelopes):
                opcode, data = self._ws_read(sock)
                if opcode == 8:
                    return
                if opcode == 9:  # ping
                    self._ws_send(sock, data.decode(), opcode=10)
                    continue
                if opcode == 1:
                    message = json.loads(data)
                    if "envelope_id" in message:
                        with self._changed:
                            self.socket_acks.append(message)
                            self._changed.notify_all()
            # Keep the connection open until the test closes the client.
            while True:
                opcode, data = self._ws_read(sock)
                if opcode == 8:
                    return
                if opcode == 9:
                    self._ws_send(sock, data.decode(), opcode=10)
        except (OSError, ConnectionError):
            return

    def wait_for_socket_acks(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.socket_acks) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.socket_acks)} socket acks, wanted {count}")
                self._changed.wait(left)
            return list(self.socket_acks)

    @staticmethod
    def _ws_send(sock: socket.socket, text: str, opcode: int = 1) -> None:
        data = text.encode()
        head = bytes([0x80 | opcode])
        if len(data) < 126:
            head += bytes([len(data)])
        elif len(data) < 65536:
            head += bytes([126]) + struct.pack("!H", len(data))
        else:
            head += bytes([127]) + struct.pack("!Q", len(data))
        sock.sendall(head + data)

    @staticmethod
    def _ws_read(sock: socket.socket) -> tuple[int, bytes]:
        def exactly(n: int) -> bytes:
            chunks = b""
            while len(chunks) < n:
                chunk = sock.recv(n - len(chunks))
                if not chunk:
                    raise ConnectionError("closed")
                chunks += chunk
            return chunks

        first, second = exactly(2)
        opcode = first & 0x0F
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", exactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", exactly(8))[0]
        mask = exactly(4) if second & 0x80 else b""
        data = exactly(length)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        return opcode, data


# --- signed requests, as Slack sends them ---------------------------------------------------


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-* headers for ``body`` (Slack's v0 HMAC-SHA256 scheme)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": ts}


def command_body(
    text: str,
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    command: str = "/xpm",
    trigger_id: str | None = None,
) -> str:
    # Slack's trigger ids are unique, so two real requests never carry the same signature.
    trigger_id = trigger_id or f"{time.time_ns()}.{next(_TRIGGERS)}.abcd"
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "team_domain": "example-firm",
            "channel_id": channel_id,
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})
