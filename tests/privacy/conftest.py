"""Two practices (site A, the default site, and site B), a person with everything the site
can hold about them, a tax-number mapping, and users holding the privacy permissions on
site A only, everywhere, or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone
from wagtail.models import Page, Site

from tests.access.access_helpers import grant
from tests.segments.segment_factories import Practice, make_connection
from wagtail_xpm.models import (
    Campaign,
    CampaignRecipient,
    ConsentConfirmation,
    ConsentEvent,
    Contact,
    DeliveryEvent,
    EmailSuppression,
    FieldMapping,
    LeadSubmission,
    Segment,
)

TAX = "123-456-789"
IRD = "98-765-432"
EMAIL = "Pat.Person@Example.com"


@dataclass
class World:
    site_a: Site
    site_b: Site
    a: Practice
    b: Practice
    person: Contact  # site A, linked to an XPM client
    other: Contact  # site B
    campaign: Campaign
    enquiry: LeadSubmission
    users: dict[str, object] = field(default_factory=dict)

    def client(self, role: str) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(self.users[role])
        return client


def _tax_mappings(practice: Practice) -> None:
    FieldMapping.objects.create(
        connection=practice.connection, source="TaxNumber", key="tax_number", label="Tax number"
    )
    FieldMapping.objects.create(
        connection=practice.connection, source="custom:IRD Number", key="ird", label="IRD"
    )


@pytest.fixture
def world(default_site, django_user_model) -> World:
    a = Practice(make_connection(default_site))
    site_b = Site.objects.create(
        hostname="bravo.test", port=80, site_name="Bravo", root_page=Page.objects.get(depth=1)
    )
    b = Practice(make_connection(site_b))
    for practice in (a, b):
        _tax_mappings(practice)
    client = a.client("Person Holdings", {"account_manager": "Jo Manager"})
    person = a.contact(
        "Pat Person",
        EMAIL,
        clients=[client],
        data={"account_manager": "Jo Manager", "tax_number": TAX, "ird": IRD},
    )
    Contact.objects.filter(pk=person.pk).update(phone="+64 21 555 0101")
    person.refresh_from_db()
    other_client = b.client("Bravo Trust")
    other = b.contact(
        "Bo Bravo", "bo@bravo.test", clients=[other_client], data={"tax_number": "555-666-777"}
    )

    segment = Segment.objects.create(connection=a.connection, name="Everyone", rules=[])
    campaign = Campaign.objects.create(
        connection=a.connection, name="May news", subject="News", body="<p>Hi</p>", segment=segment
    )
    CampaignRecipient.objects.create(
        campaign=campaign,
        contact=person,
        email="pat.person@example.com",
        name=person.name,
        status=CampaignRecipient.Status.SENT,
        sent_at=timezone.now(),
        message_id="esp-1",
    )
    DeliveryEvent.objects.create(
        esp="postmark",
        event_id="ev-1",
        event_type="bounced",
        email_key="pat.person@example.com",
        campaign=campaign,
        occurred_at=timezone.now(),
        detail="mailbox full",
    )
    EmailSuppression.objects.create(
        email_key="pat.person@example.com",
        reason=EmailSuppression.Reason.BOUNCED,
        suppressed_at=timezone.now(),
        esp="postmark",
    )
    contact_page = Page.objects.get(slug="contact")
    enquiry = LeadSubmission.objects.create(
        page=contact_page,
        site=default_site,
        connection=a.connection,
        form_title="Contact us",
        form_data={"name": "Pat Person", "email": EMAIL, "message": "Please call about my tax"},
        field_labels={"name": "Your name", "email": "Email", "message": "Message"},
        name="Pat Person",
        email=EMAIL,
        message="Please call about my tax",
        status=LeadSubmission.Status.LOCAL,
    )
    ConsentEvent.objects.create(
        connection=a.connection,
        contact=person,
        email_key=person.email_key,
        action=ConsentEvent.Action.SUBSCRIBED_FORM,
        subscribed=True,
        actor=ConsentEvent.Actor.PERSON,
        wording="Send me news",
        ip_prefix="203.0.113.0/24",
    )
    ConsentConfirmation.objects.create(
        connection=a.connection, contact=person, email_key=person.email_key, nonce="n-1"
    )

    users: dict[str, object] = {}
    admin = Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")

    def user(name: str, codenames=(), site: Site | None = None):
        group = Group.objects.create(name=name)
        group.permissions.add(admin)
        grant(group, codenames, site)
        made = django_user_model.objects.create_user(name, f"{name}@staff.test")
        made.groups.add(group)
        users[name] = made
        return made

    user("viewer", ["view_contact"])
    user("exporter_a", ["view_contact", "export_contact"], default_site)
    user("tax_exporter_a", ["view_contact", "export_contact", "view_tax_number"], default_site)
    user("eraser_a", ["view_contact", "delete_contact"], default_site)
    user("tax_viewer", ["view_contact", "view_tax_number", "add_segment", "change_segment",
                        "view_segment", "export_contact"])  # fmt: skip
    user("segment_viewer", ["view_contact", "add_segment", "change_segment", "view_segment",
                            "export_contact"])  # fmt: skip
    users["superuser"] = django_user_model.objects.create_superuser("root", "root@staff.test")
    return World(
        site_a=default_site,
        site_b=site_b,
        a=a,
        b=b,
        person=person,
        other=other,
        campaign=campaign,
        enquiry=enquiry,
        users=users,
    )
