"""The Send page shows the email as recipients see it: a real member's details for people
who may see contacts, placeholders for the others, who may also send tests only to the
site's staff."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client

from wagtail_xpm.models import Campaign, Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(practice):
    june = practice.client("June Co", {"balance_month": "June", "account_manager": "Jo Bloggs"})
    practice.contact("Ann June", "ann@example.com", clients=[june])
    segment = Segment.objects.create(
        connection=practice.connection,
        name="June",
        rules=[{"field": "balance_month", "op": "eq", "value": "June"}],
    )
    return Campaign.objects.create(
        connection=practice.connection,
        segment=segment,
        name="June newsletter",
        subject="Hi {{ first_name }}",
        body="<p>Your manager is {{ account_manager }}.</p>",
    )


def client_for(django_user_model, username, *codenames, superuser=False) -> Client:
    if superuser:
        user = django_user_model.objects.create_superuser(
            username, f"{username}@firm.example", "pw"
        )
    else:
        user = django_user_model.objects.create_user(username, f"{username}@firm.example", "pw")
        user.user_permissions.add(
            Permission.objects.get(codename="access_admin"),
            *Permission.objects.filter(
                content_type__app_label="wagtail_xpm", codename__in=codenames
            ),
        )
    client = Client()
    client.force_login(user)
    return client


def preview_of(page) -> tuple[str, str, str]:
    body = page.content.decode()
    subject = body.split("data-xpm-preview-subject>")[1].split("<")[0]
    frame = html.unescape(body.split('srcdoc="')[1].split('"')[0])
    text = html.unescape(body.split("data-xpm-preview-text>")[1].split("</pre>")[0])
    return subject, frame, text


def test_people_who_may_see_contacts_preview_a_real_member(campaign, django_user_model):
    admin = client_for(django_user_model, "boss", superuser=True)
    page = admin.get(f"/admin/xpm/campaigns/{campaign.pk}/send/")
    subject, frame, text = preview_of(page)
    assert subject == "Hi Ann"
    assert "Your manager is Jo Bloggs." in frame and "Your manager is Jo Bloggs." in text
    assert "With the details of Ann June, the first member" in page.content.decode()
    assert "/xpm/unsubscribe/" in frame  # the (inert) link recipients get


def test_the_others_preview_placeholders_and_test_only_to_staff(campaign, django_user_model):
    writer = client_for(
        django_user_model, "writer", "view_campaign", "change_campaign", "add_campaign"
    )
    client_for(django_user_model, "colleague", superuser=True)
    url = f"/admin/xpm/campaigns/{campaign.pk}/send/"
    page = writer.get(url)
    subject, frame, text = preview_of(page)
    assert subject == "Hi [First name]"
    assert "Your manager is [Account Manager]." in frame
    assert "Ann" not in frame and "Jo Bloggs" not in text
    assert "your account may not see contacts" in page.content.decode()

    refused = writer.post(url, {"action": "test", "to": "someone@elsewhere.example"})
    assert "this address is not one of the site&#x27;s staff" in refused.content.decode()
    assert mail.outbox == []
    writer.post(url, {"action": "test", "to": "Colleague@Firm.example"})
    [test] = mail.outbox
    assert test.to == ["Colleague@Firm.example"] and test.subject == "[Test] Hi [First name]"
    assert "Jo Bloggs" not in test.body


def test_people_who_may_see_contacts_may_test_to_any_address(campaign, django_user_model):
    admin = client_for(django_user_model, "boss", superuser=True)
    admin.post(
        f"/admin/xpm/campaigns/{campaign.pk}/send/",
        {"action": "test", "to": "client.review@elsewhere.example"},
    )
    [test] = mail.outbox
    assert test.subject == "[Test] Hi Ann" and "Jo Bloggs" in test.body
