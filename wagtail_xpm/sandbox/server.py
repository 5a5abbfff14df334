"""Serving the sandbox over real HTTP on a background thread.

Waitress keeps connections alive (HTTP/1.1), as XPM does, so a client reuses its
connection instead of paying a TCP connect and a server thread per call; werkzeug's
development server closes every connection. Thousands of calls per sync make that the
difference that matters in the tests and benchmarks.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from waitress.channel import ClientDisconnected
from waitress.server import create_server
from waitress.wasyncore import dispatcher as asyncore_dispatcher

# Enough for a sync's 5 concurrent reads, a streamed list, the admin's own calls and the
# slow-call faults of a test; more requests wait in waitress's queue.
SERVER_THREADS = 16


def asyncore_close(dispatcher: asyncore_dispatcher) -> None:
    """Close a dispatcher's own socket, bypassing overrides that close more."""
    asyncore_dispatcher.close(dispatcher)


class DropConnection(Exception):
    """Raised by the sandbox app to close the connection without answering (a fault)."""


def _dropping(app: Callable[..., Any]) -> Callable[..., Any]:
    """Turn `DropConnection` into waitress's "client went away", which closes the socket
    without writing a response (anything else becomes a 500)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except DropConnection as exc:
            raise ClientDisconnected(str(exc)) from exc

    return wsgi


def _logging(app: Callable[..., Any]) -> Callable[..., Any]:
    """A request line per call on stderr (``--log-requests``)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def logged_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            query = environ.get("QUERY_STRING")
            path = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            print(f"{environ.get('REQUEST_METHOD')} {path} {status}", file=sys.stderr)
            return start_response(status, headers, exc_info)

        return app(environ, logged_start_response)

    return wsgi


class ServerHandle:
    """A running waitress server on its own thread; a context manager that stops it."""

    def __init__(
        self,
        app: Callable[..., Any],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        quiet: bool = True,
    ) -> None:
        wsgi = _dropping(app)
        if not quiet:
            wsgi = _logging(wsgi)
        # waitress logs "Serving on ...", dropped clients and queue depth below ERROR.
        logging.getLogger("waitress").setLevel(logging.ERROR)
        self.server = create_server(
            wsgi,
            host=host,
            port=port,
            threads=SERVER_THREADS,
            ident="xpm-sandbox",
        )
        self.host = host
        self.port: int = self.server.effective_port  # type: ignore[union-attr]
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"xpm-sandbox:{self.port}", daemon=True
        )
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            # Closing the sockets under a polling loop can end it with EBADF.
            if not self._stopped.is_set():
                raise

    @property
    def url(self) -> str:
        """``http://127.0.0.1:54321`` (IPv6 hosts bracketed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop accepting, close every connection, let the workers finish, then end the
        serving loop. The trigger (the loop's wake-up pipe) closes last: a worker that
        finishes a request still pulls it, and a closed pipe's reused descriptor would
        take the write."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        server = self.server
        sockets = server._map  # type: ignore[union-attr]
        trigger = server.trigger  # type: ignore[union-attr]

        def close_connections(closed: threading.Event) -> None:
            # Runs on the serving thread, which owns the map. A channel's handle_close
            # also wakes a worker blocked writing a streamed body to it.
            for dispatcher in list(sockets.values()):
                if dispatcher is server:
                    asyncore_close(server)  # the listening socket only
                elif dispatcher is not trigger:
                    dispatcher.handle_close()
            closed.set()

        if self._thread.is_alive():
            closed = threading.Event()
            trigger.pull_trigger(lambda: close_connections(closed))
            closed.wait(timeout=5)
        server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        if self._thread.is_alive():
            trigger.pull_trigger(trigger.handle_close)
            self._thread.join(timeout=10)
        server.close()  # whatever is left if the loop was gone already (idempotent)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
