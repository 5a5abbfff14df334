"""``xpm_config`` and the version-1 mapping and segment document (docs/contracts.md 4.3)."""

from __future__ import annotations

import copy
import io
import json

import pytest
from django.core.management import CommandError, call_command
from wagtail.models import Page, Site

from wagtail_xpm import configdoc, services
from wagtail_xpm.configdoc import ConfigDocumentError, export_document
from wagtail_xpm.models import (
    FieldMapping,
    PracticeCustomField,
    PracticeLeadCategory,
    PracticeStaff,
    Segment,
    XpmConnection,
    XpmSiteSettings,
)

pytestmark = pytest.mark.django_db

# docs/contracts.md 4.3, verbatim.
EXAMPLE = {
    "version": 1,
    "mappings": [
        {"source": "AccountManager", "key": "account_manager", "label": "Account Manager"},
        {"source": "BalanceMonth", "key": "balance_month", "label": "Balance Month"},
        {"source": "custom:Plan Level", "key": "plan_level", "label": "Plan Level"},
    ],
    "segments": [
        {
            "name": "John's June clients",
            "client_scope": "primary",
            "match": "all",
            "rules": [
                {"field": "account_manager", "op": "eq", "value": "John Smith"},
                {
                    "match": "any",
                    "rules": [
                        {"field": "balance_month", "op": "eq", "value": "June"},
                        {"field": "plan_level", "op": "in", "value": ["Gold", "Silver"]},
                    ],
                },
            ],
        }
    ],
    "leads": {"owner": "John Smith", "category": "Website"},
}


def import_document(connection, doc):
    """As ``xpm_config import`` does it: names unknown locally are read from XPM."""
    return configdoc.import_document(connection, doc, client_factory=services.client_for)


def snapshot(connection: XpmConnection) -> tuple:
    """Everything an import may write, to prove a refused import wrote nothing."""
    connection.refresh_from_db()
    rows = FieldMapping.objects.filter(connection=connection).order_by("pk")
    segments = Segment.objects.filter(connection=connection).order_by("pk")
    return (
        list(rows.values("key", "source", "label", "value_type", "choices", "sort_order")),
        list(segments.values("name", "description", "client_scope", "match", "rules")),
        connection.config_extras,
    )


def fresh_connection(hostname: str = "other.example") -> XpmConnection:
    """A second site's connection, as connecting makes it (default mappings only)."""
    root = Page.objects.get(depth=1)
    site = Site.objects.create(hostname=hostname, port=80, root_page=root)
    connection = XpmConnection.objects.create(site=site)
    services.ensure_default_mappings(connection)
    return connection


@pytest.fixture
def with_definitions(connected_site):
    services.refresh_custom_field_definitions(connected_site)
    assert PracticeCustomField.objects.filter(connection=connected_site, name="Plan Level")
    return connected_site


# --- the document ---------------------------------------------------------------------------


def test_export_after_connect(connected_site):
    doc = export_document(connected_site)
    assert doc["version"] == 1
    assert doc["segments"] == [] and doc["leads"] == {}
    assert {"source": "AccountManager", "key": "account_manager", "label": "Account Manager"} in (
        doc["mappings"]
    )
    assert all(set(m) == {"source", "key", "label"} for m in doc["mappings"])


def test_design_example_imports(with_definitions):
    connection = with_definitions
    result = import_document(connection, copy.deepcopy(EXAMPLE))
    assert result.mappings_created == ["plan_level"]
    assert result.mappings_unchanged == ["account_manager", "balance_month"]
    assert result.segments_created == ["John's June clients"]
    assert result.leads_updated

    plan = FieldMapping.objects.get(connection=connection, key="plan_level")
    definition = PracticeCustomField.objects.get(connection=connection, name="Plan Level")
    assert plan.source == "custom:Plan Level"
    assert plan.value_type == "choice"  # a dropdown custom field
    assert plan.choices == definition.options and plan.choices
    month = FieldMapping.objects.get(connection=connection, key="balance_month")
    assert month.value_type == "month" and "June" in month.choices

    connection.refresh_from_db()
    # Segments are Segment rows (what the admin and the campaigns use); the lead owner and
    # category are resolved to XPM UUIDs in the site's settings.
    assert connection.config_extras == {}
    site_settings = XpmSiteSettings.for_site(connection.site)
    assert site_settings.lead_owner_uuid == (
        PracticeStaff.objects.get(connection=connection, name="John Smith").uuid
    )
    assert site_settings.lead_category_uuid == (
        PracticeLeadCategory.objects.get(connection=connection, name="Website").uuid
    )
    (segment,) = Segment.objects.filter(connection=connection)
    assert segment.as_document() == EXAMPLE["segments"][0]
    doc = export_document(connection)
    assert doc["segments"] == EXAMPLE["segments"]
    assert doc["leads"] == EXAMPLE["leads"]
    # The document's order comes first; the site's other mappings follow.
    assert [m["key"] for m in doc["mappings"]][:3] == [
        "account_manager", "balance_month", "plan_level",
    ]  # fmt: skip


