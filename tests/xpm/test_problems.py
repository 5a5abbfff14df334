"""What an XPM refusal is about (wagtail_xpm/xpm/problems.py): `XpmApiError.about` from the
sandbox's refusals over real HTTP (XPM's own texts, docs/xpm-api.md 2.4), and narrow cases."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import responses
import xpm_testdata as td

from wagtail_xpm.sandbox import Sandbox
from wagtail_xpm.xpm import (
    InMemoryRateLimiter,
    InMemoryTokenStore,
    NewLead,
    OAuthConfig,
    TokenSet,
    XeroOAuth,
    XpmClient,
)
from wagtail_xpm.xpm.errors import XpmApiError, XpmNotFoundError
from wagtail_xpm.xpm.problems import (
    ABOUT,
    CATEGORY,
    CLIENT,
    CONTACT,
    CUSTOM_FIELD,
    OWNER,
    about_refusal,
    is_refusal,
    parse_problem,
)

UNKNOWN = "00000000-0000-4000-8000-00000000dead"
SCOPES = ("offline_access", "practicemanager")


@dataclass
class Practice:
    client: XpmClient
    owner: str
    client_uuid: str
    contact_uuid: str
    other_contact_uuid: str


@pytest.fixture(scope="module")
def practice() -> Iterator[Practice]:
    sandbox = Sandbox.generate(clients=6, seed=11, auto_consent=True)
    with sandbox.serve() as server:
        oauth = XeroOAuth(
            OAuthConfig(
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
                token_url=f"{server.url}/connect/token",
                connections_url=f"{server.url}/connections",
            )
        )
        client = XpmClient(
            api_url=f"{server.url}/practicemanager/3.1/",
            tenant_id=sandbox.tenant_id,
            token_store=InMemoryTokenStore(
                TokenSet.from_token_response(sandbox.issue_tokens(SCOPES))
            ),
            oauth=oauth,
            limiter=InMemoryRateLimiter(),
            sleep=td.SleepRecorder(),
        )
        with client:
            with_contacts = [c for c in client.list_clients(detailed=True) if c.contacts]
            first, second = with_contacts[0], with_contacts[1]
            yield Practice(
                client,
                owner=client.list_staff()[0].uuid,
                client_uuid=first.uuid,
                contact_uuid=first.contacts[0].uuid,
                other_contact_uuid=second.contacts[0].uuid,
            )


def _refusal(practice: Practice, lead: NewLead) -> XpmApiError:
    with pytest.raises(XpmApiError) as excinfo:
        practice.client.add_lead(lead)
    return excinfo.value


# --------------------------------------------------------------------------- sandbox refusals


def test_an_unknown_lead_owner_is_about_the_owner(practice: Practice) -> None:
    error = _refusal(practice, NewLead("Enquiry", practice.client_uuid, UNKNOWN))
    assert (error.description, error.about) == ("Invalid owner", OWNER)


def test_an_unknown_client_is_about_the_client(practice: Practice) -> None:
    error = _refusal(practice, NewLead("Enquiry", UNKNOWN, practice.owner))
    assert isinstance(error, XpmNotFoundError)
    assert (error.description, error.about) == ("Invalid client identifier", CLIENT)


def test_a_contact_of_another_client_is_about_the_contact(practice: Practice) -> None:
    lead = NewLead(
        "Enquiry", practice.client_uuid, practice.owner, contact_uuid=practice.other_contact_uuid
    )
    error = _refusal(practice, lead)
    assert (error.description, error.about) == ("Invalid contact identifier", CONTACT)


def test_an_unknown_category_is_about_the_category(practice: Practice) -> None:
    lead = NewLead("Enquiry", practice.client_uuid, practice.owner, category_uuid=UNKNOWN)
    error = _refusal(practice, lead)
    assert (error.description, error.about) == ("Invalid category identifier", CATEGORY)


def test_refusals_about_other_things_are_about_nothing_we_correct(practice: Practice) -> None:
    with pytest.raises(XpmNotFoundError) as staff:
        practice.client.get_staff(UNKNOWN)
    assert (staff.value.description, staff.value.about) == ("Invalid staff identifier", None)
    with pytest.raises(XpmApiError) as paging:  # a real 400 (docs/xpm-api.md 4.2)
        practice.client.paged_clients_page(page_token="not-a-token")
    assert paging.value.status == 400 and paging.value.about is None


def test_about_survives_the_task_queue(practice: Practice) -> None:
    error = _refusal(practice, NewLead("Enquiry", practice.client_uuid, UNKNOWN))
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.about, copy.description) == (XpmApiError, OWNER, "Invalid owner")


# --------------------------------------------------------------------------- narrow cases


@pytest.mark.parametrize(
    ("description", "about"),
    [
        ("Invalid owner", OWNER),
        ("Invalid contact identifier", CONTACT),
        ("Invalid category identifier", CATEGORY),
        ("Invalid billing client identifier", CLIENT),
        (
            "Message not in expected format. The required element was missing - /Lead/OwnerUUID",
            OWNER,
        ),
        (
            "Message not in expected format. The following required element was missing - "
            "/Lead/ClientID",
            CLIENT,
        ),
        ("The contact does not belong to the client", CONTACT),
        ("The owner and the contact are both unknown", OWNER),  # the owner cannot be dropped
        ("Invalid custom field identifier", CUSTOM_FIELD),
        ("Invalid value for custom field Plan Level: lots", CUSTOM_FIELD),
        ("Missing element - /CustomFields/CustomField/UUID", CUSTOM_FIELD),
        ("Invalid client custom field identifier", CUSTOM_FIELD),  # not the client
        ("Invalid EstimatedValue value: lots", None),
        ("", None),
        (None, None),
    ],
)
def test_what_a_description_names(description: str | None, about: str | None) -> None:
    assert about_refusal(description) == about
    assert about is None or about in ABOUT


def test_parse_problem_reads_xml_and_json_refusals() -> None:
    xml = td.error_envelope("Invalid owner")
    assert parse_problem(xml, 200).about == OWNER
    assert parse_problem(xml).about == OWNER
    json = b'{"status": 400, "errorDescription": "Invalid contact identifier"}'
    problem = parse_problem(json, 400)
    assert (problem.summary, problem.about) == ("Invalid contact identifier", CONTACT)
    assert parse_problem(b"<html>oops</html>", 404).about is None
    assert parse_problem(b"", 409).about is None


@pytest.mark.parametrize("status", [401, 403, 408, 429, 500, 503])
def test_only_refusals_are_about_something(status: int) -> None:
    assert not is_refusal(status)
    assert parse_problem(b'{"Detail": "Invalid owner"}', status).about is None
    assert parse_problem(b'{"Detail": "Invalid owner"}', status).summary == "Invalid owner"


def test_a_4xx_refusal_from_the_client_carries_what_it_is_about() -> None:
    url = f"{td.API_URL}lead.api/add"
    client, _ = td.make_client()
    with responses.RequestsMock() as rsps:
        rsps.post(url, status=404, json={"errorDescription": "Invalid contact identifier"})
        rsps.post(url, status=409, json={"errorDescription": "Invalid owner"})
        rsps.post(url, status=400, body=td.error_envelope("Invalid category identifier"))
        found = []
        for _ in range(3):
            with pytest.raises(XpmApiError) as excinfo:
                client.add_lead(NewLead("Enquiry", "c", "o"))
            found.append((type(excinfo.value), excinfo.value.status, excinfo.value.about))
    assert found == [
        (XpmNotFoundError, 404, CONTACT),
        (XpmApiError, 409, OWNER),
        (XpmApiError, 400, CATEGORY),
    ]
