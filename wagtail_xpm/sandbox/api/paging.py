"""Token paging for ``paged-list`` and ``contacts`` (docs/xpm-api.md 4.2, 5.2).

The token is opaque base64 naming the insertion sequence number of the last record sent,
so records added or archived between pages never make a page skip or repeat a record.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ..xmlout import el
from .context import ApiContext, ApiError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class Sequenced(Protocol):
    seq: int


T = TypeVar("T", bound=Sequenced)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of records and the links block that goes with it."""

    items: list[T]
    links_xml: str


def encode_token(after_seq: int) -> str:
    """An opaque continuation token."""
    raw = json.dumps({"after": after_seq}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> int:
    """The sequence number a token continues after; ApiError 400 when it is not ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        after = data["after"]
        if not isinstance(after, int) or after < 0:
            raise ValueError(after)
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise ApiError("Invalid pageToken", 400) from None


def page_size(ctx: ApiContext) -> int:
    """``pageSize``: 1-500, default 50; anything else is a 400."""
    raw = ctx.q("pageSize")
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise ApiError("pageSize must be a number between 1 and 500", 400) from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError("pageSize must be a number between 1 and 500", 400)
    return size


def paginate(ctx: ApiContext, records: Iterable[T], method_path: str) -> Page[T]:
    """Take one page from ``records`` (already filtered, in sequence order)."""
    size = page_size(ctx)
    token = ctx.q("pageToken")
    after = decode_token(token) if token else 0
    items: list[T] = []
    has_more = False
    for record in records:
        if record.seq <= after:
            continue
        if len(items) == size:
            has_more = True
            break
        items.append(record)
    url = f"{ctx.base_url}{method_path}"
    links = el("First", f"{url}?pageSize={size}")
    if has_more and items:
        links += el("Next", f"{url}?pageToken={encode_token(items[-1].seq)}&pageSize={size}")
    return Page(items, f"<Pagination><Links>{links}</Links></Pagination>")


def by_seq(records: Iterable[T]) -> Sequence[T]:
    """Records in insertion order (dicts keep it, but loaded states may not)."""
    return sorted(records, key=lambda record: record.seq)
