"""Serving the sandbox over real HTTP on a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class KeepAliveRequestHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections, as XPM serves: a client reuses its connection
    instead of paying a TCP connect (and a server thread) per call."""

    protocol_version = "HTTP/1.1"


class QuietRequestHandler(KeepAliveRequestHandler):
    """No per-request log lines: tests and benchmarks make thousands of calls."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class ServerHandle:
    """A running threaded werkzeug server; a context manager that stops it on exit."""

    def __init__(
        self,
        app: Callable[..., Any],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        quiet: bool = True,
    ) -> None:
        self.server: BaseWSGIServer = make_server(
            host,
            port,
            app,
            threaded=True,
            request_handler=QuietRequestHandler if quiet else KeepAliveRequestHandler,
        )
        # Threads must not keep a test process alive if the handle is never closed.
        self.server.daemon_threads = True  # type: ignore[attr-defined]
        self.host = host
        self.port: int = self.server.server_port
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"xpm-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:54321`` (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and wait for the serving thread."""
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(timeout=10)
        self.server.server_close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
