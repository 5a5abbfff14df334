"""Absolute URLs, from one place, for every link the product puts outside the admin.

Campaign emails and their ``List-Unsubscribe`` header, lead descriptions sent to XPM, admin
notifications and Slack messages are read far from the website, so their links must carry
the site's real address. Public pages are built from the Wagtail ``Site`` (its hostname and
port: Settings → Sites), unless ``WAGTAIL_XPM["PUBLIC_BASE_URL"]`` overrides it; admin pages
from ``WAGTAILADMIN_BASE_URL`` (Wagtail's own setting), else the default site. A site still
at Wagtail's default ``localhost:80`` gets a system check warning (wagtail_xpm/checks.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from .conf import get_setting

if TYPE_CHECKING:
    from django.http import HttpRequest
    from wagtail.models import Page, Site


def is_default_address(site: Site) -> bool:
    """Whether ``site`` still has the address Wagtail gives a new site (localhost, port 80)."""
    return site.hostname in ("localhost", "127.0.0.1") and site.port == 80


def site_root_url(site: Site) -> str:
    """``https://www.firm.example`` (no trailing slash): where the site's public pages are."""
    return str(get_setting("PUBLIC_BASE_URL") or site.root_url).rstrip("/")


def public_url(site: Site, path: str) -> str:
    """The absolute URL of ``path`` (site-relative, e.g. an unsubscribe link) on ``site``."""
    return f"{site_root_url(site)}/{path.lstrip('/')}"


def page_url(page: Page, request: HttpRequest | None = None) -> str:
    """The absolute URL of a Wagtail page, on its own site; "" for a page with no route."""
    parts = page.get_url_parts(request)
    if parts is None:
        return ""
    _site_id, root_url, page_path = parts
    base = str(get_setting("PUBLIC_BASE_URL") or root_url or "").rstrip("/")
    return f"{base}{page_path}" if base else ""


def admin_base_url() -> str:
    """Where the admin is: ``WAGTAILADMIN_BASE_URL``, else the default site; "" if unknown."""
    base = getattr(settings, "WAGTAILADMIN_BASE_URL", "") or ""
    if not base:
        from wagtail.models import Site

        site = Site.objects.filter(is_default_site=True).first()
        if site is not None and not is_default_address(site):
            base = site.root_url
    return base.rstrip("/")


def admin_url(name: str, *args: object) -> str:
    """The absolute URL of a named admin view, or "" when it cannot be built."""
    base = admin_base_url()
    if not base:
        return ""
    try:
        return base + reverse(name, args=args)
    except NoReverseMatch:
        return ""
