"""Segments in the version-1 document (xpm_config): Segment rows, validated like the builder."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from wagtail_xpm.configdoc import ConfigDocumentError, export_document, import_document
from wagtail_xpm.models import Segment

pytestmark = pytest.mark.django_db

JUNE = {"field": "balance_month", "op": "eq", "value": "June"}


def doc(*segments) -> dict:
    return {"version": 1, "segments": list(segments)}


def test_import_creates_rows_and_matches_names_whatever_the_case(practice):
    connection = practice.connection
    first = import_document(connection, doc({"name": "June", "rules": [JUNE]}))
    assert first.segments_created == ["June"]
    segment = Segment.objects.get(connection=connection)
    assert (segment.client_scope, segment.match, segment.rules) == ("primary", "all", [JUNE])

    again = import_document(connection, doc({"name": "June", "rules": [JUNE]}))
    assert again.segments_unchanged == ["June"] and not again.changed

    renamed = import_document(
        connection,
        doc({"name": "JUNE", "description": "Year ends", "client_scope": "any", "rules": [JUNE]}),
    )
    assert renamed.segments_updated == ["JUNE"]
    segment.refresh_from_db()
    assert (segment.name, segment.description, segment.client_scope) == ("JUNE", "Year ends", "any")
    assert Segment.objects.count() == 1
    assert export_document(connection)["segments"] == [segment.as_document()]


def test_values_are_normalised_like_in_the_builder(practice):
    import_document(practice.connection, doc({"name": "June", "rules": [
        {"field": "balance_month", "op": "in", "value": ["jun", "december"]},
        {"field": "gst_registered", "op": "eq", "value": "yes"},
    ]}))  # fmt: skip
    assert Segment.objects.get().rules == [
        {"field": "balance_month", "op": "in", "value": ["June", "December"]},
        {"field": "gst_registered", "op": "eq", "value": True},
    ]


def test_operators_must_suit_the_field_type(practice):
    with pytest.raises(ConfigDocumentError) as refused:
        import_document(practice.connection, doc(
            {"name": "Ok", "rules": [JUNE]},
            {"name": "Bad", "rules": [{"field": "balance_month", "op": "gt", "value": "June"}]},
        ))  # fmt: skip
    assert refused.value.errors == [
        "segments[1].rules[0].op: 'gt' does not apply to Balance Month (a month field; use eq, "
        "ne, in, not_in, blank, not_blank, within_next_days, within_last_days) (rule 1: "
        "“Balance Month is more than June”)"
    ]
    assert not Segment.objects.exists()  # refused whole


def test_rules_may_use_keys_the_document_maps(practice):
    result = import_document(practice.connection, {
        "version": 1,
        "mappings": [{"source": "JobManager", "key": "job_manager", "label": "Job Manager"}],
        "segments": [{"name": "Jo's", "rules": [
            {"field": "job_manager", "op": "eq", "value": "Jo Bloggs"}]}],
    })  # fmt: skip
    assert result.mappings_created == ["job_manager"]
    assert result.segments_created == ["Jo's"]


def test_segments_kept_in_config_extras_become_rows(practice):
    connection = practice.connection
    connection.config_extras = {
        "segments": [
            {"name": "Legacy June", "client_scope": "any", "match": "all", "rules": [JUNE]},
            {"name": "legacy june", "rules": []},  # same name: the first wins
            {"rules": []},  # no name: skipped
        ],
        "leads": {"owner": "Jo Bloggs"},
    }
    connection.save()
    migration = importlib.import_module("wagtail_xpm.migrations.0004_segments_campaigns")
    migration.segments_from_config_extras(apps, None)
    connection.refresh_from_db()
    assert connection.config_extras == {"leads": {"owner": "Jo Bloggs"}}
    (segment,) = Segment.objects.filter(connection=connection)
    assert segment.as_document() == {
        "name": "Legacy June", "client_scope": "any", "match": "all", "rules": [JUNE],
    }  # fmt: skip
    migration.segments_back_to_config_extras(apps, None)
    connection.refresh_from_db()
    assert connection.config_extras["segments"] == [segment.as_document()]
