"""The login and identity hosts over WSGI: authorize (consent), token, revocation, and the
``/connections`` endpoints of the API host (docs/xpm-api.md 1.2, 14.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .apiapp import CallStats, drop_connection, refusal_response
from .faults import Faults
from .oauth import (
    ApiAuthError,
    AuthorizePageError,
    AuthorizeRedirectError,
    AuthorizeRequest,
    OAuthError,
    OAuthServer,
)
from .pages import consent_page, error_page
from .problems import json_response, problem
from .scopes import describe
from .state import PracticeState

AUTHORIZE_PATH = "/identity/connect/authorize"
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)
# The consent form is only honoured for a while after it was shown.
CONSENT_TICKET_SECONDS = 3600

URLS = Map(
    [
        Rule(AUTHORIZE_PATH, endpoint="authorize", methods=["GET", "POST"]),
        Rule("/connect/token", endpoint="token", methods=["POST"]),
        Rule("/connect/revocation", endpoint="revoke", methods=["POST"]),
        Rule("/connections", endpoint="connections", methods=["GET"]),
        Rule("/connections/<connection_id>", endpoint="disconnect", methods=["DELETE"]),
    ],
    strict_slashes=False,
)


def with_query(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` appended to its query string."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class IdentityApp:
    """WSGI app for the OAuth endpoints and ``/connections``."""

    def __init__(
        self,
        *,
        state: PracticeState,
        oauth: OAuthServer,
        faults: Faults,
        stats: CallStats | None = None,
        auto_consent: bool = False,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.state = state
        self.oauth = oauth
        self.faults = faults
        self.stats = stats
        self.auto_consent = auto_consent
        self.on_change = on_change
        self._ticket_key = hashlib.sha256(
            f"consent:{oauth.config.client_secret}:{state.tenant_id}".encode()
        ).digest()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request.max_content_length = 64 * 1024
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
        except HTTPException as exc:
            return exc(environ, start_response)
        if self.stats is not None:
            self.stats.count_other(request.path)
        # Faults reach these endpoints only when aimed at them (``path="/connect/token"``).
        plan = self.faults.plan(request.path)
        if plan.delay:
            time.sleep(plan.delay)
        if plan.refuse is not None:
            return refusal_response(plan.refuse, {})(environ, start_response)
        response = getattr(self, f"on_{endpoint}")(request, **args)
        for rule in plan.after:
            if rule.kind == "drop":
                drop_connection(request)
            if rule.kind == "body":
                response = Response(
                    rule.payload(), status=rule.status, content_type=rule.content_type
                )
        return response(environ, start_response)

    # -- authorize ----------------------------------------------------------------------

    def on_authorize(self, request: Request) -> Response:
        source = request.form if request.method == "POST" else request.args
        params = {name: source[name] for name in AUTHORIZE_PARAMS if name in source}
        try:
            authz = self.oauth.validate_authorize(params)
        except AuthorizePageError as exc:
            return _html(error_page(str(exc)), 400)
        except AuthorizeRedirectError as exc:
            redirect_uri = params["redirect_uri"]
            return self._redirect_error(redirect_uri, exc.error, exc.description, params)

        if request.method == "POST":
            if not self._ticket_ok(params, request.form.get("consent_ticket", "")):
                return _html(error_page("This consent form has expired; start again."), 400)
            if request.form.get("decision") != "allow":
                return self._redirect_error(authz.redirect_uri, "access_denied", None, params)
            return self._redirect_code(authz)
        if self.auto_consent:
            return self._redirect_code(authz)
        hidden = dict(params)
        hidden["consent_ticket"] = self._ticket(params)
        page = consent_page(
            app_name=self.oauth.config.app_name,
            practice_name=self.state.practice_name,
            user_name=self.state.user_name,
            user_email=self.state.user_email,
            scopes=describe(authz.scopes),
            hidden=hidden,
            action=AUTHORIZE_PATH,
        )
        return _html(page, 200)

    def _redirect_code(self, authz: AuthorizeRequest) -> Response:
        code = self.oauth.issue_code(authz)
        self.on_change()
        params = {"code": code, "scope": " ".join(authz.scopes)}
        if authz.state is not None:
            params["state"] = authz.state
        return _redirect(with_query(authz.redirect_uri, params))

    def _redirect_error(
        self, redirect_uri: str, error: str, description: str | None, params: dict[str, str]
    ) -> Response:
        query = {"error": error}
        if description:
            query["error_description"] = description
        if "state" in params:
            query["state"] = params["state"]
        return _redirect(with_query(redirect_uri, query))

    def _ticket(self, params: dict[str, str], issued: int | None = None) -> str:
        issued = int(time.time()) if issued is None else issued
        canonical = urlencode(sorted(params.items())) + f"&t={issued}"
        mac = hmac.new(self._ticket_key, canonical.encode(), hashlib.sha256).digest()
        return f"{issued}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def _ticket_ok(self, params: dict[str, str], ticket: str) -> bool:
        issued_text, _, _ = ticket.partition(".")
        if not issued_text.isdigit():
            return False
        issued = int(issued_text)
        if time.time() - issued > CONSENT_TICKET_SECONDS:
            return False
        return hmac.compare_digest(ticket, self._ticket(params, issued))

    # -- token and revocation -----------------------------------------------------------

    @staticmethod
    def _credentials(request: Request) -> tuple[str | None, str | None]:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            return auth.username, auth.password
        return request.form.get("client_id"), request.form.get("client_secret")

    def on_token(self, request: Request) -> Response:
        client_id, client_secret = self._credentials(request)
        grant_type = request.form.get("grant_type")
        try:
            if grant_type == "authorization_code":
                body = self.oauth.exchange_code(
                    client_id=client_id,
                    client_secret=client_secret,
                    code=request.form.get("code"),
                    redirect_uri=request.form.get("redirect_uri"),
                    code_verifier=request.form.get("code_verifier"),
                )
            elif grant_type == "refresh_token":
                body = self.oauth.refresh(
                    client_id=client_id,
                    client_secret=client_secret,
                    refresh_token=request.form.get("refresh_token"),
                )
            elif not grant_type:
                raise OAuthError("invalid_request", "grant_type is required")
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            return json_response(exc.body(), exc.status, {"Pragma": "no-cache"})
        self.on_change()
        return json_response(body, 200, {"Pragma": "no-cache"})

    def on_revoke(self, request: Request) -> Response:
        client_id, client_secret = self._credentials(request)
        token = request.form.get("token")
        try:
            if not token:
                raise OAuthError("invalid_request", "token is required")
            self.oauth.revoke(client_id=client_id, client_secret=client_secret, token=token)
        except OAuthError as exc:
            return json_response(exc.body(), exc.status)
        self.on_change()
        return Response(b"", status=200)

    # -- connections --------------------------------------------------------------------

    def on_connections(self, request: Request) -> Response:
        try:
            _, grant = self.oauth.authenticate(request.headers.get("Authorization"))
        except ApiAuthError as exc:
            return problem(exc.status, exc.detail, title=exc.title)
        rows = self.oauth.connections_for(grant, request.args.get("authEventId"))
        return json_response(rows)

    def on_disconnect(self, request: Request, connection_id: str) -> Response:
        try:
            _, grant = self.oauth.authenticate(request.headers.get("Authorization"))
        except ApiAuthError as exc:
            return problem(exc.status, exc.detail, title=exc.title)
        if not self.oauth.delete_connection(grant, connection_id):
            return problem(404, "NotFound")
        self.on_change()
        return Response(status=204)


def _html(page: str, status: int) -> Response:
    response = Response(page, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _redirect(location: str) -> Response:
    response = Response(status=302)
    response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response
