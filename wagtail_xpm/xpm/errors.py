"""The one exception tree of the XPM client.

Every failure that crosses the `wagtail_xpm.xpm` boundary is an `XpmError`, so callers can
catch the root, or pick the branch that tells them what to do next:

* `XpmAuthError`: the connection needs attention from a person (re-consent, new tenant).
* `XpmRateLimited`: try again later; `XpmDailyLimitReached` means "tomorrow", not "soon".
* `XpmTransientError`: a network or server hiccup; safe to retry a read later. For create
  calls `outcome_unknown` says whether XPM may have acted on the request.
* `XpmApiError`: XPM understood and refused the request; retrying will not help.
* `XpmResponseError`: the body was malformed, hostile or too large.

Some branches also subclass a standard exception (`ConnectionError`, `ValueError`) so code
that only knows the standard library still catches them sensibly (the django-anymail habit).

Each class names its `kind` (`KINDS`), so code that puts an error into words looks the kind
up (wagtail_xpm/wording.py) instead of walking the tree with `isinstance`.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "KINDS",
    "XpmApiError",
    "XpmAuthError",
    "XpmConfigurationError",
    "XpmDailyLimitReached",
    "XpmError",
    "XpmInvalidGrant",
    "XpmNotFoundError",
    "XpmRateLimited",
    "XpmReauthorizationRequired",
    "XpmResponseError",
    "XpmTenantError",
    "XpmTransientError",
]


#: Every error's `kind` (subclasses share their parent's unless they differ in what to do).
KINDS = (
    "error",
    "configuration",
    "auth",
    "rate_limited",
    "daily_limit",
    "transient",
    "refused",
    "unreadable",
)


def _rebuild(cls: type[XpmError], message: str, kwargs: dict[str, Any]) -> XpmError:
    return cls(message, **kwargs)


class XpmError(Exception):
    """Root of every error raised by the XPM client.

    `message` is safe to show to an operator: it never contains a token, and names people
    or clients only when XPM's own error description does.
    """

    kind: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.correlation_id = correlation_id

    def _init_kwargs(self) -> dict[str, Any]:
        return {"status": self.status, "correlation_id": self.correlation_id}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default exception pickling, and task
        # queues (Huey) pickle the errors they record.
        return (_rebuild, (type(self), self.message, self._init_kwargs()))

    def __str__(self) -> str:
        return self.message


class XpmConfigurationError(XpmError):
    """The app is misconfigured: missing or rejected client id/secret, bad URLs."""

    kind = "configuration"


class XpmAuthError(XpmError):
    """XPM refused the credentials (401 other than an expired access token).

    Usually a revoked consent or a missing scope: a person must reconnect.
    """

    kind = "auth"


class XpmInvalidGrant(XpmAuthError):
    """The token endpoint answered `invalid_grant` (refresh token reused, expired or revoked)."""


class XpmReauthorizationRequired(XpmAuthError):
    """The stored connection can no longer be refreshed; it must be authorised again."""


class XpmTenantError(XpmAuthError):
    """403: the tenant id is wrong or disconnected, or the user lost access to the practice."""

    def __init__(
        self,
        message: str,
        *,
        tenant_id: str | None = None,
        status: int | None = 403,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.tenant_id = tenant_id

    def _init_kwargs(self) -> dict[str, Any]:
        return {**super()._init_kwargs(), "tenant_id": self.tenant_id}


class XpmRateLimited(XpmError):
    """A rate limit was hit (429 from XPM, or the local limiter could not wait long enough).

    `problem` is XPM's `X-Rate-Limit-Problem` (`minute`, `day`, `concurrent`, `appminute`) or
    None; `retry_after` is the suggested wait in seconds, when known.
    """

    kind = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        problem: str | None = None,
        retry_after: float | None = None,
        status: int | None = 429,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.problem = problem
        self.retry_after = retry_after

    def _init_kwargs(self) -> dict[str, Any]:
        return {
            **super()._init_kwargs(),
            "problem": self.problem,
            "retry_after": self.retry_after,
        }


class XpmDailyLimitReached(XpmRateLimited):
    """The tenant's daily call budget is spent: stop the run; never sleep for hours."""

    kind = "daily_limit"

    def __init__(
        self,
        message: str,
        *,
        problem: str | None = "day",
        retry_after: float | None = None,
        status: int | None = 429,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            problem=problem,
            retry_after=retry_after,
            status=status,
            correlation_id=correlation_id,
        )


class XpmTransientError(XpmError, ConnectionError):
    """A 5xx, timeout or connection failure: worth retrying later.

    `outcome_unknown` is True when a create call (`client.api/add`, `client.api/contact`,
    `lead.api/add`) may have been processed before the failure: look the record up before
    trying again, or risk a duplicate.
    """

    kind = "transient"

    def __init__(
        self,
        message: str,
        *,
        outcome_unknown: bool = False,
        status: int | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.outcome_unknown = outcome_unknown

    def _init_kwargs(self) -> dict[str, Any]:
        return {**super()._init_kwargs(), "outcome_unknown": self.outcome_unknown}

    def __str__(self) -> str:
        # OSError.__str__ would format errno/strerror; keep the plain message.
        return self.message


class XpmApiError(XpmError):
    """XPM refused the request (200 with `<Status>ERROR</Status>`, or 400/404/409).

    Permanent: retrying the same request gives the same answer. `description` is XPM's
    `ErrorDescription` (or the problem detail of a JSON error), when it sent one. `about` is
    what was refused: `owner`, `contact`, `category`, `client` (`problems.ABOUT`) or None;
    read it rather than the text (problems.py).
    """

    kind = "refused"

    def __init__(
        self,
        message: str,
        *,
        description: str | None = None,
        about: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.description = description
        self.about = about

    def _init_kwargs(self) -> dict[str, Any]:
        return {**super()._init_kwargs(), "description": self.description, "about": self.about}


class XpmNotFoundError(XpmApiError):
    """The identifier is unknown to XPM (404, or `Invalid ... identifier`)."""


class XpmResponseError(XpmError, ValueError):
    """The response body was malformed, hostile (DTD, entities) or larger than allowed."""

    kind = "unreadable"
