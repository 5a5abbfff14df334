"""The contacts listing at scale: filter values kept on the mappings, refreshed by syncs and
forgotten on mapping changes; a query count that does not grow with the mapped fields."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.sync.sandbox_edits import active_clients, change_client
from wagtail_xpm import fieldvalues
from wagtail_xpm.models import Contact, FieldMapping
from wagtail_xpm.segments.catalogue import catalogue

pytestmark = pytest.mark.django_db

INDEX = "wagtail_xpm_contact:index"


def offered(client, key: str) -> list[str]:
    response = client.get(reverse(INDEX))
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    select = re.search(rf'<select name="data__{key}".*?</select>', page, re.S)
    assert select, f"no dropdown for {key}"
    return re.findall(r'<option value="([^"]+)"', select.group(0))


def listing_queries(client) -> int:
    with CaptureQueriesContext(db) as queries:
        assert client.get(reverse(INDEX)).status_code == 200
    return len(queries)


def test_a_sync_keeps_each_mappings_values(synced):
    for mapping in FieldMapping.objects.all():
        assert mapping.synced_values is not None, mapping.key
    structures = FieldMapping.objects.get(key="business_structure").synced_values
    expected = {v for v in Contact.objects.values_list("data__business_structure", flat=True) if v}
    assert set(structures["contacts"]) == expected
    assert set(structures["contacts"]) <= set(structures["clients"])


def test_the_listing_filters_read_the_kept_values_not_the_contacts(admin_client, synced):
    with CaptureQueriesContext(db) as queries:
        offered(admin_client, "business_structure")
    # The only query on the contacts table is the page (and its count); before, one
    # DISTINCT scan per mapped field ran on every request.
    scans = [q["sql"] for q in queries if "JSON_EXTRACT" in q["sql"] or "->>" in q["sql"]]
    assert scans == []


def test_the_listing_query_count_does_not_grow_with_the_mapped_fields(
    admin_client, synced, connected_site
):
    admin_client.get(reverse(INDEX))  # warm-up (sessions, site settings)
    before = listing_queries(admin_client)
    assert before > 5  # the page, its count, the session, the mappings...
    for source, key, label in [
        ("GSTBasis", "gst_basis", "GST Basis"),
        ("Type", "client_type", "Client Type"),
        ("City", "city", "City"),
        ("Region", "region", "Region"),
        ("Country", "country", "Country"),
        ("ReturnType", "return_type", "Return Type"),
    ]:
        FieldMapping.objects.create(
            connection=connected_site, source=source, key=key, label=label, value_type="choice"
        )
    admin_client.get(reverse(INDEX))  # the new mappings' values are computed once, here
    assert FieldMapping.objects.filter(synced_values__isnull=True).count() == 0
    after = listing_queries(admin_client)
    assert after == before, (before, after)
    assert after <= 25


def test_the_values_are_refreshed_by_the_next_sync(admin_client, synced, sync, running_sandbox):
    assert "Look-through Company" not in offered(admin_client, "business_structure")
    client = active_clients(running_sandbox.sandbox)[0]
    change_client(running_sandbox.sandbox, client, business_structure="Look-through Company")
    run = sync()
    assert run.status == "succeeded", run.message
    # Kept by the sync itself, before anyone opens the listing.
    kept = FieldMapping.objects.get(key="business_structure").synced_values
    assert "Look-through Company" in kept["contacts"]
    assert "Look-through Company" in offered(admin_client, "business_structure")


def test_a_mapping_change_forgets_its_values(admin_client, synced):
    mapping = FieldMapping.objects.get(key="account_manager")
    assert mapping.synced_values is not None
    other = FieldMapping.objects.get(key="business_structure")
    response = admin_client.post(
        reverse("wagtail_xpm_fieldmapping:edit", args=[mapping.pk]),
        {"source": "AccountManager", "label": "Partner", "key": "account_manager"},
    )
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert mapping.synced_values is None
    other.refresh_from_db()
    assert other.synced_values is not None  # the other mappings keep theirs
    # The next reader computes them again.
    managers = {v for v in Contact.objects.values_list("data__account_manager", flat=True) if v}
    assert set(offered(admin_client, "account_manager")) == managers
    mapping.refresh_from_db()
    assert set(mapping.synced_values["contacts"]) == managers


def test_a_contact_edited_outside_a_sync_is_offered_at_once(admin_client, synced):
    contact = Contact.objects.exclude(data={}).first()
    contact.data = {**contact.data, "business_structure": "Hand-made Trust"}
    contact.save()
    assert "Hand-made Trust" in offered(admin_client, "business_structure")


def test_the_segment_builder_reads_the_same_kept_values(synced, connected_site):
    with CaptureQueriesContext(db) as queries:
        fields = {info.key: info for info in catalogue(connected_site)}
    assert not [q for q in queries if "JSON_EXTRACT" in q["sql"] or "->>" in q["sql"]]
    kept = fieldvalues.values_of(FieldMapping.objects.get(key="business_structure"))
    assert set(fields["business_structure"].values) == {*kept["clients"], *kept["contacts"]}
    assert fields["business_structure"].values_complete