def test_custom_field_not_yet_known_is_text(connected_site):
    doc = {"version": 1, "mappings": [{"source": "custom:Favourite Colour", "key": "colour",
                                       "label": "Colour"}]}  # fmt: skip
    import_document(connected_site, doc)
    mapping = FieldMapping.objects.get(connection=connected_site, key="colour")
    assert (mapping.source, mapping.value_type, mapping.choices) == (
        "custom:Favourite Colour", "text", [],
    )  # fmt: skip


def test_custom_field_by_uuid_and_typed_from_definition(with_definitions):
    fee = PracticeCustomField.objects.get(connection=with_definitions, name="Annual Fee")
    import_document(with_definitions, {"version": 1, "mappings": [
        {"source": f"custom:{fee.uuid}", "key": "annual_fee", "label": "Annual fee"}]})  # fmt: skip
    assert FieldMapping.objects.get(key="annual_fee").value_type == "number"


def test_import_is_idempotent(with_definitions):
    connection = with_definitions
    first = import_document(connection, copy.deepcopy(EXAMPLE))
    assert first.changed
    before = snapshot(connection)
    second = import_document(connection, copy.deepcopy(EXAMPLE))
    assert not second.changed
    assert second.created == second.updated == 0
    assert second.mappings_unchanged == ["account_manager", "balance_month", "plan_level"]
    assert second.segments_unchanged == ["John's June clients"]
    assert snapshot(connection) == before


def test_round_trip_into_a_fresh_connection(with_definitions):
    source = with_definitions
    import_document(source, copy.deepcopy(EXAMPLE))
    FieldMapping.objects.filter(connection=source, key="job_manager").update(label="Partner")
    exported = export_document(source)

    target = fresh_connection()
    result = import_document(target, json.loads(json.dumps(exported)))
    assert result.mappings_created == ["plan_level"]
    assert result.mappings_updated == ["job_manager"]
    assert export_document(target) == exported


def test_mappings_update_in_place_by_key(connected_site):
    mapping = FieldMapping.objects.get(connection=connected_site, key="account_manager")
    result = import_document(connected_site, {"version": 1, "mappings": [
        {"source": "JobManager", "key": "account_manager", "label": "Manager"},
        {"source": "AccountManager", "key": "job_manager", "label": "Account Manager"},
    ]})  # fmt: skip
    # The two sources swapped keys: both rows are updated, neither re-created.
    assert sorted(result.mappings_updated) == ["account_manager", "job_manager"]
    mapping.refresh_from_db()
    assert (mapping.source, mapping.label) == ("JobManager", "Manager")
    assert FieldMapping.objects.get(connection=connected_site, key="job_manager").source == (
        "AccountManager"
    )


def test_segments_merge_by_name_and_leads_by_field(connected_site):
    import_document(connected_site, copy.deepcopy(EXAMPLE) | {"mappings": EXAMPLE["mappings"]})
    result = import_document(connected_site, {
        "version": 1,
        "segments": [
            {"name": "Gold clients", "rules": [
                {"field": "plan_level", "op": "eq", "value": "Gold"}]},
            {"name": "John's June clients", "client_scope": "any", "match": "any", "rules": [
                {"field": "account_manager", "op": "eq", "value": "John Smith"}]},
        ],
        "leads": {"category": "Referral"},
    })  # fmt: skip
    assert result.segments_created == ["Gold clients"]
    assert result.segments_updated == ["John's June clients"]
    segments = export_document(connected_site)["segments"]
    # Updated in place (same row, same position), defaults filled in for the new one.
    assert [s["name"] for s in segments] == ["John's June clients", "Gold clients"]
    assert segments[0]["client_scope"] == "any" and segments[0]["match"] == "any"
    assert segments[1] == {
        "name": "Gold clients", "client_scope": "primary", "match": "all",
        "rules": [{"field": "plan_level", "op": "eq", "value": "Gold"}],
    }  # fmt: skip
    assert Segment.objects.filter(connection=connected_site).count() == 2
    assert export_document(connected_site)["leads"] == {
        "owner": "John Smith", "category": "Referral",
    }  # fmt: skip


