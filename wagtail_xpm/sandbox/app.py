"""One port, three hosts: route a request to the API, identity or control app by path
(docs/xpm-api.md 14.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.utils import redirect

from .apiapp import API_PREFIX

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
IDENTITY_PREFIXES = ("/identity/", "/connect/", "/connections")


class Dispatcher:
    """The sandbox's WSGI entry point."""

    def __init__(self, *, api: WsgiApp, identity: WsgiApp, control: WsgiApp) -> None:
        self.api = api
        self.identity = identity
        self.control = control
        # The mail catcher's pages (mailpages.py), when the process runs one.
        self.mail: WsgiApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        if path.startswith(API_PREFIX):
            return self.api(environ, start_response)
        if path.startswith(IDENTITY_PREFIXES):
            return self.identity(environ, start_response)
        if self.mail is not None and path.startswith("/_sandbox/mail"):
            return self.mail(environ, start_response)
        if path.startswith("/_sandbox/"):
            return self.control(environ, start_response)
        if path in ("/", "/_sandbox"):
            return redirect("/_sandbox/")(environ, start_response)
        return NotFound()(environ, start_response)
