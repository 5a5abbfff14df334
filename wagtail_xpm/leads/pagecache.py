"""Lead form pages as the POST endpoint needs them, kept in Django's cache.

A visitor's POST needs the live page, its form fields and whether it is private: three
queries that dominate the cost of storing an enquiry. They change only when an editor
publishes, unpublishes, moves or deletes the page, or changes a view restriction; those
signals drop the cached copy (in every process when the cache is shared, as Redis is in
production). With a per-process cache (local memory) another process may keep the old
form for up to ``TTL`` seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move

logger = logging.getLogger(__name__)

TTL = 120
# Ids that are not (or no longer) a live lead form page, remembered briefly so random ids
# posted by bots do not each cost a query.
MISSING_TTL = 10
MISSING = "missing"
PREFIX = "wagtail_xpm:lead-page:"
GENERATION_KEY = "wagtail_xpm:lead-page-generation"


def _key(page_id: int) -> str:
    return f"{PREFIX}{_generation()}:{page_id}"


def _generation() -> int:
    try:
        return int(cache.get(GENERATION_KEY) or 0)
    except Exception:  # noqa: BLE001 - no cache: every lookup goes to the database
        return 0


def has_view_restrictions(page: Page) -> bool:
    """Whether the page or an ancestor is private (one query; ancestors from the tree path)."""
    steps = Page.steplen
    paths = [page.path[:end] for end in range(steps, len(page.path) + 1, steps)]
    return PageViewRestriction.objects.filter(page__path__in=paths).exists()


def load(page_id: int, loader) -> Any:
    """The page from the cache, else from ``loader(page_id)`` (None when not a lead page),
    with its form fields read and ``lead_is_private`` set."""
    key = _key(page_id)
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001
        cached = None
    if cached == MISSING:
        return None
    if cached is not None:
        return cached
    page = loader(page_id)
    if page is not None:
        page.get_form_fields()  # read now, so the cached copy carries them
        page.lead_is_private = has_view_restrictions(page)
    try:
        cache.set(key, MISSING if page is None else page, MISSING_TTL if page is None else TTL)
    except Exception:  # noqa: BLE001 - a cache that cannot store is only slower
        logger.warning("Could not cache lead form page %s", page_id, exc_info=True)
    return page


def forget(page_id: int | None = None) -> None:
    """Drop one page's cached copy, or every page's (view restrictions changed)."""
    try:
        if page_id is None:
            try:
                cache.incr(GENERATION_KEY)
            except ValueError:
                cache.set(GENERATION_KEY, 1, None)
        else:
            cache.delete(_key(page_id))
    except Exception:  # noqa: BLE001
        logger.warning("Could not clear cached lead form pages", exc_info=True)


@receiver(page_published)
@receiver(page_unpublished)
def _page_changed(sender, instance, **kwargs) -> None:
    forget(instance.pk)


@receiver(post_page_move)
def _page_moved(sender, instance, **kwargs) -> None:
    forget()  # the page and everything below it have new URLs


@receiver(post_delete)
def _page_deleted(sender, instance, **kwargs) -> None:
    if isinstance(instance, Page):
        forget(instance.pk)


@receiver(post_save, sender=PageViewRestriction)
@receiver(post_delete, sender=PageViewRestriction)
def _restriction_changed(sender, instance, **kwargs) -> None:
    forget()
