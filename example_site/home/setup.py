"""Build the example site's pages with the real models (tests that flush the database)."""

from __future__ import annotations

import importlib

from django.apps import apps
from wagtail.models import Locale, Page, Site

from .models import ContactPage, HomePage

HOME_INTRO = (
    "<p>We look after the tax, accounts and advice of businesses, trusts and families. "
    "Our client list lives in Xero Practice Manager; this site stays in step with it.</p>"
)
CONTACT_INTRO = "<p>Tell us about your business and an accountant will be in touch.</p>"


def ensure_example_site() -> Site:
    """The default site with its home and contact pages, created if missing."""
    site = Site.objects.filter(is_default_site=True).first()
    if site is not None:
        return site
    locale = Locale.objects.first() or Locale.objects.create(language_code="en-au")
    root = Page.get_first_root_node() or Page.add_root(
        instance=Page(title="Root", slug="root", locale=locale)
    )
    home = root.add_child(
        instance=HomePage(title="Example Accounting", slug="home", intro=HOME_INTRO)
    )
    home.add_child(instance=ContactPage(title="Contact us", slug="contact", intro=CONTACT_INTRO))
    # The same form fields and home-page block as a fresh `migrate` gives.
    content = importlib.import_module("example_site.home.migrations.0004_lead_form_content")
    content.create_form(apps, None)
    return Site.objects.create(
        hostname="localhost",
        port=80,
        site_name="Example Accounting",
        root_page=home,
        is_default_site=True,
    )
