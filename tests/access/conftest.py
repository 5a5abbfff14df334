"""Two firms in one Wagtail install, and the seven kinds of user of docs/permissions.md.

Site A is the example site's default site (localhost); site B ("Bravo Accounting", on
bravo.test) has its own home and contact pages. Each firm has an XPM connection (marked
connected, without tokens: nothing here talks to XPM), a client, contacts, a field mapping,
a segment, a campaign with a frozen recipient list, an enquiry and a sync run. Site B's
people and names are written so that a page showing any of them is easy to catch (MARKERS).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from access_helpers import admin_access, grant
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone
from wagtail.models import GroupSitePermission, Page, Site

from example_site.home.models import ContactFormField, ContactPage, HomePage
from wagtail_xpm import access
from wagtail_xpm.models import (
    Campaign,
    CampaignRecipient,
    Contact,
    ContactClientLink,
    FieldMapping,
    LeadSubmission,
    PracticeClient,
    PracticeStaff,
    Segment,
    SyncRun,
    XpmConnection,
)

ROLES = (
    "anonymous",
    "no_admin",
    "editor",
    "campaign_only",
    "contact_viewer",
    "site_admin",
    "superuser",
)


@dataclass
class Firm:
    """One site's XPM records."""

    site: Site
    connection: XpmConnection
    client: PracticeClient
    contact: Contact
    mapping: FieldMapping
    segment: Segment
    campaign: Campaign
    recipient: CampaignRecipient
    enquiry: LeadSubmission
    run: SyncRun
    contact_page: Page
    staff: PracticeStaff
    # Text that only this firm's data contains, by kind.
    people: tuple[str, ...] = ()
    visitors: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    # The site's own name (Wagtail shows it to page editors of both sites).
    site_names: tuple[str, ...] = ()

    @property
    def markers(self) -> tuple[str, ...]:
        return (*self.people, *self.visitors, *self.names)


@dataclass
class Firms:
    a: Firm
    b: Firm
    users: dict[str, object] = field(default_factory=dict)

    def client(self, role: str) -> Client:
        client = Client(raise_request_exception=False)
        user = self.users.get(role)
        if user is not None:
            client.force_login(user)
        return client


def _contact_page(parent: Page, title: str, slug: str) -> Page:
    page = ContactPage(
        title=title,
        slug=slug,
        name_field="name",
        email_field="email",
        message_field="message",
        consent_field="consent",
        form_fields=[
            ContactFormField(clean_name="name", label="Your name", field_type="singleline"),
            ContactFormField(clean_name="email", label="Email", field_type="email"),
            ContactFormField(
                clean_name="message", label="How can we help?", field_type="multiline"
            ),
            ContactFormField(
                clean_name="consent", label="Send me news", field_type="checkbox", required=False
            ),
        ],
    )
    parent.add_child(instance=page)
    return page


def _firm(site: Site, key: str, who: dict[str, str], contact_page: Page) -> Firm:
    connection = XpmConnection.objects.create(
        site=site,
        status=XpmConnection.Status.CONNECTED,
        tenant_id=f"tenant-{key}",
        tenant_name=who["practice"],
    )
    client = PracticeClient.objects.create(
        connection=connection,
        uuid=f"client-{key}",
        name=who["client"],
        web_url=f"https://practicemanager.xero.com/Client/{key}",
    )
    contact = Contact.objects.create(
        connection=connection,
        name=who["person"],
        email=who["email"],
        phone=who["phone"],
        xpm_client_id=client.uuid,
        xpm_contact_id=f"contact-{key}",
        client_name=client.name,
        primary_client=client,
        data={"account_manager": who["manager"], "groups": [who["group"]]},
    )
    ContactClientLink.objects.create(contact=contact, client=client, is_primary=True)
    mapping = FieldMapping.objects.create(
        connection=connection, source="AccountManager", key="account_manager",
        label="Account Manager",
    )  # fmt: skip
    FieldMapping.objects.create(
        connection=connection, source="Groups", key="groups", label="Groups", value_type="list"
    )
    staff = PracticeStaff.objects.create(
        connection=connection, uuid=f"staff-{key}", name=who["manager"]
    )
    segment = Segment.objects.create(
        connection=connection,
        name=who["segment"],
        rules=[{"field": "account_manager", "op": "eq", "value": who["manager"]}],
    )
    campaign = Campaign.objects.create(
        connection=connection,
        name=who["campaign"],
        subject="News",
        body="<p>Hello {{ first_name }}</p>",
        segment=segment,
    )
    recipient = CampaignRecipient.objects.create(
        campaign=campaign,
        contact=contact,
        email=contact.email,
        name=contact.name,
        status=CampaignRecipient.Status.EXCLUDED,
        reason=CampaignRecipient.Reason.UNSUBSCRIBED,
    )
    # Sent: its Send page shows the report, with who was left out and why.
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.SENT,
        snapshot_at=timezone.now(),
        started_at=timezone.now(),
        finished_at=timezone.now(),
        recipients_total=1,
        excluded_count=1,
    )
    enquiry = LeadSubmission.objects.create(
        page=contact_page,
        site=site,
        connection=connection,
        form_title=contact_page.title,
        form_data={
            "name": who["visitor"],
            "email": who["visitor_email"],
            "message": "Please call me",
            "consent": True,
        },
        field_roles={"name": "name", "email": "email", "message": "message", "consent": "consent"},
        field_labels={"name": "Your name", "email": "Email", "message": "Message"},
        name=who["visitor"],
        email=who["visitor_email"],
        message="Please call me",
        status=LeadSubmission.Status.FAILED,
        error_code=LeadSubmission.ERROR_NO_OWNER,
        last_error="No lead owner is chosen.",
        xpm_client_uuid=client.uuid,
    )
    run = SyncRun.objects.create(
        connection=connection,
        trigger=SyncRun.Trigger.ADMIN,
        status=SyncRun.Status.SUCCEEDED,
        message=f"Synced {who['practice']}",
        report={"skipped_duplicates": [{"client_id": client.uuid, "email": who["email"]}]},
    )
    return Firm(
        site=site,
        connection=connection,
        client=client,
        contact=Contact.objects.get(pk=contact.pk),
        mapping=mapping,
        segment=segment,
        campaign=Campaign.objects.get(pk=campaign.pk),
        recipient=recipient,
        enquiry=enquiry,
        run=run,
        contact_page=contact_page,
        staff=staff,
        people=(who["person"], who["email"], who["phone"], who["client"]),
        visitors=(who["visitor"], who["visitor_email"]),
        names=(who["practice"], who["segment"], who["campaign"], who["manager"], who["group"]),
    )


