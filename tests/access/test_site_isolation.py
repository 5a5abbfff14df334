"""Per-site isolation and the capability rules, beyond the matrix: what a one-site
administrator does see (site A, all of it), the group editor's panel, exports, the segment
builder's values, the Slack bot and the management commands (docs/permissions.md)."""

from __future__ import annotations

import csv
import html
import io
import json

import pytest
from access_helpers import admin_access, grant
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from wagtail.models import GroupSitePermission

from slackbot import identity
from wagtail_xpm import access
from wagtail_xpm.models import Campaign

pytestmark = pytest.mark.django_db


def page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return html.unescape(response.content.decode())


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    content = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(content)))


def user_with(django_user_model, name: str, codenames, site=None):
    group = Group.objects.create(name=f"{name} group")
    group.permissions.add(admin_access())
    grant(group, codenames, site=site)
    user = django_user_model.objects.create_user(name)
    user.groups.add(group)
    return user


def test_a_one_site_administrator_sees_all_of_site_a_and_nothing_of_site_b(firms):
    client = firms.client("site_admin")
    a, b = firms.a, firms.b
    screens = {
        reverse("wagtail_xpm_contact:index"): a.contact.name,
        reverse("wagtail_xpm_leadsubmission:index"): a.enquiry.name,
        reverse("wagtail_xpm_segments:list"): a.segment.name,
        reverse("wagtail_xpm_campaigns:list"): a.campaign.name,
        reverse("wagtail_xpm_syncrun:index"): a.run.message,
        reverse("wagtail_xpm:status"): a.connection.tenant_name,
    }
    for url, expected in screens.items():
        text = page(client, url)
        assert expected in text, url
        for marker in (*b.markers, *b.site_names):
            assert marker not in text, (url, marker)
    # Site A's records open; site B's answer 404.
    assert (
        client.get(reverse("wagtail_xpm_contact:inspect", args=[a.contact.pk])).status_code == 200
    )
    assert (
        client.get(reverse("wagtail_xpm_contact:inspect", args=[b.contact.pk])).status_code == 404
    )
    assert client.get(reverse("wagtail_xpm_sync:site", args=[a.site.pk])).status_code == 200
    assert client.get(reverse("wagtail_xpm_sync:site", args=[b.site.pk])).status_code == 404
    # The sync index goes straight to the one site they may sync.
    response = client.get(reverse("wagtail_xpm_sync:index"))
    assert response["Location"] == reverse("wagtail_xpm_sync:site", args=[a.site.pk])


def test_the_group_editor_lists_each_capability_per_site(firms):
    superuser = firms.client("superuser")
    group = Group.objects.get(name="Contact viewers")
    url = reverse("wagtailusers_groups:edit", args=[group.pk])
    text = page(superuser, url)
    for capability in access.CAPABILITIES:
        assert str(capability.label) in text
    assert "Every site" in text and "Bravo Accounting" in text
    # The app's permissions are not in Wagtail's generic table as well.
    assert "Can export contacts" not in text

    prefix = "wagtail_xpm_access"
    data = {"name": group.name}
    # Keep "View contacts" on every site (ticked), add "Export contacts" on site B only.
    data[f"{prefix}-view_contacts__all"] = "on"
    data[f"{prefix}-export_contacts__{firms.b.site.pk}"] = "on"
    # Wagtail's own permission formsets (empty) and its "Other permissions".
    for formset in ("page", "collection", "document", "image"):
        data.update(
            {
                f"{formset}_permissions-TOTAL_FORMS": "0",
                f"{formset}_permissions-INITIAL_FORMS": "0",
                f"{formset}_permissions-MIN_NUM_FORMS": "0",
                f"{formset}_permissions-MAX_NUM_FORMS": "1000",
            }
        )
    data["permissions"] = [admin_access().pk]
    response = superuser.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert group.permissions.filter(codename="view_contact").exists()
    assert not group.permissions.filter(codename="export_contact").exists()
    assert GroupSitePermission.objects.filter(
        group=group, site=firms.b.site, permission__codename="export_contact"
    ).exists()
    viewer = firms.users["contact_viewer"]
    viewer = type(viewer).objects.get(pk=viewer.pk)
    assert access.holds(viewer, access.EXPORT_CONTACT, firms.b.site)
    assert not access.holds(viewer, access.EXPORT_CONTACT, firms.a.site)


