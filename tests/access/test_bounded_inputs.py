"""Bounded inputs with clear errors: rule trees and config documents (depth, rule count, list
length, value length, size, malformed JSON), mapping keys, the OAuth callback and the
example site's SECRET_KEY. Each bad input gets a clear refusal and changes nothing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from wagtail_xpm import limits
from wagtail_xpm.models import FieldMapping, Segment

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
RULE = {"field": "account_manager", "op": "eq", "value": "Albert Alphamanager"}


def deep(levels: int) -> dict:
    """A rule tree ``levels`` groups deep, built without recursion."""
    tree: dict = {"match": "all", "rules": [RULE]}
    for _ in range(levels):
        tree = {"match": "all", "rules": [tree]}
    return tree


def deep_text(levels: int) -> str:
    # json.dumps of a 10,000-deep tree would itself recurse too deeply: written by hand.
    inner = json.dumps({"match": "all", "rules": [RULE]})
    return '{"match": "all", "rules": [' * levels + inner + "]}" * levels


BAD_DEFINITIONS = {
    "10,000 levels deep": (deep_text(10_000), "too large: 283 KB; the limit is 256 KB"),
    "1,000 levels deep": (deep_text(1_000), "nests too deeply"),
    "9 levels deep": (json.dumps(deep(8)), "nested 9 levels deep"),
    "40,000 values": (
        json.dumps(
            {
                "rules": [
                    {
                        "field": "account_manager",
                        "op": "in",
                        "value": [f"v{n}" for n in range(40_000)],
                    }
                ]
            }
        ),  # fmt: skip
        "too large",
    ),
    "2,000 values": (
        json.dumps(
            {
                "rules": [
                    {
                        "field": "account_manager",
                        "op": "in",
                        "value": [f"v{n}" for n in range(2_000)],
                    }
                ]
            }
        ),  # fmt: skip
        "lists 2,000 values; at most 1,000",
    ),
    "5,000 rules": (json.dumps({"rules": [RULE] * 5_000}), "too large"),
    "300 rules": (json.dumps({"rules": [RULE] * 300}), "more than 250 rules"),
    "a 2 MB value": (
        json.dumps({"rules": [{**RULE, "value": "x" * 2_000_000}]}),
        "too large",
    ),
    "a 5,000-character value": (
        json.dumps({"rules": [{**RULE, "value": "x" * 5_000}]}),
        "a value of 5,000 characters; at most 1,000",
    ),
    "malformed JSON": ('{"rules": [', "not valid JSON"),
    "not an object": ("[1, 2]", "expected a JSON object"),
}


def test_the_bounded_reader_never_recurses():
    assert limits.nesting_depth(deep_text(10_000)) == 20_003
    with pytest.raises(limits.LimitExceeded, match="nests too deeply"):
        limits.load_json(deep_text(10_000), max_bytes=limits.MAX_DOCUMENT_BYTES)
    with pytest.raises(limits.LimitExceeded, match="too large"):
        limits.load_rule_definition(deep_text(10_000))
    assert limits.load_rule_definition(json.dumps(deep(7)))["match"] == "all"


@pytest.mark.parametrize("name", list(BAD_DEFINITIONS))
def test_the_builder_refuses_bad_rules_with_a_400(firms, name):
    text, reason = BAD_DEFINITIONS[name]
    client = firms.client("site_admin")
    for endpoint in ("count", "preview", "fields"):
        response = client.get(
            reverse(f"wagtail_xpm_segments:builder_{endpoint}"),
            {"connection": firms.a.connection.pk, "definition": text},
        )
        assert response.status_code == 400, (endpoint, response.status_code)
        body = response.json()
        assert body["ok"] is False and reason in body["errors"][0], body


@pytest.mark.parametrize(
    "name", ["10,000 levels deep", "1,000 levels deep", "300 rules", "2,000 values"]
)
def test_the_segment_form_refuses_bad_rules_and_saves_nothing(firms, name):
    text, reason = BAD_DEFINITIONS[name]
    client = firms.client("site_admin")
    before = Segment.objects.count()
    response = client.post(
        reverse("wagtail_xpm_segments:add"),
        {"name": "Too big", "client_scope": "primary", "definition": text},
    )
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert Segment.objects.count() == before


def import_document(text: str, site: str = "localhost") -> str:
    out = io.StringIO()
    call_command("xpm_config", "import", "-", "--site", site, stdin=io.StringIO(text), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("segment_rules", "reason"),
    [
        (None, "nests too deeply"),
        ([RULE] * 5_000, "more than 250 rules"),
        ([{**RULE, "op": "in", "value": ["v"] * 40_000}], "lists 40,000 values; at most 1,000"),
        ([{**RULE, "value": "x" * 2_500_000}], "The document is too large"),
        ([{**RULE, "op": "in", "value": ["v"] * 1_500}], "lists 1,500 values"),
        ([{**RULE, "value": "x" * 1_500}], "a value of 1,500 characters"),
    ],
)
def test_xpm_config_import_refuses_bad_documents_whole(firms, segment_rules, reason):
    before = list(Segment.objects.values_list("pk", "name", "rules"))
    if segment_rules is None:
        text = '{"version": 1, "segments": [{"name": "Deep", "rules": [' + deep_text(10_000)[:-1]
        text = text + "}]}]}"
    else:
        text = json.dumps({"version": 1, "segments": [{"name": "Big", "rules": segment_rules}]})
    with pytest.raises(CommandError, match=f"Nothing imported: .*{reason}"):
        import_document(text)
    assert list(Segment.objects.values_list("pk", "name", "rules")) == before


def test_xpm_config_import_refuses_malformed_json(firms):
    with pytest.raises(CommandError, match="Nothing imported: The document is not valid JSON"):
        import_document('{"version": 1, "segments": [')


@pytest.mark.parametrize("key", ["contains", "isnull", "has_key", "account__manager", "email"])
def test_mapping_keys_that_would_be_read_as_lookups_are_refused(firms, key):
    document = {
        "version": 1,
        "mappings": [{"source": "JobManager", "key": key, "label": "Job Manager"}],
    }
    with pytest.raises(CommandError, match="Nothing imported"):
        import_document(json.dumps(document))
    response = firms.client("superuser").post(
        reverse("wagtail_xpm_fieldmapping:add") + f"?connection={firms.a.connection.pk}",
        {"source": "JobManager", "key": key, "label": "Job Manager"},
    )
    assert response.status_code == 200
    assert not FieldMapping.objects.filter(key=key).exists()


def test_a_lookup_named_key_already_stored_does_not_break_the_contact_filters(firms):
    FieldMapping.objects.create(
        connection=firms.a.connection, source="JobManager", key="contains", label="Contains"
    )
    FieldMapping.objects.create(
        connection=firms.a.connection, source="Type", key="isnull", label="Is null"
    )
    contact = firms.a.contact
    contact.data = {**contact.data, "contains": "Yes", "isnull": "Company"}
    contact.save()
    client = firms.client("superuser")
    index = reverse("wagtail_xpm_contact:index")
    assert client.get(index).status_code == 200
    response = client.get(index, {"data__contains": "Yes", "data__isnull": "Company"})
    assert response.status_code == 200
    assert contact.email in response.content.decode()


def test_a_forged_oauth_callback_leaves_the_connect_in_progress(firms):
    client = firms.client("superuser")
    session = client.session
    session["wagtail_xpm_oauth"] = {
        "state": "genuine-state",
        "code_verifier": "v",
        "redirect_uri": "http://testserver/admin/xpm/callback/",
        "site_id": firms.a.site.pk,
    }
    session.save()
    response = client.get(reverse("wagtail_xpm:oauth_callback"), {"state": "forged", "code": "x"})
    assert response.status_code == 400
    assert client.session["wagtail_xpm_oauth"]["state"] == "genuine-state"


@pytest.mark.parametrize(
    ("environment", "starts"),
    [
        ({"DJANGO_DEBUG": "0"}, False),
        ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "a-long-random-production-key"}, True),
        ({"DJANGO_DEBUG": "1"}, True),
    ],
)
def test_the_example_site_refuses_the_public_key_with_debug_off(environment, starts, tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE")
    }
    env.update(environment, VAR_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", "import example_site.settings"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert (result.returncode == 0) is starts, result.stderr
    if not starts:
        assert "DJANGO_SECRET_KEY is not set, and DEBUG is off" in result.stderr
