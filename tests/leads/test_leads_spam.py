"""The spam gate on /contact/: honeypot, too fast, forged stamp, floods, proxies, captcha.

Spam gets the normal thank-you page (a bot learns nothing), is stored for review and is
never sent to XPM."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from leads_helpers import CONTACT

from wagtail_xpm.leads import spam
from wagtail_xpm.models import LeadSubmission

pytestmark = pytest.mark.django_db

Status = LeadSubmission.Status
THANKS = "Thank you for getting in touch"


def submit_and_deliver(visitor, capture, data=None, **kwargs):
    with capture(execute=True):
        response = visitor.submit(data or CONTACT, **kwargs)
    assert response.status_code == 200
    assert THANKS in response.content.decode()
    return response


def assert_spam(reason_part: str, running_sandbox) -> LeadSubmission:
    submission = LeadSubmission.objects.get()
    assert submission.status == Status.SPAM
    assert reason_part in submission.spam_reason
    # Never reaches XPM.
    assert running_sandbox.sandbox.calls_by_path["lead.api/add"] == 0
    assert running_sandbox.sandbox.calls_by_path["client.api/add"] == 0
    return submission


def test_a_person_gets_through(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    submit_and_deliver(visitor, django_capture_on_commit_callbacks)
    submission = LeadSubmission.objects.get()
    assert submission.status == Status.SENT and submission.spam_reason == ""
    assert submission.remote_addr == "203.0.113.7"


def test_honeypot_filled_is_spam(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    submit_and_deliver(
        visitor,
        django_capture_on_commit_callbacks,
        {**CONTACT, spam.HONEYPOT_FIELD: "http://cheap-pills.example"},
    )
    assert_spam("hidden anti-spam field", running_sandbox)


def test_sent_too_fast_is_spam(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    # The stamp the page just rendered is used as is: submitted within a second.
    submit_and_deliver(visitor, django_capture_on_commit_callbacks, seconds_ago=None)
    submission = assert_spam("after the form was shown", running_sandbox)
    assert "at least 3 s" in submission.spam_reason


def test_missing_or_forged_stamp_is_spam(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    fields = visitor.form_fields()
    fields[spam.TIMESTAMP_FIELD] = "MTcwMDAwMDAwMC4w:forged:signature"
    submit_and_deliver(visitor, django_capture_on_commit_callbacks, fields=fields, seconds_ago=None)
    assert_spam("missing or altered", running_sandbox)


def test_minimum_fill_time_is_a_setting(
    visitor, lead_site, settings, running_sandbox, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "LEAD_MIN_FILL_SECONDS": 30}
    submit_and_deliver(visitor, django_capture_on_commit_callbacks, seconds_ago=20)
    assert_spam("at least 30 s", running_sandbox)


def test_flood_from_one_address_is_spam_then_dropped(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    # The default limit is 5 per 10 minutes per address.
    for index in range(25):
        submit_and_deliver(
            visitor,
            django_capture_on_commit_callbacks,
            {**CONTACT, "email": f"visitor{index}@flood.example"},
        )
    statuses = list(LeadSubmission.objects.order_by("pk").values_list("status", flat=True))
    assert statuses[:5] == [Status.SENT] * 5
    # 6th to 20th: stored as spam for review; beyond 4x the limit, not even stored.
    assert statuses[5:] == [Status.SPAM] * 15
    assert len(statuses) == 20
    assert "More than 5 submissions from one address within 10 minutes." in (
        LeadSubmission.objects.filter(status=Status.SPAM).first().spam_reason
    )
    assert (
        len([lead for lead in running_sandbox.sandbox.state.leads.values() if lead.created_via_api])
        == 5
    )


def test_another_address_is_not_limited_by_the_flood(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    for _ in range(6):
        submit_and_deliver(visitor, django_capture_on_commit_callbacks)
    visitor.ip = "198.51.100.20"
    submit_and_deliver(visitor, django_capture_on_commit_callbacks)
    assert LeadSubmission.objects.order_by("-pk").first().status == Status.SENT


def test_spoofed_forwarded_for_is_ignored_by_default(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks
):
    for index in range(6):
        submit_and_deliver(
            visitor,
            django_capture_on_commit_callbacks,
            HTTP_X_FORWARDED_FOR=f"10.0.0.{index}",
        )
    last = LeadSubmission.objects.order_by("-pk").first()
    assert last.status == Status.SPAM and last.remote_addr == "203.0.113.7"


def test_trusted_proxy_count_reads_the_right_forwarded_entry(settings):
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "TRUSTED_PROXY_COUNT": 1}
    factory = RequestFactory()
    # The client wrote "6.6.6.6"; our one proxy appended the address it saw.
    request = factory.post(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9"
    )
    assert spam.client_ip(request) == "198.51.100.9"
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "TRUSTED_PROXY_COUNT": 2}
    assert spam.client_ip(request) == "6.6.6.6"
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "TRUSTED_PROXY_COUNT": 0}
    assert spam.client_ip(request) == "10.0.0.1"


def test_ipv6_addresses_are_limited_per_64_network(settings):
    a = spam._rate_key("2001:db8:1:2::10")
    b = spam._rate_key("2001:db8:1:2:ffff::1")
    c = spam._rate_key("2001:db8:1:3::10")
    assert a == b != c


def reject_all(request) -> bool:
    return request.POST.get("captcha") == "42"


def test_captcha_hook(
    visitor, lead_site, settings, running_sandbox, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_XPM = {
        **settings.WAGTAIL_XPM,
        "CAPTCHA_VALIDATOR": "test_leads_spam.reject_all",
    }
    submit_and_deliver(visitor, django_capture_on_commit_callbacks, {**CONTACT, "captcha": "41"})
    assert_spam("captcha", running_sandbox)
    submit_and_deliver(visitor, django_capture_on_commit_callbacks, {**CONTACT, "captcha": "42"})
    assert LeadSubmission.objects.order_by("-pk").first().status == Status.SENT


def test_spam_is_not_added_to_the_crm_nor_emailed(
    visitor, lead_site, running_sandbox, django_capture_on_commit_callbacks, mailoutbox
):
    from example_site.home.models import ContactPage

    page = ContactPage.objects.get()
    page.to_address = "office@example.com"
    page.save()
    submit_and_deliver(
        visitor,
        django_capture_on_commit_callbacks,
        {**CONTACT, spam.HONEYPOT_FIELD: "x"},
    )
    submission = assert_spam("hidden anti-spam field", running_sandbox)
    assert submission.contact is None
    assert mailoutbox == []
    # A real enquiry on the same page is emailed as Wagtail's form pages do (and the
    # visitor, who ticked the consent box, is sent a confirmation email).
    submit_and_deliver(visitor, django_capture_on_commit_callbacks)
    assert [m.to for m in mailoutbox] == [["office@example.com"], [CONTACT["email"]]]


def test_cache_outage_never_loses_an_enquiry(
    visitor, lead_site, running_sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(spam.cache, "add", broken)
    submit_and_deliver(visitor, django_capture_on_commit_callbacks)
    assert LeadSubmission.objects.get().status == Status.SENT
