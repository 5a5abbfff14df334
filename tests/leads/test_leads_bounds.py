"""The public lead forms within bounds: every field has a length limit, the request body is
capped, and the anti-spam stamp works once (docs/permissions.md, "Bounded inputs")."""

from __future__ import annotations

import html
import time

import pytest
from leads_helpers import CONTACT

from wagtail_xpm import limits
from wagtail_xpm.leads import spam
from wagtail_xpm.models import LeadSubmission

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def test_every_field_of_the_contact_page_has_a_length_limit(visitor, default_site):
    form = visitor.read_form()
    page = text_of(visitor.client.get("/contact/"))
    assert 'maxlength="5000"' in page and 'maxlength="255"' in page
    response = visitor.submit({**CONTACT, "message": "x" * 6_000})
    assert response.status_code == 200
    assert "at most 5000 characters" in text_of(response)
    response = visitor.submit({**CONTACT, "name": "n" * 300})
    assert "at most 255 characters" in text_of(response)
    assert not LeadSubmission.objects.exists()
    assert form.action  # the page's form posts to the lean endpoint


def test_a_huge_post_is_refused_before_it_is_read(visitor, default_site):
    form = visitor.read_form()
    response = visitor.client.post(
        form.action, {**form.fields, **CONTACT, "message": "x" * 2_000_000}
    )
    assert response.status_code == 413
    assert "too much" in response.content.decode()
    # Posting to the page itself is capped too.
    response = visitor.client.post("/contact/", {**form.fields, "message": "x" * 100_000})
    assert response.status_code == 413
    assert not LeadSubmission.objects.exists()


def test_the_block_endpoint_is_capped_too(visitor, default_site):
    form = visitor.read_form("/")
    response = visitor.client.post(form.action, {**form.fields, "message": "x" * 70_000})
    assert response.status_code == 413
    assert limits.MAX_PUBLIC_BODY == 64 * 1024


def test_the_anti_bot_stamp_is_single_use(visitor, default_site):
    form = visitor.read_form()
    fields = {**form.fields, **CONTACT}
    fields[spam.TIMESTAMP_FIELD] = spam.form_started_token(time.time() - 20)
    first = visitor.client.post(form.action, fields, REMOTE_ADDR=visitor.ip)
    second = visitor.client.post(
        form.action, {**fields, "name": "Replayed Bot"}, REMOTE_ADDR=visitor.ip
    )
    assert first.status_code == second.status_code == 302  # a bot learns nothing
    genuine, replayed = LeadSubmission.objects.order_by("pk")
    assert genuine.status != LeadSubmission.Status.SPAM
    assert replayed.status == LeadSubmission.Status.SPAM
    assert replayed.spam_reason == "The form's anti-spam stamp was already used."


def test_stamps_expire_and_old_style_stamps_are_not_accepted(visitor, default_site):
    old = spam.form_started_token(time.time() - spam.STAMP_MAX_AGE - 60)
    visitor.submit(CONTACT, fields={**visitor.form_fields(), spam.TIMESTAMP_FIELD: old},
                   seconds_ago=None)  # fmt: skip
    legacy = spam.signing.dumps(round(time.time() - 30, 3), salt=spam.SIGNING_SALT)
    visitor.submit(CONTACT, fields={**visitor.form_fields(), spam.TIMESTAMP_FIELD: legacy},
                   seconds_ago=None)  # fmt: skip
    reasons = list(LeadSubmission.objects.order_by("pk").values_list("spam_reason", flat=True))
    assert reasons == [
        "The form's anti-spam stamp was more than a week old.",
        "The form's anti-spam stamp came from an older version of the site.",
    ]