ALPHA = {
    "practice": "Alphapractice Ltd",
    "client": "Alphaclient Holdings",
    "person": "Annabel Alphaperson",
    "email": "annabel@alpha-firm.test",
    "phone": "+61 400 111 222",
    "manager": "Albert Alphamanager",
    "group": "Alphagroup",
    "segment": "Alphasegment VIPs",
    "campaign": "Alphacampaign News",
    "visitor": "Vivian Alphavisitor",
    "visitor_email": "vivian@alpha-visitor.test",
}
BRAVO = {
    "practice": "Bravopractice Pty",
    "client": "Bravoclient Trust",
    "person": "Bea Bravoperson",
    "email": "bea@bravo-firm.test",
    "phone": "+61 400 999 888",
    "manager": "Boris Bravomanager",
    "group": "Bravogroup",
    "segment": "Bravosegment Gold",
    "campaign": "Bravocampaign Winter",
    "visitor": "Victor Bravovisitor",
    "visitor_email": "victor@bravo-visitor.test",
}


@pytest.fixture
def firms(default_site, django_user_model) -> Firms:
    site_a = default_site
    root = Page.get_first_root_node()
    bravo_home = root.add_child(instance=HomePage(title="Bravo Home", slug="bravo-home"))
    site_b = Site.objects.create(
        hostname="bravo.test", port=80, site_name="Bravo Accounting", root_page=bravo_home
    )
    contact_a = Page.objects.get(slug="contact").specific
    contact_b = _contact_page(bravo_home, "Bravo contact", "bravo-contact")
    a = _firm(site_a, "a", ALPHA, contact_a)
    b = _firm(site_b, "b", BRAVO, contact_b)
    b.site_names = ("Bravo Accounting",)

    users: dict[str, object] = {}
    users["no_admin"] = django_user_model.objects.create_user("plain", "plain@example.com", "pw")
    editor = django_user_model.objects.create_user("editor", "editor@example.com", "pw")
    editor.groups.add(Group.objects.get(name="Editors"))
    users["editor"] = editor

    campaigners = Group.objects.create(name="Campaign writers")
    campaigners.permissions.add(admin_access())
    grant(campaigners, ("add_campaign", "change_campaign"))
    users["campaign_only"] = django_user_model.objects.create_user("campaigner", "c@example.com")
    users["campaign_only"].groups.add(campaigners)

    viewers = Group.objects.create(name="Contact viewers")
    viewers.permissions.add(admin_access())
    grant(viewers, ("view_contact",))
    users["contact_viewer"] = django_user_model.objects.create_user("viewer", "v@example.com")
    users["contact_viewer"].groups.add(viewers)

    site_admins = Group.objects.create(name="Alpha administrators")
    site_admins.permissions.add(admin_access())
    grant(site_admins, access.ALL_CODENAMES, site=site_a)
    settings_permission = Permission.objects.get(codename="change_xpmsitesettings")
    GroupSitePermission.objects.create(
        group=site_admins, site=site_a, permission=settings_permission
    )
    users["site_admin"] = django_user_model.objects.create_user("alpha", "alpha@example.com")
    users["site_admin"].groups.add(site_admins)

    users["superuser"] = django_user_model.objects.create_superuser(
        "super", "super@example.com", "pw"
    )
    return Firms(a=a, b=b, users=users)
