"""The API host (``/practicemanager/3.1/...``): gateway checks, then a handler.

Order per call, as the real gateway behaves: bearer token (401) -> tenant header (403) ->
route (404/405) -> scope (401 AuthorizationUnsuccessful) -> rate limits (429) -> injected
faults -> handler. Every call admitted past the limiter counts, business errors included.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from .api.context import ApiContext, ApiError
from .api.routes import resolve
from .faults import FaultRule, Faults
from .oauth import ApiAuthError, OAuthServer
from .problems import correlation_id, problem
from .ratelimit import RateLimiter
from .server import DropConnection
from .state import PracticeState
from .xmlin import MAX_BODY_BYTES, BodyError
from .xmlout import error_envelope

API_PREFIX = "/practicemanager/3.1/"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"


class CallStats:
    """How many API calls were served, in total, per path and per endpoint template.

    API paths are keyed relative to the API base (``client.api/list``); identity-host
    calls are keyed by their absolute path (``/connect/token``) and kept out of ``total``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.by_path: Counter[str] = Counter()
        self.by_endpoint: Counter[str] = Counter()

    def count(self, path: str) -> None:
        with self._lock:
            self.total += 1
            self.by_path[path] += 1

    def count_other(self, path: str) -> None:
        """An identity-host call: counted per path (``/connect/token``), not in the total."""
        with self._lock:
            self.by_path[path] += 1

    def count_endpoint(self, template: str) -> None:
        with self._lock:
            self.by_endpoint[template] += 1

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_path.clear()
            self.by_endpoint.clear()


class _Admission:
    """A limiter slot that is given back exactly once, when the body is fully sent."""

    def __init__(self, limiter: RateLimiter, tenant_id: str) -> None:
        self._limiter = limiter
        self._tenant_id = tenant_id
        self._done = False
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        self._limiter.release(self._tenant_id)


class _Releasing:
    """A streamed body that gives its limiter slot back when fully sent or closed
    (servers call ``close()``; in-process callers may only exhaust it)."""

    def __init__(self, app_iter: Iterable[bytes], release: Callable[[], None]) -> None:
        self._app_iter = app_iter
        self._release = release

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._app_iter
        finally:
            self._release()

    def close(self) -> None:
        try:
            close = getattr(self._app_iter, "close", None)
            if close is not None:
                close()
        finally:
            self._release()


