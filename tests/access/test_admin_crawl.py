"""Crawl the admin as a user would: from the dashboard, follow every admin link the pages
show (GET only, never signing out), and check that no page shows what the user may not see.

Wagtail's default Editor sees no client's or visitor's personal data anywhere they can reach
and cannot delete an enquiry; the one-site administrator sees nothing of site B.

The whole crawls are ``slow`` (`make test`); `make test-fast` crawls the dashboard and every
page its menu links to (one link deep), which covers each of the app's listings."""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import urldefrag, urlsplit

import pytest

from wagtail_xpm.models import LeadSubmission

pytestmark = pytest.mark.django_db

LINK = re.compile(r"""(?:href|action|data-url|hx-get)=["']([^"'#]+)""")
# The sidebar menu is JSON for Wagtail's JavaScript: its "url" values are links too.
MENU_LINK = re.compile(r'"url": "(/admin/[^"#]*)"')
NEVER = ("/admin/logout/", "/admin/failwhale/", "/admin/password_reset/")
MAX_PAGES = 600
# How far the quick crawls of `make test-fast` follow links from the dashboard.
MENU_DEPTH = 1


def crawl(
    client, forbidden: tuple[str, ...], max_depth: int | None = None
) -> tuple[int, list[str]]:
    """Breadth first from the dashboard; ``max_depth`` links deep at most (None: everywhere)."""
    seen: set[str] = set()
    queue = deque([("/admin/", 0)])
    leaks: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        url, depth = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or getattr(response, "streaming", False):
            continue
        body = unescape(response.content.decode("utf-8", errors="replace"))
        leaks += [f"{url}: {marker}" for marker in forbidden if marker in body]
        if max_depth is not None and depth >= max_depth:
            continue
        for link in [*LINK.findall(body), *MENU_LINK.findall(body)]:
            link = urldefrag(unescape(link))[0]
            parts = urlsplit(link)
            if parts.netloc or not parts.path.startswith("/admin/"):
                continue
            if parts.path.startswith(NEVER) or "/static/" in parts.path:
                continue
            if link not in seen:
                queue.append((link, depth + 1))
    return len(seen), leaks


def editor_crawl(firms, max_depth: int | None = None) -> int:
    client = firms.client("editor")
    pages, leaks = crawl(client, (*firms.a.people, *firms.a.visitors, *firms.b.people,
                                  *firms.b.visitors), max_depth)  # fmt: skip
    assert not leaks, leaks
    assert LeadSubmission.objects.count() == 2
    return pages


def site_admin_crawl(firms, max_depth: int | None = None) -> int:
    client = firms.client("site_admin")
    pages, leaks = crawl(client, (*firms.b.markers, *firms.b.site_names), max_depth)
    assert not leaks, leaks
    return pages


@pytest.mark.slow
def test_a_default_editor_crawling_the_admin_sees_no_personal_data(firms):
    pages = editor_crawl(firms)
    print(f"\nEditor crawl: {pages} admin pages")
    assert pages > 20


@pytest.mark.slow
def test_a_one_site_administrator_crawling_the_admin_sees_nothing_of_site_b(firms):
    pages = site_admin_crawl(firms)
    print(f"\nOne-site administrator crawl: {pages} admin pages")
    assert pages > 20


def test_the_admin_menu_shows_a_default_editor_no_personal_data(firms):
    pages = editor_crawl(firms, max_depth=MENU_DEPTH)
    print(f"\nEditor crawl, {MENU_DEPTH} link deep: {pages} admin pages")
    assert pages > 5


def test_the_admin_menu_shows_a_one_site_administrator_nothing_of_site_b(firms):
    pages = site_admin_crawl(firms, max_depth=MENU_DEPTH)
    print(f"\nOne-site administrator crawl, {MENU_DEPTH} link deep: {pages} admin pages")
    assert pages > 10
