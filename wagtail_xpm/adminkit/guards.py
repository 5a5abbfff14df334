"""View decorators over :mod:`wagtail_xpm.access`: a permission, on the site a URL names.

``requires(codenames)`` lets a view run only for users holding one of ``codenames`` on
some site; with ``site=...`` the site comes from the URL (a ``site_id`` or the record a
``pk`` names) and the user must hold the permission there. A user without the permission
anywhere gets 403; a record of a site they may not see answers 404, as if it did not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, JsonResponse

from .. import access, limits

SiteFinder = Callable[[HttpRequest, dict[str, Any]], Any]


def site_kwarg(name: str = "site_id") -> SiteFinder:
    """The site is the URL's ``site_id``."""

    def find(request: HttpRequest, kwargs: dict[str, Any]) -> Any:
        return int(kwargs[name])

    return find


def record_kwarg(model: type[Model], name: str = "pk") -> SiteFinder:
    """The site is that of the ``model`` record the URL's ``name`` points at (404 when
    there is none)."""

    def find(request: HttpRequest, kwargs: dict[str, Any]) -> Any:
        path = access.site_field(model)
        row = model._default_manager.filter(pk=kwargs[name]).values_list(path, flat=True)
        found = list(row[:1])
        if not found:
            raise Http404
        return found[0]

    return find


def check(user: Any, codenames: str | Iterable[str], site: Any = None) -> None:
    """403 without the permission anywhere; 404 for a site the user may not see."""
    if not access.holds(user, codenames):
        raise PermissionDenied
    if site is not None and not access.holds(user, codenames, site):
        raise Http404


def requires(codenames: str | Iterable[str], *, site: SiteFinder | None = None):
    """Decorate a view: the user holds one of ``codenames`` (on the URL's site)."""
    names = (codenames,) if isinstance(codenames, str) else tuple(codenames)

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any):
            if not access.holds(request.user, names):
                raise PermissionDenied
            if site is not None:
                site_id = site(request, kwargs)
                if site_id is None or not access.holds(request.user, names, site_id):
                    raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def connection_param(name: str = "connection") -> SiteFinder:
    """The site is that of the XPM connection named by the query string's ``name``."""

    def find(request: HttpRequest, kwargs: dict[str, Any]) -> Any:
        from ..models import XpmConnection

        raw = request.GET.get(name, "")
        if not raw.isdigit():
            raise Http404
        found = list(
            XpmConnection.objects.filter(pk=int(raw)).values_list("site_id", flat=True)[:1]
        )
        if not found:
            raise Http404
        return found[0]

    return find


def all_of(*decorators):
    """Several ``requires(...)`` in one (each must pass, the first listed checked first)."""

    def decorate(view):
        for decorator in reversed(decorators):
            view = decorator(view)
        return view

    return decorate


def guard_urls(
    patterns: list,
    *,
    model: type[Model],
    default: Iterable[str],
    rules: dict[str, Callable] | None = None,
) -> list:
    """Wrap a viewset's URL patterns: those named in ``rules`` with their decorator, and
    every other pattern whose route names a ``pk`` with ``requires(default)`` on the site of
    the ``model`` record it names. Listings are scoped by the permission policies."""
    rules = rules or {}
    default_guard = requires(tuple(default), site=record_kwarg(model))
    for pattern in patterns:
        if not hasattr(pattern, "callback"):
            continue
        name = getattr(pattern, "name", None)
        decorator = rules.get(name)
        if decorator is None and "pk" in getattr(pattern.pattern, "converters", {}):
            decorator = default_guard
        if decorator is not None:
            pattern.callback = decorator(pattern.callback)
    return patterns


def guarded_urls(**options):
    """``guard_urls`` as a decorator of a viewset's ``get_urlpatterns``."""

    def decorate(method):
        @functools.wraps(method)
        def wrapped(self):
            return guard_urls(method(self), **options)

        return wrapped

    return decorate


# Field types whose offered values come from the calendar or the app, never from people.
NON_PERSONAL_TYPES = frozenset({"month", "boolean", "flag"})
NON_PERSONAL_FIELDS = frozenset({"source"})


def member_values_need(codenames: Iterable[str], *, site: SiteFinder):
    """The segment builder's field list offers values synced from the practice (client
    names, account managers, groups...): only to users who may see contacts there. Others
    get the fields and operators with no values to pick (they type them)."""
    names = tuple(codenames)

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any):
            response = view(request, *args, **kwargs)
            if response.status_code != 200 or access.holds(
                request.user, names, site(request, kwargs)
            ):
                return response
            import json

            from django.http import JsonResponse

            payload = json.loads(response.content)
            for field in payload.get("fields", []):
                if field.get("type") in NON_PERSONAL_TYPES or (
                    field.get("builtin") and field.get("key") in NON_PERSONAL_FIELDS
                ):
                    continue
                field["values"] = []
                field["values_complete"] = False
            return JsonResponse(payload)

        return wrapped

    return decorate


def rules_within_limits(view):
    """The segment builder's endpoints: a ``definition`` that is not JSON, is too large or
    nests too deeply, or a rule tree beyond the limits of ``limits.py``, is refused with 400
    and the reason (never read as "everyone")."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any):
        raw = request.GET.get("definition")
        if raw is not None:
            try:
                limits.load_rule_definition(raw)
            except limits.LimitExceeded as exc:
                return JsonResponse({"ok": False, "errors": [str(exc)]}, status=400)
        return view(request, *args, **kwargs)

    return wrapped
