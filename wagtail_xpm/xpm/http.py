"""The one HTTP owner of `wagtail_xpm.xpm`, for both sides of Xero.

The Practice Manager API (`client.py`) and the identity endpoints (`auth.py`) each hold an
`HttpSession`. It owns the requests session and is the only code that sends a request or reads
a body; in the manner of django-anymail's requests backend, what can go wrong on the wire is
decided here once:

* every request has a timeout and goes straight through the transport adapter (no redirects,
  hooks or cookie jar; proxies and the CA bundle are read from the environment once);
* bodies are read as they come off the wire under a cap (`read`, `stream_reader`), and
  `received_bytes` measures a response as received, for the egress budget (`client.py`);
* network failures become `XpmTransientError` (with `outcome_unknown` for create calls that
  may have reached XPM), and `availability_error` turns 429 into `XpmRateLimited` or
  `XpmDailyLimitReached` (XPM's `X-Rate-Limit-Problem`, `Retry-After`: docs/xpm-api.md 10.2),
  and 408/5xx into `XpmTransientError` (docs/xpm-api.md 10.3).

What any other status means (401, 403, a refusal, OAuth's error codes) is the caller's to say.
Each side names its failures in its own words (`Voice`): people read them after "XPM said:".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import requests
import urllib3

from .errors import (
    XpmDailyLimitReached,
    XpmError,
    XpmRateLimited,
    XpmResponseError,
    XpmTransientError,
)
from .ratelimit import retry_after_seconds

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_STREAM_BYTES",
    "ERROR_BODY_BYTES",
    "USER_AGENT",
    "XERO_IDENTITY",
    "XPM_API",
    "CappedReader",
    "HttpSession",
    "Voice",
    "received_bytes",
]

USER_AGENT = "wagtail-xpm/0.1 (+https://github.com/wagtail-xpm)"
#: Cap for a whole (non-streamed) XPM response.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
#: Cap for the streamed `client.api/list` (15k detailed clients are ~50 MB).
DEFAULT_MAX_STREAM_BYTES = 1024 * 1024 * 1024
#: Error bodies and identity responses are small documents; anything bigger is not Xero talking.
ERROR_BODY_BYTES = 1024 * 1024
CHUNK_BYTES = 64 * 1024

# Failures reading from the wire: requests wraps urllib3's errors only around its own reads;
# `response.raw` (which keeps the byte count `received_bytes` needs) raises them bare.
_WIRE_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)

# Only XPM API calls create records (client.api/add, client.api/contact, lead.api/add), and XPM
# has no idempotency key (docs/xpm-api.md 10.3): say whether it may have acted.
_CREATE_MAY_HAVE_ACTED = (
    "{label} failed ({kind}); the outcome is unknown (XPM may have created the record): look "
    "it up before trying again"
)
_CREATE_NOT_SENT = "{label} could not connect to XPM ({kind}); the request was not sent"
_CREATE_SERVER_ERROR = (
    "{label} failed with HTTP {status}; the outcome is unknown (XPM may have created the "
    "record): look it up before trying again"
)
_CREATE_READ_LOST = (
    "the connection failed while reading the answer to {label}; the outcome is unknown (XPM "
    "may have created the record)"
)
_STREAM_LOST = "connection lost while streaming {label}: {kind}"


@dataclass(frozen=True, slots=True)
class Voice:
    """How one side of Xero words its failures. Each template may use `{label}` (what was
    being done: an API path, "Xero token refresh"); the others name their own fields."""

    failed: str  # {kind}: a network failure's class name
    timed_out: str  # {kind}
    rate_limited: str  # {problem}: X-Rate-Limit-Problem or "unspecified"
    day_limit: str
    server_error: str  # {status}, {detail}: ": " and the problem's summary, or ""
    read_lost: str  # {kind}
    too_large: str  # {limit}
    too_long: str  # {length}: Content-Length, {limit}


XPM_API = Voice(
    failed="{label} failed: {kind}",
    timed_out="{label} failed: {kind}",
    rate_limited="XPM rate limit hit ({problem})",
    day_limit="XPM daily call limit reached for this practice; try again tomorrow",
    server_error="{label} failed with HTTP {status}{detail}",
    read_lost="connection lost while reading an XPM response: {kind}",
    too_large="XPM response exceeds the {limit} byte limit",
    too_long="XPM response of {length} bytes exceeds the {limit} limit",
)

XERO_IDENTITY = Voice(
    failed="{label} failed: {kind}",
    timed_out="{label} timed out",
    rate_limited="{label} was rate limited",
    day_limit="{label} was rate limited",
    server_error="{label} failed with HTTP {status}",
    read_lost="reading a Xero identity response failed: {kind}",
    too_large="Xero identity response is too large",
    too_long="Xero identity response is too large",
)


class CappedReader:
    """A file-like `read(size)` over a read callable that refuses to pass `limit` bytes.

    Wraps `response.raw.read` (with `decode_content=True`, so the cap counts decompressed
    bytes and a gzip bomb is stopped too) for the streaming parser (`parsing.iter_client_list`).
    """

    def __init__(self, read: Callable[[int], bytes], limit: int) -> None:
        self._read = read
        self.limit = limit
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = CHUNK_BYTES
        data = self._read(size)
        self.bytes_read += len(data)
        if self.bytes_read > self.limit:
            raise XpmResponseError(f"XPM response exceeds the {self.limit} byte limit")
        return data


class HttpSession:
    """One requests session and the policy of sending and reading over it (see the module).

    `session`: pass one to share a connection pool or to test; it is then used as it is (its
    proxies, CA bundle, certificate) and not closed here.
    """

    def __init__(
        self,
        voice: Voice,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = (5, 60),
    ) -> None:
        self.voice = voice
        self.timeout = timeout
        self._own_session = session is None
        self.session = session or requests.Session()
        self._proxies: dict[str, Mapping[str, str]] = {}
        if self._own_session:
            # Resolve proxies and CA bundle from the environment once, not per request
            # (requests scans the environment on every call while trust_env is on).
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                self.session.verify = bundle
            self.session.trust_env = False

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    # ----------------------------------------------------------------- sending

    def send(
        self,
        method: str,
        url: str,
        *,
        label: str,
        headers: Mapping[str, str],
        data: Any = None,
        params: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        create: bool = False,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        """Send one request and return the response of any status, its body unread.

        ``Session.request`` would merge session settings, run hooks, keep a cookie jar and
        follow redirects: none of which an API call wants, and together about half a
        millisecond of CPU per call, which a sync's thousands of custom-field reads feel.
        The adapter still pools connections (and is what ``responses`` intercepts).
        Raises `XpmTransientError` when the network fails.
        """
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers={"User-Agent": USER_AGENT, **headers},
            data=data,
            params=params,
            auth=auth,
        )
        try:
            return self.session.get_adapter(url).send(
                prepared,
                stream=True,
                timeout=timeout if timeout is not None else self.timeout,
                verify=self.session.verify,
                cert=self.session.cert,
                proxies=self._proxies_for(url),
            )
        except requests.RequestException as exc:
            raise self._network_error(exc, label, create) from exc

    def _proxies_for(self, url: str) -> Mapping[str, str]:
        if not self._own_session:
            return self.session.proxies
        origin = "/".join(url.split("/", 3)[:3])
        proxies = self._proxies.get(origin)
        if proxies is None:
            proxies = self._proxies[origin] = requests.utils.get_environ_proxies(url)
        return proxies

    def _network_error(
        self, exc: requests.RequestException, label: str, create: bool
    ) -> XpmTransientError:
        kind = type(exc).__name__
        if create and not _never_sent(exc):
            return XpmTransientError(
                _CREATE_MAY_HAVE_ACTED.format(label=label, kind=kind), outcome_unknown=True
            )
        if create:
            return XpmTransientError(_CREATE_NOT_SENT.format(label=label, kind=kind))
        words = self.voice.timed_out if isinstance(exc, requests.Timeout) else self.voice.failed
        return XpmTransientError(words.format(label=label, kind=kind))

    # ----------------------------------------------------------------- reading

    def read(
        self,
        response: requests.Response,
        limit: int,
        *,
        label: str = "",
        create: bool = False,
    ) -> bytes:
        """The whole body, refused past `limit` bytes (decompressed, so a gzip bomb too)."""
        length = response.headers.get("Content-Length")
        if length and length.strip().isdigit() and int(length) > limit:
            raise XpmResponseError(self.voice.too_long.format(length=length, limit=limit))
        chunks: list[bytes] = []
        total = 0
        # raw.read, not iter_content: urllib3's chunked streaming does not keep the count of
        # bytes received that received_bytes reads.
        read = partial(response.raw.read, decode_content=True)
        try:
            while chunk := read(CHUNK_BYTES):
                total += len(chunk)
                if total > limit:
                    raise XpmResponseError(self.voice.too_large.format(limit=limit))
                chunks.append(chunk)
        except _WIRE_ERRORS as exc:
            if create:
                raise XpmTransientError(
                    _CREATE_READ_LOST.format(label=label),
                    outcome_unknown=True,
                    status=response.status_code,
                ) from exc
            raise XpmTransientError(self.voice.read_lost.format(kind=type(exc).__name__)) from exc
        return b"".join(chunks)

    def error_body(self, response: requests.Response, limit: int = ERROR_BODY_BYTES) -> bytes:
        """An error response's body, best effort: empty when unreadable or too big."""
        try:
            return self.read(response, limit)
        except XpmError:
            return b""

    @staticmethod
    def stream_reader(response: requests.Response, limit: int) -> CappedReader:
        """The body as a capped file-like object, for a parser that reads as it goes."""
        return CappedReader(partial(response.raw.read, decode_content=True), limit)

    @staticmethod
    @contextmanager
    def streaming(label: str) -> Iterator[None]:
        """Around the parsing of a `stream_reader`: the connection dropping mid-way is an
        `XpmTransientError`; the parser's own errors pass as they are."""
        try:
            yield
        except XpmError:
            raise
        except _WIRE_ERRORS as exc:
            raise XpmTransientError(
                _STREAM_LOST.format(label=label, kind=type(exc).__name__)
            ) from exc

    # ----------------------------------------------------------------- statuses

    def availability_error(
        self,
        response: requests.Response,
        *,
        label: str,
        detail: str | None = None,
        create: bool = False,
    ) -> XpmError | None:
        """429 as a rate limit (daily or not), 408 and 5xx as transient; None otherwise.

        `detail` is what the error body said (`problems.parse_problem(...).summary`).
        """
        status = response.status_code
        headers = response.headers
        correlation_id = headers.get("xero-correlation-id")
        if status == 429:
            return self._rate_limit_error(headers, label, correlation_id)
        if status >= 500 or status == 408:
            if create:
                return XpmTransientError(
                    _CREATE_SERVER_ERROR.format(label=label, status=status),
                    outcome_unknown=True,
                    status=status,
                    correlation_id=correlation_id,
                )
            words = self.voice.server_error.format(
                label=label, status=status, detail=f": {detail}" if detail else ""
            )
            return XpmTransientError(words, status=status, correlation_id=correlation_id)
        return None

    def _rate_limit_error(
        self, headers: Mapping[str, str], label: str, correlation_id: str | None
    ) -> XpmRateLimited:
        problem = (headers.get("X-Rate-Limit-Problem") or "").strip().lower() or None
        retry_after = retry_after_seconds(headers)
        if problem == "day":
            # "Tomorrow", not "soon": callers stop rather than sleep for hours.
            return XpmDailyLimitReached(
                self.voice.day_limit.format(label=label),
                retry_after=retry_after,
                correlation_id=correlation_id,
            )
        return XpmRateLimited(
            self.voice.rate_limited.format(label=label, problem=problem or "unspecified"),
            problem=problem,
            retry_after=retry_after,
            correlation_id=correlation_id,
        )


def received_bytes(response: requests.Response) -> int:
    """A response's size as received: status line, headers, and the body bytes read off the
    wire (before decompression; chunk framing not counted). Since Xero's 2026 pricing, bytes
    downloaded cost money (client.py counts them per kind of call)."""
    tell = getattr(response.raw, "tell", None)
    try:
        body = int(tell()) if tell is not None else 0
    except (TypeError, ValueError, OSError):
        body = 0
    reason = response.reason or ""
    head = len(f"HTTP/1.1 {response.status_code} {reason}\r\n") + 2
    head += sum(len(name) + len(value) + 4 for name, value in response.headers.items())
    return head + body


def _never_sent(exc: BaseException) -> bool:
    """True when the failure happened while connecting, so XPM never saw the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    # NewConnectionError (refused, DNS failure) subclasses ConnectTimeoutError.
    return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)
