"""Fixtures for website leads: a site connected to the sandbox with a lead owner, and a
visitor who fills in /contact/ like a person (the anti-spam stamp is a few seconds old)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client

from example_site.htmlforms import parse_forms
from wagtail_xpm import services
from wagtail_xpm.leads import pipeline, spam
from wagtail_xpm.models import LeadSubmission


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(lead_owner):
    """The first staff member, chosen as lead owner (see tests/conftest.py)."""
    return lead_owner


@pytest.fixture
def lead_site(connected_site, owner):
    """A connected site whose leads have an owner: everything delivery needs."""
    return connected_site


@dataclass
class Visitor:
    """A person at the website: reads the form, takes their time, sends it."""

    client: Client
    ip: str = "203.0.113.7"

    def read_form(self, path: str = "/contact/"):
        response = self.client.get(path, REMOTE_ADDR=self.ip)
        assert response.status_code == 200
        forms = parse_forms(response.content.decode(), f"http://testserver{path}")
        return next(f for f in forms if f.method == "post")

    def form_fields(self, path: str = "/contact/") -> dict[str, str]:
        return dict(self.read_form(path).fields)

    def submit(
        self,
        data: dict,
        *,
        path: str = "/contact/",
        seconds_ago: float = 20,
        fields: dict | None = None,
        follow: bool = True,
        **extra,
    ):
        """GET the form (for its CSRF token and anti-spam stamp), then POST ``data`` where
        the form says, following the redirect to the thank-you page."""
        form = self.read_form(path)
        fields = dict(fields if fields is not None else form.fields)
        if seconds_ago is not None:
            # As if the page had been open for a while (people take more than 3 s).
            fields[spam.TIMESTAMP_FIELD] = spam.form_started_token(time.time() - seconds_ago)
        fields.update(data)
        extra.setdefault("REMOTE_ADDR", self.ip)
        return self.client.post(form.action, fields, follow=follow, **extra)


@pytest.fixture
def visitor():
    return Visitor(Client(enforce_csrf_checks=True))


@pytest.fixture
def deliver():
    """One delivery attempt now, through the real client against the sandbox."""

    def run(submission: LeadSubmission | int, **kwargs):
        pk = submission if isinstance(submission, int) else submission.pk
        return pipeline.deliver(pk, client_factory=services.client_for, **kwargs)

    return run
