"""Fixtures for marketing consent: the example site's practice (no XPM needed unless a test
syncs), its forms filled in by a visitor, and the confirmation email's link."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from optin_helpers import Visitor

from tests.segments.segment_factories import make_connection
from wagtail_xpm.models import XpmSiteSettings


@pytest.fixture(autouse=True)
def fresh_cache():
    """The form's rate limit counts live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def practice(default_site):
    """The example site's practice; enquiries stay on the website (no XPM calls), which is
    where consent is decided anyway (wagtail_xpm/leads/crm.py runs before any XPM step)."""
    connection = make_connection(default_site)
    site_settings = XpmSiteSettings.for_site(default_site)
    site_settings.leads_enabled = False
    site_settings.save()
    return connection


@pytest.fixture
def visitor():
    return Visitor(Client(enforce_csrf_checks=True))


@pytest.fixture
def send_form(visitor, django_capture_on_commit_callbacks):
    """``send_form(path, **fields)``: a visitor sends the form at ``path`` (the contact page's
    fields by default); the queued work (delivery, confirmation email) runs, as the worker
    would, once the request has answered."""

    def send(path: str = "/contact/", **data):
        with django_capture_on_commit_callbacks(execute=True):
            response = visitor.send(path, data)
        assert response.status_code == 302, response.content[:500]
        return response

    return send
