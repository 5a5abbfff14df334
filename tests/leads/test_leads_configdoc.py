"""The ``leads`` section of the xpm_config document: owner and category by name or UUID,
stored in the site settings, exported back by name."""

from __future__ import annotations

import pytest
from leads_helpers import api_leads, make_submission
from wagtail.models import Page, Site

from wagtail_xpm import configdoc, services
from wagtail_xpm.configdoc import ConfigDocumentError, export_document
from wagtail_xpm.models import (
    LeadSubmission,
    PracticeLeadCategory,
    PracticeStaff,
    XpmConnection,
    XpmSiteSettings,
)

pytestmark = pytest.mark.django_db


def import_document(connection, doc):
    """As ``xpm_config import`` does it: names unknown locally are read from XPM."""
    return configdoc.import_document(connection, doc, client_factory=services.client_for)


def leads_doc(**section) -> dict:
    return {"version": 1, "leads": section}


def settings_of(connection) -> XpmSiteSettings:
    return XpmSiteSettings.for_site(connection.site)


def staff_named(sandbox, name):
    return next(s for s in sandbox.state.staff.values() if s.name == name)


def category_named(sandbox, name):
    return next(c for c in sandbox.state.lead_categories.values() if c.name == name)


def test_import_by_name_reads_xpm_and_stores_uuids(connected_site, running_sandbox):
    sb = running_sandbox.sandbox
    assert not PracticeStaff.objects.exists()  # never read yet: the import reads them
    sb.reset_stats()

    result = import_document(connected_site, leads_doc(owner="Jo Bloggs", category="referral"))

    assert result.leads_updated and "Lead settings updated." in result.lines()
    site_settings = settings_of(connected_site)
    assert site_settings.lead_owner_uuid == staff_named(sb, "Jo Bloggs").uuid
    assert site_settings.lead_category_uuid == category_named(sb, "Referral").uuid
    assert sb.calls_by_path["staff.api/list"] == 1
    assert sb.calls_by_path["lead.api/categories"] == 1
    assert export_document(connected_site)["leads"] == {
        "owner": "Jo Bloggs",
        "category": "Referral",
    }
    # Importing the same again changes nothing and reads nothing more from XPM.
    again = import_document(connected_site, leads_doc(owner="Jo Bloggs", category="Referral"))
    assert not again.leads_updated
    assert sb.calls_by_path["staff.api/list"] == 1


def test_import_by_uuid_or_email(connected_site, running_sandbox):
    sb = running_sandbox.sandbox
    aroha = staff_named(sb, "Aroha Ngata")
    hot = category_named(sb, "Hot")
    import_document(connected_site, leads_doc(owner=aroha.uuid.upper(), category=hot.uuid))
    assert settings_of(connected_site).lead_owner_uuid == aroha.uuid
    assert settings_of(connected_site).lead_category_uuid == hot.uuid

    import_document(connected_site, leads_doc(owner="PRIYA.PATEL@harbourco.example"))
    assert settings_of(connected_site).lead_owner_uuid == staff_named(sb, "Priya Patel").uuid


def test_unknown_names_refuse_the_whole_document(connected_site):
    doc = {
        "version": 1,
        "mappings": [{"source": "ReferralSource", "key": "referral", "label": "Referral"}],
        "leads": {"owner": "Nobody Atall", "category": "Lukewarm"},
    }
    with pytest.raises(ConfigDocumentError) as refused:
        import_document(connected_site, doc)
    message = str(refused.value)
    assert "leads.owner: no staff member is called 'Nobody Atall' in this practice's XPM staff" in (
        message
    )
    assert "leads.category: no lead category is called 'Lukewarm'" in message
    assert settings_of(connected_site).lead_owner_uuid == ""
    assert not connected_site.field_mappings.filter(key="referral").exists()


def test_a_new_staff_member_in_xpm_is_found(connected_site, running_sandbox):
    services.refresh_staff(connected_site)
    sb = running_sandbox.sandbox
    from wagtail_xpm.sandbox.models import Staff

    newcomer = Staff(uuid=sb.state.new_uuid(), name="Mele Tonga", email="mele@harbourco.example")
    sb.state.staff[newcomer.uuid] = newcomer

    import_document(connected_site, leads_doc(owner="Mele Tonga"))

    assert settings_of(connected_site).lead_owner_uuid == newcomer.uuid


