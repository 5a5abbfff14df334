"""The spam gate: honeypot, minimum fill time, per-IP rate limit and an optional captcha.

A submission judged spam is still stored (status ``spam``, with the reason) for review, and
the sender sees the normal thank-you page, so a bot learns nothing. It is never sent to XPM.
Beyond several times the rate limit a flood is not even stored (only counted in the log), so
one address cannot fill the database.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import get_setting

logger = logging.getLogger(__name__)

# Named to look like a field a bot wants to fill; people never see it (hidden by CSS).
HONEYPOT_FIELD = "website"
TIMESTAMP_FIELD = "xpm_form_started"
PROTECTION_FIELDS = (HONEYPOT_FIELD, TIMESTAMP_FIELD)
SIGNING_SALT = "wagtail_xpm.leads.form-started"
CACHE_PREFIX = "wagtail_xpm:lead-rate:"
# The "shown at" stamp is single-use: each stamp carries a random nonce, remembered in the
# cache once a submission used it. A stamp older than this is refused (and its nonce need
# not be remembered longer).
STAMP_MAX_AGE = 7 * 24 * 3600
STAMP_USED_PREFIX = "wagtail_xpm:lead-stamp:"
# Past this multiple of the limit a flood is dropped instead of stored as spam.
DISCARD_FACTOR = 4


@dataclass(frozen=True)
class Verdict:
    """What the gate decided: ``spam`` with a reason for reviewers, and whether to store it."""

    spam: bool = False
    reason: str = ""
    discard: bool = False


def rate_limit() -> tuple[int, int]:
    """The ``LEAD_RATE_LIMIT`` setting as (submissions, window seconds)."""
    value = get_setting("LEAD_RATE_LIMIT")
    if isinstance(value, str):
        count, _, seconds = value.partition("/")
        return int(count), int(seconds or 60)
    count, seconds = value
    return int(count), int(seconds)


def form_started_token(now: float | None = None) -> str:
    """A signed, single-use "this form was shown at" stamp for the hidden timestamp field."""
    shown = round(now if now is not None else time.time(), 3)
    return signing.dumps({"t": shown, "n": secrets.token_urlsafe(12)}, salt=SIGNING_SALT)


def read_stamp(token: str | None) -> tuple[float, str] | None:
    """(when the form was shown, the stamp's nonce); None if missing or forged. A stamp
    signed before stamps had a nonce reads with an empty one."""
    if not token:
        return None
    try:
        payload = signing.loads(token, salt=SIGNING_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    try:
        if isinstance(payload, dict):
            return float(payload["t"]), str(payload["n"])
        return float(payload), ""
    except (KeyError, TypeError, ValueError):
        return None


def seconds_since_shown(token: str | None, now: float | None = None) -> float | None:
    """Seconds since the form carrying ``token`` was rendered; None if missing or forged."""
    stamp = read_stamp(token)
    if stamp is None:
        return None
    return (now if now is not None else time.time()) - stamp[0]


def use_stamp(nonce: str) -> bool:
    """Mark a stamp's nonce used; False when it already was. Without a working cache the
    stamp is not checked (visitors are never refused because of our outage)."""
    try:
        return bool(cache.add(f"{STAMP_USED_PREFIX}{nonce}", 1, timeout=STAMP_MAX_AGE))
    except Exception:  # noqa: BLE001 - a cache outage must not lose an enquiry
        logger.warning("Lead stamp cache unavailable; not checking reuse", exc_info=True)
        return True


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address: REMOTE_ADDR, or the entry ``TRUSTED_PROXY_COUNT`` proxies added.

    Each trusted proxy appends the address it saw to X-Forwarded-For, so the visitor is the
    N-th entry from the right; anything further left was written by the client and could be
    forged to dodge the rate limit.
    """
    proxies = int(get_setting("TRUSTED_PROXY_COUNT") or 0)
    candidate = request.META.get("REMOTE_ADDR", "")
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
        elif forwarded:
            candidate = forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate.strip()))
    except ValueError:
        return None


def _rate_key(ip: str) -> str:
    address = ipaddress.ip_address(ip)
    if address.version == 6:
        # One IPv6 host usually owns a whole /64: count the network, not the address.
        address = ipaddress.ip_network(f"{ip}/64", strict=False).network_address
    return f"{CACHE_PREFIX}{address}"


def count_submission(ip: str | None) -> int:
    """Count one submission from ``ip`` in the current window; returns the count so far.

    A fixed window in the cache (Redis in production, shared by every web process). When
    the cache is down the count is 0: visitors are never refused because of our outage.
    """
    if not ip:
        return 0
    _, window = rate_limit()
    key = _rate_key(ip)
    try:
        if cache.add(key, 1, timeout=window):
            return 1
        return int(cache.incr(key))
    except ValueError:
        # The key expired between add and incr: this is the first of a new window.
        cache.add(key, 1, timeout=window)
        return 1
    except Exception:  # noqa: BLE001 - a cache outage must not lose an enquiry
        logger.warning("Lead rate limit cache unavailable; not counting", exc_info=True)
        return 0


def captcha_validator() -> Callable[[HttpRequest], bool] | None:
    path = get_setting("CAPTCHA_VALIDATOR")
    if not path:
        return None
    return import_string(path) if isinstance(path, str) else path


def check(request: HttpRequest, data: Mapping[str, object], *, now: float | None = None) -> Verdict:
    """Judge one submission whose form was otherwise valid. ``data`` is the raw POST."""
    limit, window = rate_limit()
    count = count_submission(client_ip(request))
    if limit and count > limit * DISCARD_FACTOR:
        return Verdict(True, _flood_reason(limit, window), discard=True)
    if str(data.get(HONEYPOT_FIELD) or "").strip():
        return Verdict(True, _("The hidden anti-spam field was filled in."))
    stamp = read_stamp(str(data.get(TIMESTAMP_FIELD) or ""))
    if stamp is None:
        return Verdict(True, _("The form's anti-spam stamp was missing or altered."))
    elapsed = (now if now is not None else time.time()) - stamp[0]
    if elapsed > STAMP_MAX_AGE:
        return Verdict(True, _("The form's anti-spam stamp was more than a week old."))
    if not stamp[1]:
        return Verdict(
            True, _("The form's anti-spam stamp came from an older version of the site.")
        )
    if not use_stamp(stamp[1]):
        return Verdict(True, _("The form's anti-spam stamp was already used."))
    minimum = float(get_setting("LEAD_MIN_FILL_SECONDS") or 0)
    if elapsed < minimum:
        return Verdict(
            True,
            _("Sent %(elapsed).1f s after the form was shown (people take at least %(minimum)s s).")
            % {"elapsed": max(elapsed, 0), "minimum": f"{minimum:g}"},
        )
    validator = captcha_validator()
    if validator is not None and not validator(request):
        return Verdict(True, _("The captcha was not passed."))
    if limit and count > limit:
        return Verdict(True, _flood_reason(limit, window))
    return Verdict()


def _flood_reason(limit: int, window: int) -> str:
    if window >= 60:
        minutes = window / 60
        span = ngettext("%(count)s minute", "%(count)s minutes", math.ceil(minutes)) % {
            "count": f"{minutes:g}"
        }
    else:
        span = ngettext("%(count)s second", "%(count)s seconds", window) % {"count": window}
    return ngettext(
        "More than %(limit)s submission from one address within %(span)s.",
        "More than %(limit)s submissions from one address within %(span)s.",
        limit,
    ) % {"limit": limit, "span": span}
