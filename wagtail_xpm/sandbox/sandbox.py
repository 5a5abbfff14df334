"""The public face of the emulator: one object holding a practice, its identity server,
rate limiter, fault knobs and WSGI app."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .apiapp import API_PREFIX, ApiApp, CallStats
from .app import Dispatcher
from .clock import Clock
from .control import ControlApp
from .faults import Faults
from .generator import generate_practice
from .identity import AUTHORIZE_PATH, IdentityApp
from .oauth import OAuthConfig, OAuthServer
from .persistence import dump_state, read_document, restore_state, write_document
from .ratelimit import RateLimiter
from .scopes import DEFAULT_SCOPES
from .server import ServerHandle
from .state import PracticeState


class Sandbox:
    """A faithful local XPM 3.1 + Xero identity emulator around one ``PracticeState``.

    Use ``sb.wsgi_app`` (or ``sb`` itself) in-process, or ``with sb.serve() as server:``
    for real HTTP on a background thread. Tests move time with ``sb.advance(...)``, arm
    failures on ``sb.faults``, and skip the browser with ``sb.issue_tokens()``.
    """

    def __init__(
        self,
        state: PracticeState,
        *,
        rate_limits: bool = True,
        day_limit: int = 5000,
        minute_limit: int = 60,
        concurrency: int = 5,
        app_minute_limit: int = 10_000,
        auto_consent: bool = False,
        allowed_redirect_uris: Iterable[str] | None = None,
        token_lifetime: int = 1800,
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",
        app_name: str = "wagtail-xpm website",
        require_pkce: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.state = state
        # One lock for the practice and the identity store: handlers are short, and
        # big lists are rendered from a snapshot outside it.
        self.lock = threading.RLock()
        self.clock: Clock = clock if isinstance(clock, Clock) else Clock(clock)
        self.faults = Faults()
        self.limiter = RateLimiter(
            self.clock,
            enabled=rate_limits,
            day_limit=day_limit,
            minute_limit=minute_limit,
            concurrency=concurrency,
            app_minute_limit=app_minute_limit,
        )
        self.oauth = OAuthServer(
            state,
            self.clock,
            OAuthConfig(
                client_id=client_id,
                client_secret=client_secret,
                app_name=app_name,
                allowed_redirect_uris=(
                    tuple(allowed_redirect_uris) if allowed_redirect_uris is not None else None
                ),
                token_lifetime=token_lifetime,
                require_pkce=require_pkce,
            ),
            self.lock,
        )
        self.auto_consent = auto_consent
        self._stats = CallStats()
        self._changes = 0
        self._changes_lock = threading.Lock()
        api = ApiApp(
            state=state,
            lock=self.lock,
            oauth=self.oauth,
            limiter=self.limiter,
            faults=self.faults,
            clock=self.clock,
            stats=self._stats,
            on_change=self._changed,
        )
        identity = IdentityApp(
            state=state,
            oauth=self.oauth,
            faults=self.faults,
            stats=self._stats,
            auto_consent=auto_consent,
            on_change=self._changed,
        )
        control = ControlApp(self, on_change=self._changed)
        self.wsgi_app = Dispatcher(api=api, identity=identity, control=control)

    # -- construction and persistence ---------------------------------------------------

    @classmethod
    def generate(cls, clients: int = 25, seed: int = 1, **options: Any) -> Sandbox:
        """A sandbox around a freshly generated practice (deterministic for a seed)."""
        return cls(generate_practice(clients=clients, seed=seed), **options)

    @classmethod
    def load(cls, path: str | os.PathLike[str], **options: Any) -> Sandbox:
        """A sandbox around a practice saved with ``save()``."""
        return cls(restore_state(read_document(path)), **options)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the practice (grants and tokens included) as JSON, atomically."""
        self.oauth.prune()
        with self.lock:
            document = dump_state(self.state)
        write_document(document, path)

    # -- identity -----------------------------------------------------------------------

    @property
    def tenant_id(self) -> str:
        """The practice's tenant id (the ``xero-tenant-id`` to send)."""
        return self.state.tenant_id

    @property
    def practice_name(self) -> str:
        """The practice's name (``tenantName`` in ``/connections``)."""
        return self.state.practice_name

    @property
    def client_id(self) -> str:
        """The registered app's client id."""
        return self.oauth.config.client_id

    @property
    def client_secret(self) -> str:
        """The registered app's client secret."""
        return self.oauth.config.client_secret

    def issue_tokens(self, scopes: Iterable[str] = DEFAULT_SCOPES) -> dict[str, Any]:
        """A token response as the token endpoint would give after consent, without the
        browser flow (a new grant with its connections)."""
        response = self.oauth.issue_tokens(list(scopes))
        self._changed()
        return response

    def auth_headers(self, tokens: dict[str, Any]) -> dict[str, str]:
        """The headers an API call needs with ``tokens`` (a token response)."""
        return {
            "Authorization": f"Bearer {tokens['access_token']}",
            "xero-tenant-id": self.tenant_id,
        }

    # -- serving ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.wsgi_app(environ, start_response)

    def serve(self, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True) -> ServerHandle:
        """Start a threaded HTTP server in the background; use as a context manager."""
        return ServerHandle(self.wsgi_app, host, port, quiet=quiet)

    def env_vars(self, base_url: str) -> dict[str, str]:
        """The settings that point a site at this sandbox served at ``base_url``."""
        base = base_url.rstrip("/")
        return {
            "XPM_AUTHORIZE_URL": f"{base}{AUTHORIZE_PATH}",
            "XPM_TOKEN_URL": f"{base}/connect/token",
            "XPM_REVOKE_URL": f"{base}/connect/revocation",
            "XPM_CONNECTIONS_URL": f"{base}/connections",
            "XPM_API_URL": f"{base}{API_PREFIX}",
            "XPM_CLIENT_ID": self.client_id,
            "XPM_CLIENT_SECRET": self.client_secret,
        }

    # -- time, limits, counters ---------------------------------------------------------

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        """Move the sandbox clock forward; returns the new now."""
        return self.clock.advance(seconds, minutes=minutes, hours=hours, days=days)

    def reset_rate_limits(self) -> None:
        """Forget the minute, day and app counters."""
        self.limiter.reset()

    @property
    def api_calls(self) -> int:
        """API calls received under ``/practicemanager/3.1/`` (refused ones included)."""
        return self._stats.total

    @property
    def calls_by_path(self) -> Counter[str]:
        """Calls per path: API calls relative to the API base, e.g. ``client.api/list`` or
        ``client.api/get/<uuid>/customfield`` (resource and method lower-cased); identity
        calls by absolute path, e.g. ``/connect/token``, ``/connections``."""
        return self._stats.by_path

    @property
    def calls_by_endpoint(self) -> Counter[str]:
        """API calls per route template, e.g. ``client.api/get/{id}/customfield``."""
        return self._stats.by_endpoint

    def reset_stats(self) -> None:
        """Zero the call counters."""
        self._stats.reset()

    @property
    def changes(self) -> int:
        """How many state-changing requests have been served (for periodic saving)."""
        return self._changes

    def _changed(self) -> None:
        with self._changes_lock:
            self._changes += 1
