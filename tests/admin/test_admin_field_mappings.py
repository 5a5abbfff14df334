"""The field mapping editor: live custom fields from XPM, type-aware mappings, validation."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from wagtail_xpm.models import Contact, FieldMapping, PracticeClient, PracticeCustomField
from wagtail_xpm.sandbox.models import CustomFieldDefinition

pytestmark = pytest.mark.django_db

ADD = "wagtail_xpm_fieldmapping:add"


def assert_denied(response) -> None:
    """Wagtail's admin answers a missing permission by sending the user to the dashboard."""
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def page_text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def plan_levels(running_sandbox) -> list[str]:
    definitions = running_sandbox.sandbox.state.custom_fields.values()
    return list(next(d for d in definitions if d.name == "Plan Level").options)


def test_standard_fields_are_mapped_on_connect(admin_client, connected_site):
    page = page_text(admin_client.get(reverse("wagtail_xpm_fieldmapping:index")))
    for label in ("Account Manager", "Balance Month", "GST Registered"):
        assert label in page
    keys = list(FieldMapping.objects.values_list("key", flat=True))
    assert keys[:2] == ["account_manager", "job_manager"]


def test_the_editor_offers_custom_fields_read_live_from_xpm(
    admin_client, connected_site, running_sandbox
):
    assert not PracticeCustomField.objects.exists()
    before = running_sandbox.sandbox.api_calls
    page = page_text(admin_client.get(reverse(ADD)))
    assert running_sandbox.sandbox.api_calls == before + 1
    assert "read live from XPM" in page
    for name in ("Plan Level", "Industry", "Annual Fee", "Engagement Signed"):
        assert f'value="custom:{name}"' in page
    assert "custom:Plan Level (Dropdown List: choice)" in page
    # Standard fields already mapped are not offered twice; unmapped ones are.
    assert 'value="AccountManager"' not in page
    assert 'value="Type"' in page
    assert "one extra XPM API call" in page

    # A field added in XPM since is there the next time the form opens; a contact-only
    # field is not (the client record the sync reads has no value for it).
    state = running_sandbox.sandbox.state
    for definition in (
        CustomFieldDefinition(state.new_uuid(), "Referral Partner", "Text", "Text"),
        CustomFieldDefinition(
            state.new_uuid(), "Salutation", "Text", "Text", use_client=False, use_contact=True
        ),
    ):
        state.custom_fields[definition.uuid] = definition
    page = page_text(admin_client.get(reverse(ADD)))
    assert 'value="custom:Referral Partner"' in page
    assert 'value="custom:Salutation"' not in page


def test_saving_a_custom_field_sets_type_and_choices_from_xpm(
    admin_client, connected_site, running_sandbox
):
    admin_client.get(reverse(ADD))
    response = admin_client.post(
        reverse(ADD), {"source": "custom:Plan Level", "label": "", "key": ""}
    )
    assert response.status_code == 302, page_text(response)[-3000:]
    mapping = FieldMapping.objects.get(source="custom:Plan Level")
    assert (mapping.key, mapping.label) == ("plan_level", "Plan Level")
    assert mapping.value_type == "choice"
    assert mapping.choices == plan_levels(running_sandbox)
    assert mapping.connection == connected_site
    assert (
        mapping.sort_order
        > FieldMapping.objects.exclude(pk=mapping.pk).latest("sort_order").sort_order
    )

    response = admin_client.post(
        reverse(ADD), {"source": "custom:Engagement Signed", "label": "Engaged on", "key": ""}
    )
    assert response.status_code == 302
    engaged = FieldMapping.objects.get(source="custom:Engagement Signed")
    assert (engaged.key, engaged.label, engaged.value_type) == ("engaged_on", "Engaged on", "date")

    response = admin_client.post(reverse(ADD), {"source": "custom:Annual Fee"})
    assert FieldMapping.objects.get(source="custom:Annual Fee").value_type == "number"


