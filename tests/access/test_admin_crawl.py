"""Crawl the admin as a user would: from the dashboard, follow every admin link the pages
show (GET only, never signing out), and check that no page shows what the user may not see.

Wagtail's default Editor sees no client's or visitor's personal data anywhere they can reach
and cannot delete an enquiry; the one-site administrator sees nothing of site B."""

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


def crawl(client, forbidden: tuple[str, ...]) -> tuple[int, list[str]]:
    seen: set[str] = set()
    queue = deque(["/admin/"])
    leaks: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or getattr(response, "streaming", False):
            continue
        body = unescape(response.content.decode("utf-8", errors="replace"))
        leaks += [f"{url}: {marker}" for marker in forbidden if marker in body]
        for link in [*LINK.findall(body), *MENU_LINK.findall(body)]:
            link = urldefrag(unescape(link))[0]
            parts = urlsplit(link)
            if parts.netloc or not parts.path.startswith("/admin/"):
                continue
            if parts.path.startswith(NEVER) or "/static/" in parts.path:
                continue
            if link not in seen:
                queue.append(link)
    return len(seen), leaks


def test_a_default_editor_crawling_the_admin_sees_no_personal_data(firms):
    client = firms.client("editor")
    pages, leaks = crawl(client, (*firms.a.people, *firms.a.visitors, *firms.b.people,
                                  *firms.b.visitors))  # fmt: skip
    print(f"\nEditor crawl: {pages} admin pages")
    assert pages > 20
    assert not leaks, leaks
    assert LeadSubmission.objects.count() == 2


def test_a_one_site_administrator_crawling_the_admin_sees_nothing_of_site_b(firms):
    client = firms.client("site_admin")
    pages, leaks = crawl(client, (*firms.b.markers, *firms.b.site_names))
    print(f"\nOne-site administrator crawl: {pages} admin pages")
    assert pages > 20
    assert not leaks, leaks