# --- refusals -------------------------------------------------------------------------------


def with_mapping(mapping: dict) -> dict:
    doc = copy.deepcopy(EXAMPLE)
    doc["mappings"].append(mapping)
    return doc


def with_rule(rule: dict) -> dict:
    doc = copy.deepcopy(EXAMPLE)
    doc["segments"][0]["rules"][1]["rules"].append(rule)
    return doc


def with_segment(**changes) -> dict:
    doc = copy.deepcopy(EXAMPLE)
    doc["segments"].append({"name": "Second", "rules": [], **changes})
    return doc


INVALID = [
    (
        with_mapping({"source": "AccountManager", "key": "Account Manager", "label": "x"}),
        "mappings[3].key: 'Account Manager' is not a valid key "
        "(use lower-case letters, digits and underscores)",
    ),
    (with_mapping({"source": "JobManager", "key": "1st"}), "mappings[3].key: '1st'"),
    (with_mapping({"source": "JobManager", "key": "plan_level"}),
     "mappings[3].key: 'plan_level' is used twice (also mappings[2])"),
    (with_mapping({"source": "custom:plan level", "key": "plan"}),
     "mappings[3].source: 'custom:plan level' is mapped twice (also mappings[2])"),
    (with_mapping({"source": "JobManager", "key": "email"}),
     "mappings[3].key: 'email' is reserved"),
    (with_mapping({"source": "Account Manager", "key": "am"}),
     "mappings[3].source: 'Account Manager' is not an XPM client element name"),
    (with_mapping({"source": "custom:", "key": "blank"}), "mappings[3].source"),
    (with_mapping({"key": "no_source"}), "mappings[3].source: missing"),
    (with_mapping({"source": "JobManager", "key": "jm", "colour": "red"}),
     "mappings[3].colour: unknown field"),
    ({**EXAMPLE, "version": 2}, "version: 2 is not supported"),
    ({k: v for k, v in EXAMPLE.items() if k != "version"}, "version: missing"),
    ({**EXAMPLE, "segmnets": []}, "segmnets: unknown section"),
    ({**EXAMPLE, "mappings": {"source": "x"}}, "mappings: must be a list"),
    (with_rule({"field": "plan_level", "op": "like", "value": "G%"}),
     "segments[0].rules[1].rules[2].op: 'like' is not an operator"),
    (with_rule({"field": "plan_levle", "op": "eq", "value": "Gold"}),
     "segments[0].rules[1].rules[2].field: 'plan_levle' is not a mapped key"),
    (with_rule({"field": "plan_level", "op": "in", "value": "Gold"}),
     "segments[0].rules[1].rules[2].value: 'in' needs a non-empty list"),
    (with_rule({"field": "plan_level", "op": "eq"}),
     "segments[0].rules[1].rules[2].value: missing"),
    (with_rule({"field": "email", "op": "within_next_days", "value": "7"}),
     "segments[0].rules[1].rules[2].value: 'within_next_days' needs a whole number"),
    (with_rule({"field": "email", "op": "before", "value": "next June"}),
     "segments[0].rules[1].rules[2].value: 'before' needs a date as YYYY-MM-DD"),
    (with_rule({"field": "email", "op": "blank", "value": "x"}), "'blank' takes no value"),
    (with_rule({"match": "either", "rules": [{"field": "email", "op": "not_blank"}]}),
     "segments[0].rules[1].rules[2].match: 'either' is not one of all, any"),
    (with_rule({"match": "any", "rules": []}),
     "segments[0].rules[1].rules[2].rules: a group needs at least one rule"),
    (with_rule({"field": "email", "op": "eq", "value": "x", "rules": []}),
     "segments[0].rules[1].rules[2].field: unknown field in a rule group"),
    (with_segment(name=""), "segments[1].name: a segment needs a name"),
    (with_segment(name="john's june CLIENTS"), "segments[1].name: \"john's june CLIENTS\" is used"),
    (with_segment(client_scope="all"),
     "segments[1].client_scope: 'all' is not one of primary, any"),
    (with_segment(match="some"), "segments[1].match: 'some' is not one of all, any"),
    (with_segment(rules={"field": "email"}), "segments[1].rules: must be a list"),
    (with_segment(owner="x"), "segments[1].owner: unknown field"),
    ({**EXAMPLE, "leads": {"owner": "John Smith", "queue": "x"}}, "leads.queue: unknown field"),
    ({**EXAMPLE, "leads": {"owner": 7}}, "leads.owner: must be a staff/category name or UUID"),
    ({**EXAMPLE, "leads": ["John Smith"]}, "leads: must be an object"),
    ([EXAMPLE], "the document must be a JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "message"), INVALID)
def test_invalid_documents_are_refused_whole(connected_site, doc, message):
    before = snapshot(connected_site)
    with pytest.raises(ConfigDocumentError) as refused:
        import_document(connected_site, doc)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    # The valid parts (the new plan_level mapping, the segment, leads) were not written.
    assert snapshot(connected_site) == before
    assert not FieldMapping.objects.filter(key="plan_level").exists()


def test_every_problem_is_listed(connected_site):
    doc = with_mapping({"source": "JobManager", "key": "Bad Key"})
    doc["version"] = 3
    with pytest.raises(ConfigDocumentError) as refused:
        import_document(connected_site, doc)
    assert len(refused.value.errors) == 2
    assert refused.value.errors[0].startswith("version:")
    assert refused.value.errors[1].startswith("mappings[3].key:")


def test_a_source_mapped_to_another_key_cannot_be_taken(connected_site):
    before = snapshot(connected_site)
    doc = {"version": 1, "mappings": [{"source": "AccountManager", "key": "manager"}]}
    with pytest.raises(ConfigDocumentError, match="already mapped to 'account_manager'"):
        import_document(connected_site, doc)
    assert snapshot(connected_site) == before


# --- the command ----------------------------------------------------------------------------


def test_command_round_trip_through_files(with_definitions, tmp_path, capsys):
    path = tmp_path / "example.json"
    path.write_text(json.dumps(EXAMPLE), encoding="utf-8")
    call_command("xpm_config", "import", str(path))
    out = capsys.readouterr().out
    assert "Mappings: 1 created (plan_level), 0 updated, 2 unchanged" in out
    assert "Segments: 1 created (John's June clients)" in out
    assert "Lead settings updated." in out

    call_command("xpm_config", "import", str(path))
    assert "Nothing changed." in capsys.readouterr().out

    exported = tmp_path / "exported.json"
    call_command("xpm_config", "export", str(exported))
    assert "Wrote " in capsys.readouterr().out
    assert json.loads(exported.read_text(encoding="utf-8")) == export_document(with_definitions)

    target = fresh_connection("second.example")
    call_command("xpm_config", "import", str(exported), "--site", "second.example")
    capsys.readouterr()
    call_command("xpm_config", "export", "-", "--site", "second.example")
    assert json.loads(capsys.readouterr().out) == json.loads(exported.read_text("utf-8"))
    assert export_document(target) == export_document(with_definitions)


def test_command_reads_stdin(connected_site, capsys):
    call_command("xpm_config", "import", "-", stdin=io.StringIO(json.dumps(EXAMPLE)))
    assert "plan_level" in capsys.readouterr().out
    assert FieldMapping.objects.filter(connection=connected_site, key="plan_level").exists()


def test_command_refuses_an_invalid_document(connected_site, tmp_path):
    before = snapshot(connected_site)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(with_mapping({"source": "JobManager", "key": "Account Manager"})))
    with pytest.raises(CommandError, match=r"Nothing imported: mappings\[3\]\.key: "):
        call_command("xpm_config", "import", str(path))
    assert snapshot(connected_site) == before


def test_command_refuses_broken_json(connected_site, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"version": 1,')
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("xpm_config", "import", str(path))


def test_command_missing_file(connected_site, tmp_path):
    with pytest.raises(CommandError, match="Could not read"):
        call_command("xpm_config", "import", str(tmp_path / "nope.json"))


def test_command_needs_a_connection(default_site, tmp_path):
    with pytest.raises(CommandError, match="no Xero Practice Manager connection"):
        call_command("xpm_config", "export", str(tmp_path / "out.json"))
