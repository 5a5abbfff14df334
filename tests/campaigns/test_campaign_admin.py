"""The campaign screens: write, test, send now or later, progress, report and permissions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.utils import timezone

from wagtail_xpm.models import Campaign, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience(practice):
    june = practice.client("June Co", {"balance_month": "June", "account_manager": "Jo Bloggs"})
    practice.contact("Ann June", "ann@example.com", clients=[june])
    practice.contact("Ben June", "ben@example.com", clients=[june])
    practice.contact("Una Sub", "una@example.com", clients=[june], subscribed=False)
    practice.contact("Nemo", "", clients=[june])
    return Segment.objects.create(
        connection=practice.connection,
        name="June",
        rules=[{"field": "balance_month", "op": "eq", "value": "June"}],
    )


@pytest.fixture
def admin_client(db, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def editor_client(django_user_model, *codenames: str) -> Client:
    user = django_user_model.objects.create_user("editor", "editor@example.com", "pw")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        *Permission.objects.filter(content_type__app_label="wagtail_xpm", codename__in=codenames),
    )
    client = Client()
    client.force_login(user)
    return client


def form(practice, segment, **changes) -> dict:
    return {
        "name": "June newsletter",
        "connection": practice.connection.pk,
        "segment": segment.pk,
        "subject": "Hi {{ first_name }}",
        "from_email": "Example Accounting <news@example.com>",
        "body": '{"blocks": [{"key": "a", "type": "unstyled", "depth": 0, "text": '
        '"Your manager is {{ account_manager }}.", "inlineStyleRanges": [], '
        '"entityRanges": [], "data": {}}], "entityMap": {}}',
        **changes,
    }


def test_create_then_the_send_page(admin_client, practice, audience):
    response = admin_client.post("/admin/xpm/campaigns/add/", form(practice, audience))
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response.url == f"/admin/xpm/campaigns/{campaign.pk}/send/"
    assert "{{ account_manager }}" in campaign.body

    page = admin_client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-xpm-audience-total>4<" in html
    assert "data-xpm-audience-to-send>2<" in html
    assert 'data-xpm-reason="unsubscribed"' in html and 'data-xpm-reason="no_email"' in html
    assert "Send now to 2 people" in html


def test_unknown_merge_fields_are_refused(admin_client, practice, audience):
    response = admin_client.post(
        "/admin/xpm/campaigns/add/",
        form(practice, audience, subject="Hi {{ frist_name }}"),
    )
    assert response.status_code == 200
    assert "Unknown merge fields: {{ frist_name }}." in response.content.decode()
    assert not Campaign.objects.exists()


def test_send_a_test_then_send_now(
    admin_client, practice, audience, django_capture_on_commit_callbacks
):
    admin_client.post("/admin/xpm/campaigns/add/", form(practice, audience))
    campaign = Campaign.objects.get()
    url = f"/admin/xpm/campaigns/{campaign.pk}/send/"

    admin_client.post(url, {"action": "test", "to": "me@example.com"})
    (test,) = mail.outbox
    assert test.subject == "[Test] Hi Ann" and test.to == ["me@example.com"]
    assert "Your manager is Jo Bloggs." in test.body

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"action": "send"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "sent"
    assert sorted(m.to[0] for m in mail.outbox[1:]) == ["ann@example.com", "ben@example.com"]

    progress = admin_client.get(f"/admin/xpm/campaigns/{campaign.pk}/progress/").json()
    assert progress["status"] == "sent" and progress["finished"] is True
    assert progress["counts"] == {
        "total": 4, "to_send": 2, "sent": 2, "failed": 0, "excluded": 2, "pending": 0,
    }  # fmt: skip
    report = admin_client.get(url).content.decode()
    assert 'data-xpm-count="sent">2<' in report
    assert "Unsubscribed" in report and "No email address" in report

    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    admin_client.get(
                        f"/admin/xpm/campaigns/{campaign.pk}/recipients.csv"
                    ).streaming_content
                ).decode()
            )
        )
    )
    assert sorted((r["name"], r["status"], r["reason"]) for r in rows) == [
        ("Ann June", "Sent", ""),
        ("Ben June", "Sent", ""),
        ("Nemo", "Left out", "No email address"),
        ("Una Sub", "Left out", "Unsubscribed"),
    ]

    # A sent campaign's editor goes to its report instead.
    edit = admin_client.get(f"/admin/xpm/campaigns/edit/{campaign.pk}/")
    assert edit.status_code == 302 and edit.url == url


def test_schedule(admin_client, practice, audience):
    admin_client.post("/admin/xpm/campaigns/add/", form(practice, audience))
    campaign = Campaign.objects.get()
    when = timezone.localtime() + timedelta(days=1)
    admin_client.post(
        f"/admin/xpm/campaigns/{campaign.pk}/send/",
        {"action": "schedule", "send_at": when.strftime("%Y-%m-%dT%H:%M")},
    )
    campaign.refresh_from_db()
    assert campaign.status == "scheduled"
    assert abs((campaign.scheduled_at - when).total_seconds()) < 60
    admin_client.post(f"/admin/xpm/campaigns/{campaign.pk}/send/", {"action": "unschedule"})
    campaign.refresh_from_db()
    assert campaign.status == "draft" and campaign.scheduled_at is None


def test_sending_needs_the_send_permission(practice, audience, django_user_model):
    campaign = Campaign.objects.create(
        connection=practice.connection, name="x", subject="Hello", segment=audience
    )
    client = editor_client(django_user_model, "change_campaign", "view_campaign")
    url = f"/admin/xpm/campaigns/{campaign.pk}/send/"
    page = client.get(url).content.decode()
    assert "needs the 'Can send campaign emails' permission" in page
    client.post(url, {"action": "send"})
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    # Tests are for writers: they may send themselves one.
    client.post(url, {"action": "test", "to": "editor@example.com"})
    assert len(mail.outbox) == 1


def test_listing(admin_client, practice, audience):
    Campaign.objects.create(
        connection=practice.connection, name="Spring news", subject="Hi", segment=audience
    )
    response = admin_client.get("/admin/xpm/campaigns/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Spring news" in html and "Draft" in html and "June" in html


def test_a_stopped_campaign_is_shown_everywhere_an_editor_looks(
    admin_client, practice, audience, mail_server, use_smtp, django_capture_on_commit_callbacks
):
    """The mail server is down: the Send page, the campaign list and the dashboard say so in
    words; the editor explains why the campaign cannot be changed; Resume finishes it."""
    admin_client.post("/admin/xpm/campaigns/add/", form(practice, audience))
    campaign = Campaign.objects.get()
    url = f"/admin/xpm/campaigns/{campaign.pk}/send/"
    use_smtp(mail_server.port)
    mail_server.down()

    test = admin_client.post(url, {"action": "test", "to": "admin@example.com"}, follow=True)
    html = test.content.decode()
    assert "The test email was not sent. The mail server at 127.0.0.1:" in html
    assert "refused the connection" in html and "Errno" not in html
    assert "Test email sent" not in html
    campaign.refresh_from_db()
    assert campaign.test_sent_at is None

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "send"})
    campaign.refresh_from_db()
    assert campaign.status == "paused"

    page = admin_client.get(url).content.decode()
    assert "data-xpm-stopped" in page and "Sending stopped." in page
    assert "refused the connection" in page and 'data-xpm-action="resume"' in page
    for listing in ("/admin/xpm/campaigns/", "/admin/"):
        banner = admin_client.get(listing).content.decode()
        assert "data-xpm-stopped-campaigns" in banner, listing
        assert "A campaign stopped sending and needs attention." in banner
        assert url in banner

    edit = admin_client.get(f"/admin/xpm/campaigns/edit/{campaign.pk}/", follow=True)
    text = edit.content.decode()
    assert "This campaign stopped while sending." in text
    assert "This campaign was sent" not in text

    mail_server.up()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "resume"})
    campaign.refresh_from_db()
    assert campaign.status == "sent" and campaign.sent_count == 2
    assert "data-xpm-stopped-campaigns" not in admin_client.get("/admin/").content.decode()


def test_suppressed_addresses_in_the_live_count_the_report_and_the_contact(
    admin_client, practice, audience, django_capture_on_commit_callbacks
):
    """What an ESP reported shows wherever an editor decides who gets an email."""
    import json as json_module

    from wagtail_xpm.models import Contact, DeliveryEvent, EmailSuppression

    EmailSuppression.objects.create(
        email_key="ben@example.com",
        reason="bounced",
        suppressed_at=timezone.now(),
        detail="550 5.1.1 mailbox does not exist",
        esp="Mailgun",
    )
    count = admin_client.get(
        "/admin/xpm/segments/builder/count/",
        {
            "connection": practice.connection.pk,
            "definition": json_module.dumps({"rules": audience.rules}),
        },
    ).json()
    assert (count["count"], count["reachable"], count["bounced_left_out"]) == (4, 1, 1)
    assert count["complained_left_out"] == 0

    admin_client.post("/admin/xpm/campaigns/add/", form(practice, audience))
    campaign = Campaign.objects.get()
    url = f"/admin/xpm/campaigns/{campaign.pk}/send/"
    page = admin_client.get(url).content.decode()
    assert 'data-xpm-reason="bounced"' in page and "Send now to 1 person" in page
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "send"})
    DeliveryEvent.objects.create(
        esp="Mailgun", event_id="e1", event_type="complaint", email_key="ann@example.com",
        campaign=campaign,
    )  # fmt: skip
    report = admin_client.get(url).content.decode()
    assert 'data-xpm-reason="bounced"' in report  # left out: bounced
    assert 'data-xpm-reported-kind="complaint"' in report  # reported after sending

    ben = Contact.objects.get(email="ben@example.com")
    inspect = admin_client.get(f"/admin/contacts/inspect/{ben.pk}/").content.decode()
    assert 'data-xpm-suppressed="bounced"' in inspect
    assert "it bounced on" in inspect and "550 5.1.1 mailbox does not exist" in inspect
    admin_client.post(f"/admin/xpm/campaigns/contact/{ben.pk}/suppression/lift/")
    assert not EmailSuppression.objects.exists()
