"""JSON responses of Xero's gateway and identity server (problem details, OAuth errors)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from werkzeug.wrappers import Response

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Unavailable",
    504: "Gateway Timeout",
}
_DETAILS = {500: "InternalServerError", 503: "ServiceNotAvailable"}


def correlation_id() -> str:
    """A fresh ``xero-correlation-id``."""
    return str(uuid.uuid4())


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact JSON with ``xero-correlation-id`` (and no caching, like the real service)."""
    response = Response(
        json.dumps(data, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )
    response.headers["xero-correlation-id"] = correlation_id()
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The gateway's problem document::

    {"Type":null,"Title":"Unauthorized","Status":401,"Detail":"...","Instance":"<uuid>",
     "Extensions":{}}
    """
    body = {
        "Type": None,
        "Title": title or _TITLES.get(status, "Error"),
        "Status": status,
        "Detail": detail or _DETAILS.get(status, _TITLES.get(status, "Error")),
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return json_response(body, status, headers)
