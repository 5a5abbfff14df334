"""Helpers for the consent tests: a visitor at the website, the confirmation link."""

from __future__ import annotations

import re
import time

from django.test import Client

from example_site.htmlforms import parse_forms
from wagtail_xpm.leads import spam
from wagtail_xpm.models import XpmSiteSettings

VISITOR_IP = "203.0.113.7"
LINK = re.compile(r"https?://[^\s\"<>]+/xpm/leads/confirm/[^\s\"<>/]+/")


def single_opt_in(site, on: bool = True) -> None:
    site_settings = XpmSiteSettings.for_site(site)
    site_settings.single_opt_in = on
    site_settings.save()


class Visitor:
    """A person at the website: reads a form, takes their time, sends it."""

    def __init__(self, client: Client, ip: str = VISITOR_IP) -> None:
        self.client = client
        self.ip = ip

    def form(self, path: str):
        response = self.client.get(path, REMOTE_ADDR=self.ip)
        assert response.status_code == 200
        forms = parse_forms(response.content.decode(), f"http://testserver{path}")
        return next(f for f in forms if f.method == "post" and "/xpm/leads/" in f.action)

    def send(self, path: str, data: dict):
        form = self.form(path)
        fields = dict(form.fields)
        fields[spam.TIMESTAMP_FIELD] = spam.form_started_token(time.time() - 30)
        fields.update(data)
        return self.client.post(form.action, fields, REMOTE_ADDR=self.ip)


def confirmation_link(message) -> str:
    """The link in a confirmation email (the text part; the HTML part has the same)."""
    found = LINK.findall(message.body)
    assert len(found) == 1, message.body
    html = message.alternatives[0][0] if message.alternatives else ""
    assert found[0] in html
    return found[0]
