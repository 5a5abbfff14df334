"""`XpmClient`: the typed XPM v3.1 API over one requests session.

Request policy (docs/xpm-api.md 10.3 and 15), applied to every call:

* Headers: `Authorization: Bearer`, `xero-tenant-id`, `Accept: application/xml`, and
  `Content-Type: text/xml; charset=utf-8` on writes. Every call has a timeout.
* The access token is refreshed through the TokenStore before it expires; a 401
  `TokenExpired` refreshes once and retries once. Other 401s are `XpmAuthError`, 403 is
  `XpmTenantError`.
* 429: a daily-limit 429 raises `XpmDailyLimitReached` at once. Otherwise sleep for
  `Retry-After` (capped) and retry: a 429 means XPM did not process the request, so this is
  safe even for creates. Attempts are bounded by `max_attempts`.
* 5xx, timeouts, connection errors: reads retry with exponential backoff; creates
  (`client.api/add`, `client.api/contact`, `lead.api/add`) never retry, because XPM has no
  idempotency key and a retry could duplicate a client or lead.
* 200 with `<Status>ERROR</Status>`, 400, 404, 409: `XpmApiError`, never retried.
* Every call goes through the limiter's `slot(tenant_id)` and feeds it the response headers.
* Every response is measured as received (status line, headers and body as it came off the
  wire, so compressed when XPM compressed it) and counted by kind of call: since Xero's 2026
  pricing, bytes downloaded cost money (`bytes_received`, `usage()`).

Sending, reading bodies under their caps, measuring what was received and turning network
failures, 429 and 5xx into errors are `http.py`'s, shared with the OAuth code (`auth.py`);
what 401, 403 and XPM's refusals mean (`problems.py`: what a refusal is about) is decided here.

Nothing here logs tokens, request bodies or search terms (which are people's names).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from . import parsing
from .auth import TokenStore, XeroOAuth
from .errors import (
    XpmApiError,
    XpmAuthError,
    XpmConfigurationError,
    XpmDailyLimitReached,
    XpmError,
    XpmNotFoundError,
    XpmRateLimited,
    XpmResponseError,
    XpmTenantError,
    XpmTransientError,
)
from .http import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_STREAM_BYTES,
    ERROR_BODY_BYTES,
    XPM_API,
    HttpSession,
    received_bytes,
)
from .problems import parse_problem
from .ratelimit import RateLimiter, process_limiter
from .types import (
    CallUsage,
    CustomFieldDefinition,
    CustomFieldValue,
    LeadCategory,
    NewClient,
    NewContact,
    NewLead,
    Page,
    TokenSet,
    XpmClientGroup,
    XpmClientRecord,
    XpmContact,
    XpmLead,
    XpmStaff,
)
from .values import format_modified_since
from .xmlbuild import (
    build_client_add,
    build_contact_add,
    build_custom_field_flag,
    build_lead_add,
)

__all__ = ["XpmClient"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

XML_CONTENT_TYPE = "text/xml; charset=utf-8"
# Retry-After is absent on some 429s (concurrent limit): wait a little, not a minute.
DEFAULT_RETRY_AFTER = {"concurrent": 1.0}
DEFAULT_RETRY_AFTER_OTHER = 5.0
BACKOFF_BASE = 1.0
# A runaway pagination token must not loop forever.
MAX_PAGES = 10_000


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    params: Mapping[str, str] | None = None
    body: bytes | None = None
    create: bool = False
    # How the call is counted in `usage()`: the path, with identifiers as `{uuid}`.
    kind: str = ""

    @property
    def label(self) -> str:
        return self.kind or self.path


class XpmClient:
    """The XPM Practice Manager 3.1 API for one tenant, returning typed dataclasses.

    Thread-safe: one client may be shared by threads (the limiter coordinates them).
    `sleep` is injectable so tests can assert waits without waiting.
    """

    def __init__(
        self,
        *,
        api_url: str,
        tenant_id: str,
        token_store: TokenStore,
        oauth: XeroOAuth,
        limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5, 60),
        list_timeout: float | tuple[float, float] = (5, 300),
        max_attempts: int = 4,
        max_retry_sleep: float = 65.0,
        max_minute_wait: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
    ) -> None:
        if not tenant_id:
            raise XpmConfigurationError("no XPM tenant id: connect to Xero first")
        if not api_url.startswith(("https://", "http://")):
            raise XpmConfigurationError(f"XPM API URL must be an http(s) URL, not {api_url!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.api_url = api_url.rstrip("/") + "/"
        self.tenant_id = tenant_id
        self.token_store = token_store
        self.oauth = oauth
        self.limiter: RateLimiter = limiter if limiter is not None else process_limiter()
        # Sending, body caps, byte counts, network errors, 429 and 5xx: http.py.
        self.http = HttpSession(XPM_API, session=session, timeout=timeout)
        self._token: TokenSet | None = None
        self.list_timeout = list_timeout
        self.max_attempts = max_attempts
        self.max_retry_sleep = max_retry_sleep
        # How long a call may wait for a minute budget before XpmRateLimited (status None)
        # is raised instead; None: the limiter's own max_wait. Sync steps pass a small one
        # and come back later (wagtail_xpm/sync/steps.py) rather than hold a worker.
        self.max_minute_wait = max_minute_wait
        self.max_body_bytes = max_body_bytes
        self.max_stream_bytes = max_stream_bytes
        self._sleep = sleep
        self._lock = threading.Lock()
        self._calls_made = 0
        self._bytes_received = 0
        self._usage: dict[str, list[int]] = {}
        self._day_remaining: int | None = None

    # ----------------------------------------------------------------- bookkeeping

    @property
    def calls_made(self) -> int:
        """HTTP requests sent to the XPM API by this client (retries included)."""
        with self._lock:
            return self._calls_made

    @property
    def bytes_received(self) -> int:
        """Bytes of every XPM API response so far, as received (headers and body).

        A streamed list is counted when its response closes (iteration finished or stopped).
        """
        with self._lock:
            return self._bytes_received

    def usage(self) -> dict[str, CallUsage]:
        """Calls made and bytes received so far, by kind of call (`client.api/list`,
        `client.api/get/{uuid}/customfield`...)."""
        with self._lock:
            return {kind: CallUsage(calls, size) for kind, (calls, size) in self._usage.items()}

    @property
    def day_remaining(self) -> int | None:
        """The tenant's remaining daily calls, as XPM last reported them."""
        shared = self.limiter.day_remaining(self.tenant_id)
        return shared if shared is not None else self._day_remaining

    @property
    def timeout(self) -> float | tuple[float, float]:
        return self.http.timeout

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> XpmClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- clients

    def list_clients(
        self, *, detailed: bool = False, modified_since: datetime | None = None
    ) -> Iterator[XpmClientRecord]:
        """All clients (`client.api/list`), streamed and parsed as they arrive.

        Includes archived clients (check `is_archived`/`is_deleted`). Arguments are checked
        at once; the request is sent when iteration starts. The HTTP response and one limiter
        slot stay open while you iterate, so collect the records before making many other
        calls per record; stopping early closes the response. Uses `list_timeout`, because
        XPM can think for minutes before sending a big detailed list.
        """
        params: dict[str, str] = {}
        if detailed:
            params["detailed"] = "true"
        if modified_since is not None:
            params["modifiedsince"] = format_modified_since(modified_since)
        return self._stream_clients(_Call("GET", "client.api/list", params or None))

    def _stream_clients(self, call: _Call) -> Iterator[XpmClientRecord]:
        with ExitStack() as stack:
            response = self._execute(call, stack, timeout=self.list_timeout)
            reader = self.http.stream_reader(response, self.max_stream_bytes)
            with self.http.streaming(call.path):
                yield from parsing.iter_client_list(reader)

    def get_client(self, uuid: str) -> XpmClientRecord:
        """One detailed client (`client.api/get/{uuid}`)."""
        call = _Call("GET", f"client.api/get/{_segment(uuid)}", kind="client.api/get/{uuid}")
        return parsing.parse_client_response(self._fetch(call))

    def search_clients(self, query: str, *, detailed: bool = False) -> list[XpmClientRecord]:
        """Clients whose name (or other fields) match `query` (`client.api/search`)."""
        params = {"query": query}
        if detailed:
            params["detailed"] = "true"
        return parsing.parse_client_list(self._fetch(_Call("GET", "client.api/search", params)))

    def add_client(self, new: NewClient) -> XpmClientRecord:
        """Create a client (with its new contacts); returns the detailed new client.

        Never retried after a timeout or 5xx: the error says the outcome is unknown, so
        search for the client before trying again.
        """
        call = _Call("POST", "client.api/add", body=build_client_add(new), create=True)
        return parsing.parse_client_response(self._fetch(call))

    def paged_clients(self, *, page_size: int = 100) -> Iterator[XpmClientRecord]:
        """Non-archived, non-deleted clients, base fields only (`client.api/paged-list`)."""
        _check_page_size(page_size)
        return self._paged("client.api/paged-list", page_size, parsing.parse_client_page)

    def paged_clients_page(
        self, *, page_size: int = 100, page_token: str | None = None
    ) -> tuple[tuple[XpmClientRecord, ...], str | None]:
        """One page of `client.api/paged-list` and the ``pageToken`` of the next (None on
        the last), so a caller can stop between pages and carry on later (sync/engine.py
        reconciliation). An old or unknown token is XPM's 400 (``XpmApiError``)."""
        _check_page_size(page_size)
        params = {"pageSize": str(page_size)}
        if page_token:
            params["pageToken"] = page_token
        page = parsing.parse_client_page(self._fetch(_Call("GET", "client.api/paged-list", params)))
        token = _next_token(page.next_url)
        if token == page_token and token is not None:
            raise XpmResponseError("client.api/paged-list repeated a pageToken")
        return page.items, token

    # ----------------------------------------------------------------- contacts

    def list_contacts(self, *, page_size: int = 100) -> Iterator[XpmContact]:
        """All non-deleted contacts, without client links (`client.api/contacts`)."""
        _check_page_size(page_size)
        return self._paged("client.api/contacts", page_size, parsing.parse_contact_page)

    def get_contact(self, uuid: str, *, client_uuid: str | None = None) -> XpmContact:
        """One contact; pass `client_uuid` to get that link's `position`/`is_primary`."""
        params = {"clientUuid": client_uuid} if client_uuid else None
        path = f"client.api/contact/{_segment(uuid)}"
        body = self._fetch(_Call("GET", path, params, kind="client.api/contact/{uuid}"))
        return parsing.parse_contact_response(body)

    def add_contact(self, client_uuid: str, new: NewContact) -> XpmContact:
        """Create a contact linked to `client_uuid` (`POST client.api/contact`). Not retried."""
        body = build_contact_add(client_uuid, new)
        call = _Call("POST", "client.api/contact", body=body, create=True)
        return parsing.parse_contact_response(self._fetch(call))

    # ----------------------------------------------------------------- custom fields

    def custom_field_definitions(self) -> list[CustomFieldDefinition]:
        """The practice's custom field definitions (needs the broad `practicemanager` scope)."""
        body = self._fetch(_Call("GET", "customfield.api/definition"))
        return parsing.parse_custom_field_definitions(body)

    def client_custom_fields(self, client_uuid: str) -> list[CustomFieldValue]:
        """One client's custom field values (only fields with a value are returned)."""
        path = f"client.api/get/{_segment(client_uuid)}/customfield"
        body = self._fetch(_Call("GET", path, kind="client.api/get/{uuid}/customfield"))
        return parsing.parse_custom_field_values(body)

    def contact_custom_fields(self, contact_uuid: str) -> list[CustomFieldValue]:
        """One contact's custom field values."""
        path = f"client.api/contact/{_segment(contact_uuid)}/customfield"
        call = _Call("GET", path, kind="client.api/contact/{uuid}/customfield")
        return parsing.parse_custom_field_values(self._fetch(call))

    def set_contact_custom_flag(self, contact_uuid: str, field_uuid: str, value: bool) -> None:
        """Tick or untick one checkbox custom field of a contact
        (`PUT client.api/contact/{uuid}/customfield`).

        Setting a value is idempotent, so a 5xx or a lost answer is retried like a read.
        """
        path = f"client.api/contact/{_segment(contact_uuid)}/customfield"
        body = build_custom_field_flag(field_uuid, value)
        call = _Call("PUT", path, body=body, kind="PUT client.api/contact/{uuid}/customfield")
        parsing.parse_status(self._fetch(call))

    # ----------------------------------------------------------------- staff, groups

    def list_staff(self) -> list[XpmStaff]:
        return parsing.parse_staff_list(self._fetch(_Call("GET", "staff.api/list")))

    def get_staff(self, uuid: str) -> XpmStaff:
        call = _Call("GET", f"staff.api/get/{_segment(uuid)}", kind="staff.api/get/{uuid}")
        return parsing.parse_staff_response(self._fetch(call))

    def list_client_groups(self) -> list[XpmClientGroup]:
        return parsing.parse_client_group_list(self._fetch(_Call("GET", "clientgroup.api/list")))

    def get_client_group(self, uuid: str) -> XpmClientGroup:
        """One group with its member clients."""
        path = f"clientgroup.api/get/{_segment(uuid)}"
        body = self._fetch(_Call("GET", path, kind="clientgroup.api/get/{uuid}"))
        return parsing.parse_client_group_response(body)

    # ----------------------------------------------------------------- leads

    def lead_categories(self) -> list[LeadCategory]:
        """Lead categories (`lead.api/categories`; not the job categories of `category.api`)."""
        return parsing.parse_lead_categories(self._fetch(_Call("GET", "lead.api/categories")))

    def add_lead(self, new: NewLead) -> XpmLead:
        """Create a lead on an existing client, owned by a staff member. Not retried."""
        call = _Call("POST", "lead.api/add", body=build_lead_add(new), create=True)
        return parsing.parse_lead_response(self._fetch(call))

    def get_lead(self, uuid: str) -> XpmLead:
        call = _Call("GET", f"lead.api/get/{_segment(uuid)}", kind="lead.api/get/{uuid}")
        return parsing.parse_lead_response(self._fetch(call))

    def current_leads(self, *, detailed: bool = False) -> list[XpmLead]:
        """Leads in state Current (`lead.api/current`)."""
        params = {"detailed": "true"} if detailed else None
        return parsing.parse_lead_list(self._fetch(_Call("GET", "lead.api/current", params)))

    def list_leads(self, start: date, end: date, *, detailed: bool = False) -> list[XpmLead]:
        """Leads created between two days, inclusive (`lead.api/list?from=&to=`)."""
        params = {"from": start.strftime("%Y%m%d"), "to": end.strftime("%Y%m%d")}
        if detailed:
            params["detailed"] = "true"
        return parsing.parse_lead_list(self._fetch(_Call("GET", "lead.api/list", params)))

    # ----------------------------------------------------------------- plumbing

    def _paged(self, path: str, page_size: int, parse: Callable[[bytes], Page[T]]) -> Iterator[T]:
        params: dict[str, str] = {"pageSize": str(page_size)}
        seen_tokens: set[str] = set()
        for _ in range(MAX_PAGES):
            page = parse(self._fetch(_Call("GET", path, dict(params))))
            yield from page.items
            if not page.next_url:
                return
            token = _next_token(page.next_url)
            if not token or token in seen_tokens:
                if token:
                    raise XpmResponseError(f"{path} repeated a pageToken")
                return
            seen_tokens.add(token)
            params = {"pageSize": str(page_size), "pageToken": token}
        raise XpmResponseError(f"{path} returned more than {MAX_PAGES} pages")

    def _fetch(self, call: _Call) -> bytes:
        """Run a call and return its whole (capped) body."""
        with ExitStack() as stack:
            response = self._execute(call, stack)
            return self.http.read(
                response, self.max_body_bytes, label=call.path, create=call.create
            )

    def _current_token(self) -> TokenSet:
        # Reuse the access token until it nears expiry: reading (and, for the database
        # store, decrypting) it on every call costs more than the call itself on a fast
        # link. Xero keeps an access token valid after another worker refreshes, and a
        # refused cached token is re-read from the store once (see _execute).
        with self._lock:
            cached = self._token
        if cached is not None and not cached.is_expired():
            return cached
        token = self.token_store.load()
        if token.is_expired():
            token = self.token_store.refresh(token, self.oauth.refresh)
        with self._lock:
            self._token = token
        return token

    def _forget_token(self) -> None:
        with self._lock:
            self._token = None

    def _execute(
        self,
        call: _Call,
        stack: ExitStack,
        *,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        """Send `call` under the policy; return a 2xx response with its body unread.

        The limiter slot of the successful attempt is entered into `stack`, so it is held
        until the caller has read (or streamed) the body.
        """
        url = self.api_url + call.path
        refreshed = False
        reread = False
        attempt = 0
        while True:
            attempt += 1
            token = self._current_token()
            headers = {
                "Authorization": f"Bearer {token.access_token}",
                "xero-tenant-id": self.tenant_id,
                "Accept": "application/xml",
                # XPM compresses on request; the adapter decodes (a 50 MB list is mostly tags).
                "Accept-Encoding": "gzip, deflate",
            }
            if call.body is not None:
                headers["Content-Type"] = XML_CONTENT_TYPE
            error: XpmError | _RefreshAndRetry
            with ExitStack() as attempt_stack:
                attempt_stack.enter_context(
                    self.limiter.slot(self.tenant_id, max_minute_wait=self.max_minute_wait)
                )
                with self._lock:
                    self._calls_made += 1
                    self._usage.setdefault(call.label, [0, 0])[0] += 1
                try:
                    response = self.http.send(
                        call.method,
                        url,
                        label=call.path,
                        headers=headers,
                        data=call.body,
                        params=call.params,
                        create=call.create,
                        timeout=timeout,
                    )
                except XpmTransientError as exc:
                    error = exc
                else:
                    attempt_stack.callback(response.close)
                    # Registered after close, so it runs first: what was read by then.
                    attempt_stack.callback(self._count_bytes, call, response)
                    self._observe(response)
                    logger.debug(
                        "XPM %s %s: HTTP %s (attempt %d)",
                        call.method,
                        call.path,
                        response.status_code,
                        attempt,
                    )
                    if 200 <= response.status_code < 300:
                        stack.enter_context(attempt_stack.pop_all())
                        return response
                    error = self._http_error(call, response, refreshed)
            # Leaving the block released the slot and closed the response: never sleep
            # while holding a slot other threads could use.
            if isinstance(error, _RefreshAndRetry):
                refreshed = True
                fresh = self.token_store.refresh(token, self.oauth.refresh)
                with self._lock:
                    self._token = fresh
                attempt -= 1  # the expired-token round trip does not use up an attempt
                continue
            if (
                isinstance(error, XpmAuthError)
                and not isinstance(error, XpmTenantError)
                and not reread
            ):
                # The cached token was refused (revoked, or the site reconnected since):
                # read the store once more before giving up.
                reread = True
                self._forget_token()
                if self.token_store.load().access_token != token.access_token:
                    attempt -= 1
                    continue
            delay = self._retry_delay(call, error, attempt)
            if delay is None:
                raise error
            logger.info(
                "XPM %s %s failed (%s); retrying in %.1fs (attempt %d of %d)",
                call.method,
                call.path,
                type(error).__name__,
                delay,
                attempt,
                self.max_attempts,
            )
            self._sleep(delay)

    def _count_bytes(self, call: _Call, response: requests.Response) -> None:
        size = received_bytes(response)
        with self._lock:
            self._bytes_received += size
            self._usage.setdefault(call.label, [0, 0])[1] += size

    def _observe(self, response: requests.Response) -> None:
        try:
            self.limiter.observe(self.tenant_id, response.headers)
        except Exception:  # noqa: BLE001 - bookkeeping must not fail a call that worked
            logger.warning("XPM rate limiter could not record response headers", exc_info=True)
        day = response.headers.get("X-DayLimit-Remaining")
        if day is not None and day.strip().isdigit():
            with self._lock:
                self._day_remaining = int(day)

    def _retry_delay(self, call: _Call, error: XpmError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up with `error`."""
        if isinstance(error, XpmDailyLimitReached):
            return None
        if isinstance(error, XpmRateLimited):
            # 429: not processed by XPM, so retrying is safe even for creates.
            if attempt >= self.max_attempts:
                return None
            wait = error.retry_after
            if wait is None:
                wait = DEFAULT_RETRY_AFTER.get(error.problem or "", DEFAULT_RETRY_AFTER_OTHER)
            return min(wait, self.max_retry_sleep)
        if isinstance(error, XpmTransientError):
            if call.create or attempt >= self.max_attempts:
                return None
            return min(BACKOFF_BASE * 2 ** (attempt - 1), self.max_retry_sleep)
        return None

    def _http_error(
        self, call: _Call, response: requests.Response, refreshed: bool
    ) -> XpmError | _RefreshAndRetry:
        status = response.status_code
        headers = response.headers
        correlation_id = headers.get("xero-correlation-id")
        body = self.http.error_body(response, min(self.max_body_bytes, ERROR_BODY_BYTES))
        problem = parse_problem(body, status)
        detail = problem.summary or ""
        if status == 401:
            challenge = (headers.get("WWW-Authenticate") or "").lower()
            expired = detail.startswith("TokenExpired") or "expired" in challenge
            if expired and not refreshed:
                return _RefreshAndRetry()
            return XpmAuthError(
                f"XPM refused the access token ({detail or 'HTTP 401'}): reconnect to Xero, "
                "and check the app has the Practice Manager scopes",
                status=status,
                correlation_id=correlation_id,
            )
        if status == 403:
            return XpmTenantError(
                f"XPM refused tenant {self.tenant_id} ({detail or 'HTTP 403'}): the practice "
                "may be disconnected, or the authorising user lost access",
                tenant_id=self.tenant_id,
                status=status,
                correlation_id=correlation_id,
            )
        unavailable = self.http.availability_error(
            response, label=call.path, detail=detail, create=call.create
        )
        if unavailable is not None:
            return unavailable
        cls = XpmNotFoundError if status == 404 else XpmApiError
        return cls(
            detail or f"XPM refused {call.path} with HTTP {status}",
            description=detail or None,
            about=problem.about,
            status=status,
            correlation_id=correlation_id,
        )


class _RefreshAndRetry:
    """Marker: the access token expired server-side; refresh once and resend."""


def _next_token(next_url: str | None) -> str | None:
    """The ``pageToken`` of a page's Next link. Follow the token, not the URL: the bearer
    token must only go to api_url."""
    if not next_url:
        return None
    params = parse_qsl(urlsplit(next_url).query)
    return next((v for k, v in params if k.lower() == "pagetoken"), None) or None


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= 500:
        raise ValueError("page_size must be between 1 and 500")


def _segment(value: str) -> str:
    """An identifier as one URL path segment (no `/` or `..` smuggled into the path)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("an XPM identifier must be a non-blank string")
    return quote(value.strip(), safe="")