def test_shared_names_export_as_uuid_and_are_refused_by_name(connected_site, running_sandbox):
    from wagtail_xpm.sandbox.models import Staff

    sb = running_sandbox.sandbox
    namesake = Staff(uuid=sb.state.new_uuid(), name="Jo Bloggs", email="jo2@harbourco.example")
    sb.state.staff[namesake.uuid] = namesake
    services.refresh_staff(connected_site)
    jo = staff_named(sb, "Jo Bloggs")
    import_document(connected_site, leads_doc(owner=jo.uuid))

    assert export_document(connected_site)["leads"] == {"owner": jo.uuid}
    with pytest.raises(ConfigDocumentError, match="2 staff members are called 'Jo Bloggs'"):
        import_document(connected_site, leads_doc(owner="Jo Bloggs"))


def test_works_offline_from_the_mirrored_lists(connected_site, running_sandbox, settings):
    services.refresh_staff(connected_site)
    services.refresh_lead_categories(connected_site)
    settings.WAGTAIL_XPM = {
        **settings.WAGTAIL_XPM,
        "API_URL": "http://127.0.0.1:9/practicemanager/3.1/",
        "TIMEOUT": (0.5, 1.0),
    }
    import_document(connected_site, leads_doc(owner="John Smith", category="Website"))
    assert settings_of(connected_site).lead_owner_uuid == (
        PracticeStaff.objects.get(connection=connected_site, name="John Smith").uuid
    )
    assert PracticeLeadCategory.objects.filter(connection=connected_site).count() == 3


def test_a_site_not_yet_connected_keeps_the_names_until_it_is(
    connected_site, running_sandbox, deliver
):
    """Import into a site that is not connected: the names wait, and apply once it is."""
    root = Page.objects.get(depth=1)
    other = Site.objects.create(hostname="branch.example", port=80, root_page=root)
    pending = XpmConnection.objects.create(site=other)
    doc = leads_doc(owner="John Smith", category="Website")

    result = import_document(pending, doc)

    assert result.leads_updated
    assert settings_of(pending).lead_owner_uuid == ""
    assert export_document(pending)["leads"] == {"owner": "John Smith", "category": "Website"}

    # The main site's connection row stands in for "this site got connected": move it over.
    XpmConnection.objects.filter(pk=pending.pk).delete()
    XpmConnection.objects.filter(pk=connected_site.pk).update(
        site=other, config_extras={"leads": doc["leads"]}
    )
    connection = XpmConnection.objects.get(pk=connected_site.pk)
    sub = make_submission(connection, name="Branch Visitor", email="visitor@branch.example")

    assert deliver(sub).status == LeadSubmission.Status.SENT

    sb = running_sandbox.sandbox
    [lead] = api_leads(sb)
    assert lead.owner_uuid == staff_named(sb, "John Smith").uuid
    assert lead.category_uuid == category_named(sb, "Website").uuid
    connection.refresh_from_db()
    assert "leads" not in connection.config_extras  # applied: now in the settings
    assert export_document(connection)["leads"] == {"owner": "John Smith", "category": "Website"}


def test_round_trip_between_two_sites_of_one_practice(connected_site, running_sandbox):
    import_document(connected_site, leads_doc(owner="Liam O'Connor", category="Hot"))
    exported = export_document(connected_site)

    root = Page.objects.get(depth=1)
    site = Site.objects.create(hostname="second.example", port=80, root_page=root)
    tokens = running_sandbox.sandbox.issue_tokens()
    second = services.connect_with_refresh_token(site=site, refresh_token=tokens["refresh_token"])
    import_document(second, exported)

    assert settings_of(second).lead_owner_uuid == settings_of(connected_site).lead_owner_uuid
    assert settings_of(second).lead_category_uuid == settings_of(connected_site).lead_category_uuid
    assert export_document(second)["leads"] == {"owner": "Liam O'Connor", "category": "Hot"}