def test_a_new_custom_mapping_is_filled_in_by_the_next_sync(
    admin_client, synced, sync, running_sandbox
):
    admin_client.get(reverse(ADD))
    admin_client.post(reverse(ADD), {"source": "custom:Plan Level"})
    # The next ordinary sync notices the new mapping, reads every client once and reads
    # custom fields for the clients never read before (not the archived and deleted ones:
    # their contacts are archived).
    run = sync()
    assert run.full
    live = PracticeClient.objects.filter(is_archived=False, is_deleted=False)
    assert run.custom_fields_fetched == live.count()
    levels = set(plan_levels(running_sandbox))
    values = {c.data.get("plan_level") for c in Contact.objects.all()} - {None}
    assert values and values <= levels

    # XPM sent every custom field with those reads: a second custom mapping costs no calls.
    admin_client.get(reverse(ADD))
    admin_client.post(reverse(ADD), {"source": "custom:Industry"})
    second = sync()
    assert second.full and second.custom_fields_fetched == 0 and second.api_calls == 1
    assert {c.data.get("industry") for c in Contact.objects.all()} - {None}


def test_standard_field_mapping_uses_the_standard_type(admin_client, connected_site):
    admin_client.get(reverse(ADD))
    response = admin_client.post(reverse(ADD), {"source": "Groups", "label": "Groups", "key": ""})
    assert response.status_code == 302
    mapping = FieldMapping.objects.get(source="Groups")
    assert (mapping.key, mapping.value_type) == ("groups", "list")


def test_keys_must_be_unique_and_not_built_in(admin_client, connected_site):
    admin_client.get(reverse(ADD))
    response = admin_client.post(
        reverse(ADD), {"source": "Type", "label": "Client type", "key": "account_manager"}
    )
    assert "Another mapping already uses the key &#x27;account_manager&#x27;" in (
        response.content.decode()
    ) or "Another mapping already uses the key 'account_manager'" in page_text(response)

    response = admin_client.post(reverse(ADD), {"source": "Type", "label": "x", "key": "email"})
    assert "is a built-in field" in page_text(response)

    response = admin_client.post(reverse(ADD), {"source": "Type", "label": "x", "key": "Bad Key"})
    assert "lower-case letters" in page_text(response)

    response = admin_client.post(reverse(ADD), {"source": "AccountManager", "key": "am2"})
    assert response.status_code == 200
    assert FieldMapping.objects.filter(source="AccountManager").count() == 1
    assert not FieldMapping.objects.filter(source="Type").exists()


def test_editing_keeps_the_mapping_and_relabels_it(admin_client, connected_site):
    mapping = FieldMapping.objects.get(key="account_manager")
    url = reverse("wagtail_xpm_fieldmapping:edit", args=[mapping.pk])
    page = page_text(admin_client.get(url))
    assert 'value="AccountManager" selected' in page
    response = admin_client.post(
        url, {"source": "AccountManager", "label": "Partner", "key": "account_manager"}
    )
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert (mapping.label, mapping.value_type) == ("Partner", "choice")


def test_xpm_unreachable_falls_back_to_the_saved_custom_fields(
    admin_client, connected_site, running_sandbox
):
    admin_client.get(reverse(ADD))  # a first, successful read saves the definitions
    running_sandbox.sandbox.faults.throttle(5, problem="day", path="customfield")
    page = page_text(admin_client.get(reverse(ADD)))
    assert "could not be read from XPM just now" in page
    assert "API allowance is used up" in page
    assert 'value="custom:Plan Level"' in page


def test_mappings_need_the_manage_permission(viewer_client, connected_site):
    for url in (
        reverse("wagtail_xpm_fieldmapping:index"),
        reverse(ADD),
        reverse("wagtail_xpm_fieldmapping:edit", args=[FieldMapping.objects.first().pk]),
    ):
        assert_denied(viewer_client.get(url))
    count = FieldMapping.objects.count()
    assert_denied(viewer_client.post(reverse(ADD), {"source": "Type"}))
    assert FieldMapping.objects.count() == count


def test_a_manager_without_superuser_rights_may_map(manager_client, connected_site):
    assert manager_client.get(reverse("wagtail_xpm_fieldmapping:index")).status_code == 200
    manager_client.get(reverse(ADD))
    response = manager_client.post(reverse(ADD), {"source": "custom:Industry"})
    assert response.status_code == 302
    assert FieldMapping.objects.get(source="custom:Industry").value_type == "choice"