def test_exports_need_the_export_capability_and_follow_the_sites(firms, django_user_model):
    index = reverse("wagtail_xpm_contact:index")
    viewer = firms.client("contact_viewer")
    assert viewer.get(index, {"export": "csv"}).status_code == 302
    assert "export=csv" not in page(viewer, index)

    exporter = user_with(django_user_model, "exporter", ("view_contact", "export_contact"))
    client = firms.client("anonymous")
    client.force_login(exporter)
    rows = csv_rows(client.get(index, {"export": "csv"}))
    assert {r["email"] for r in rows} == {firms.a.contact.email, firms.b.contact.email}

    # Export contacts on site A only: the download has site A's contacts only.
    limited = user_with(django_user_model, "alpha-exporter", ("view_contact",))
    grant(limited.groups.get(), ("export_contact",), site=firms.a.site)
    client.force_login(limited)
    rows = csv_rows(client.get(index, {"export": "csv"}))
    assert [r["email"] for r in rows] == [firms.a.contact.email]

    # A campaign's recipient list is an export of people.
    recipients = reverse("wagtail_xpm_campaigns:recipients", args=[firms.a.campaign.pk])
    assert firms.client("campaign_only").get(recipients).status_code == 302
    assert csv_rows(firms.client("site_admin").get(recipients))[0]["email"] == (
        firms.a.contact.email
    )


def test_the_builder_offers_values_only_to_those_who_may_see_contacts(firms, django_user_model):
    url = reverse("wagtail_xpm_segments:builder_fields")
    params = {"connection": firms.a.connection.pk}
    segments_only = user_with(django_user_model, "segmenter", access.SEGMENT_PERMISSIONS)
    client = firms.client("anonymous")
    client.force_login(segments_only)
    fields = {f["key"]: f for f in client.get(url, params).json()["fields"]}
    assert fields["account_manager"]["values"] == []
    assert fields["client_name"]["values"] == []
    assert "Albert Alphamanager" not in json.dumps(fields)
    count = reverse("wagtail_xpm_segments:builder_count")
    definition = {"match": "all", "rules": [{"field": "email", "op": "starts_with", "value": "a"}]}
    response = client.get(count, {**params, "definition": json.dumps(definition)})
    assert response.status_code == 302  # no count by rule without View contacts

    fields = {f["key"]: f for f in firms.client("site_admin").get(url, params).json()["fields"]}
    assert "Albert Alphamanager" in fields["account_manager"]["values"]


def test_stopped_campaigns_are_announced_to_their_sites_only(firms):
    Campaign.objects.filter(pk=firms.b.campaign.pk).update(status=Campaign.Status.PAUSED)
    assert firms.b.campaign.name not in page(firms.client("site_admin"), "/admin/")
    assert firms.b.campaign.name in page(firms.client("superuser"), "/admin/")


def test_slack_answers_only_about_the_sites_a_user_holds(firms):
    site_admin = firms.users["site_admin"]
    assert identity.can(site_admin, "who", firms.a.site)
    assert not identity.can(site_admin, "who", firms.b.site)
    assert identity.can(site_admin, "sync", firms.a.site)
    assert not identity.can(site_admin, "sync", firms.b.site)
    actor = identity.Actor("T1", "U1", site_admin, "link", site=firms.b.site)
    assert not actor.can("segment")
    assert identity.can(firms.users["superuser"], "who", firms.b.site)


def test_the_commands_keep_to_the_site_they_are_given(firms):
    out = io.StringIO()
    call_command("xpm_export", "--site", "bravo.test", stdout=out)
    exported = out.getvalue()
    assert firms.b.contact.email in exported and firms.a.contact.email not in exported
    out = io.StringIO()
    call_command("xpm_config", "export", "-", "--site", "localhost", stdout=out)
    document = json.loads(out.getvalue())
    assert [s["name"] for s in document["segments"]] == [firms.a.segment.name]
    with pytest.raises(Exception, match="no segment named"):
        call_command(
            "xpm_export", "--site", "bravo.test", "--segment", firms.a.segment.name,
            stdout=io.StringIO(),
        )  # fmt: skip