class ApiApp:
    """WSGI app for the XPM API paths."""

    def __init__(
        self,
        *,
        state: PracticeState,
        lock: threading.RLock,
        oauth: OAuthServer,
        limiter: RateLimiter,
        faults: Faults,
        clock: Callable[[], datetime],
        stats: CallStats,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.state = state
        self.lock = lock
        self.oauth = oauth
        self.limiter = limiter
        self.faults = faults
        self.clock = clock
        self.stats = stats
        self.on_change = on_change

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        admission: _Admission | None = None
        try:
            response, admission = self._dispatch(request)
        except BaseException:
            if admission is not None:
                admission.release()
            raise
        if admission is not None and not response.is_streamed:
            # A whole document is ready: the call is over, whoever reads the body.
            admission.release()
            admission = None
        app_iter = response(environ, start_response)
        if admission is None:
            return app_iter
        return _Releasing(app_iter, admission.release)

    # -- pipeline -----------------------------------------------------------------------

    def _dispatch(self, request: Request) -> tuple[Response, _Admission | None]:
        relative = request.path[len(API_PREFIX) :]
        segments = relative.split("/")
        while segments and segments[-1] == "":
            segments.pop()
        self.stats.count(_normalise(segments))

        try:
            token, grant = self.oauth.authenticate(request.headers.get("Authorization"))
            self.oauth.check_tenant(grant, request.headers.get("xero-tenant-id"))
        except ApiAuthError as exc:
            return _auth_problem(exc), None
        tenant_id = self.state.tenant_id

        route, params, allowed = resolve(request.method, segments)
        if route is None:
            status = 405 if allowed else 404
            headers = {"Allow": ", ".join(sorted(set(allowed)))} if allowed else {}
            return problem(
                status, "NotFound" if status == 404 else "MethodNotAllowed", headers=headers
            ), None
        self.stats.count_endpoint(route.template)
        if not route.scopes.intersection(token.scopes):
            return problem(
                401,
                "AuthorizationUnsuccessful",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            ), None

        decision = self.limiter.acquire(tenant_id)
        if not decision.allowed:
            return _throttled(decision.headers, decision.problem, decision.retry_after), None
        admission = _Admission(self.limiter, tenant_id)
        try:
            return self._run(request, route, params, decision.headers), admission
        except BaseException:
            admission.release()
            raise

    def _run(
        self, request: Request, route: Any, params: tuple[str, ...], limit_headers: dict[str, str]
    ) -> Response:
        plan = self.faults.plan(request.path)
        if plan.delay:
            # Sleep outside the state lock: a slow call must not stall the others.
            time.sleep(plan.delay)
        if plan.refuse is not None:
            return refusal_response(plan.refuse, limit_headers)

        ctx = ApiContext(
            request=request,
            state=self.state,
            now=self.clock(),
            params=params,
            method_word=route.api_method,
            base_url=request.host_url + API_PREFIX.lstrip("/"),
            query={key.lower(): value for key, value in request.args.items()},
        )
        with self.lock:
            try:
                body = route.handler(ctx)
                status = 200
                if request.method != "GET":
                    self.on_change()
            except ApiError as exc:
                body, status = error_envelope(route.api_method, exc.description), exc.status
            except BodyError as exc:
                body, status = error_envelope(route.api_method, str(exc)), 200

        for rule in plan.after:
            if rule.kind == "drop":
                drop_connection(request)
            if rule.kind == "body":
                return _xml_response(rule.payload(), rule.status, limit_headers, rule.content_type)
        return _xml_response(body, status, limit_headers)


def _normalise(segments: list[str]) -> str:
    """``client.api/LIST`` -> ``client.api/list`` (resource and method lower-cased)."""
    head = [segment.lower() for segment in segments[:2]]
    return "/".join(head + segments[2:])


def _xml_response(
    body: Any, status: int, limit_headers: dict[str, str], content_type: str = XML_CONTENT_TYPE
) -> Response:
    response = Response(body, status=status, content_type=content_type)
    response.headers.update(limit_headers)
    response.headers["xero-correlation-id"] = correlation_id()
    response.headers["Cache-Control"] = "max-age=0, no-cache, no-store"
    return response


def _auth_problem(exc: ApiAuthError) -> Response:
    headers = {"WWW-Authenticate": exc.www_authenticate} if exc.www_authenticate else {}
    return problem(exc.status, exc.detail, title=exc.title, headers=headers)


def _throttled(
    limit_headers: dict[str, str], problem_name: str | None, retry_after: int | None
) -> Response:
    """XPM's 429: empty body, the problem named in a header (docs/xpm-api.md 10.2)."""
    response = Response(b"", status=429)
    response.headers.update(limit_headers)
    if problem_name == "minute":
        response.headers["X-MinLimit-Remaining"] = "0"
    if problem_name == "day":
        response.headers["X-DayLimit-Remaining"] = "0"
    response.headers["X-Rate-Limit-Problem"] = problem_name or "minute"
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    response.headers["xero-correlation-id"] = correlation_id()
    del response.headers["Content-Type"]
    return response


def refusal_response(rule: FaultRule, limit_headers: dict[str, str]) -> Response:
    """The response for an injected refusal: XPM's empty 429, or a problem document."""
    if rule.status == 429:
        return _throttled(limit_headers, rule.problem, rule.retry_after)
    return problem(rule.status, headers=limit_headers)


def drop_connection(request: Request) -> None:
    """Close the connection without an answer, so the client sees it dropped."""
    raise DropConnection("sandbox fault: connection dropped")
