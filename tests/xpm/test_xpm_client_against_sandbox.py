"""Every XpmClient method over real HTTP on loopback, against the sandbox emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import xpm_testdata as td

from wagtail_xpm.sandbox import Sandbox
from wagtail_xpm.xpm import (
    InMemoryRateLimiter,
    InMemoryTokenStore,
    NewClient,
    NewContact,
    NewLead,
    OAuthConfig,
    TokenSet,
    XeroOAuth,
    XpmClient,
    practice_manager_tenants,
)
from wagtail_xpm.xpm.errors import (
    XpmApiError,
    XpmAuthError,
    XpmDailyLimitReached,
    XpmInvalidGrant,
    XpmNotFoundError,
    XpmReauthorizationRequired,
    XpmResponseError,
    XpmTenantError,
    XpmTransientError,
)

SCOPES = (
    "offline_access",
    "practicemanager",
    "practicemanager.client",
    "practicemanager.staff.read",
)
REDIRECT_URI = "http://127.0.0.1:8000/xpm/callback/"


@dataclass
class Live:
    sandbox: Sandbox
    url: str
    oauth: XeroOAuth
    store: InMemoryTokenStore
    client: XpmClient
    sleeps: td.SleepRecorder

    def new_client(
        self, *, scopes: tuple[str, ...] = SCOPES, tenant_id: str | None = None, **kwargs: object
    ) -> XpmClient:
        tokens = TokenSet.from_token_response(self.sandbox.issue_tokens(scopes=scopes))
        return XpmClient(
            api_url=f"{self.url}/practicemanager/3.1/",
            tenant_id=tenant_id or self.sandbox.tenant_id,
            token_store=InMemoryTokenStore(tokens),
            oauth=self.oauth,
            limiter=InMemoryRateLimiter(),
            sleep=td.SleepRecorder(),
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def live() -> Iterator[Live]:
    sandbox = Sandbox.generate(clients=25, seed=7, auto_consent=True)
    with sandbox.serve() as server:
        url = server.url
        oauth = XeroOAuth(
            OAuthConfig(
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
                authorize_url=f"{url}/identity/connect/authorize",
                token_url=f"{url}/connect/token",
                revoke_url=f"{url}/connect/revocation",
                connections_url=f"{url}/connections",
                scopes=SCOPES,
            )
        )
        store = InMemoryTokenStore(TokenSet.from_token_response(sandbox.issue_tokens(SCOPES)))
        sleeps = td.SleepRecorder()
        client = XpmClient(
            api_url=f"{url}/practicemanager/3.1/",
            tenant_id=sandbox.tenant_id,
            token_store=store,
            oauth=oauth,
            limiter=InMemoryRateLimiter(),
            sleep=sleeps,
        )
        with client:
            yield Live(sandbox, url, oauth, store, client, sleeps)


# --------------------------------------------------------------------------- OAuth


def test_full_authorisation_code_flow_with_pkce(live: Live) -> None:
    request = live.oauth.authorization_request(REDIRECT_URI)
    consent = requests.get(request.url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302
    callback = parse_qs(urlsplit(consent.headers["Location"]).query)
    assert callback["state"] == [request.state]

    # The sandbox checks the verifier against the challenge: a wrong one is refused.
    with pytest.raises(XpmInvalidGrant):
        live.oauth.exchange_code(
            code=callback["code"][0], redirect_uri=REDIRECT_URI, code_verifier="x" * 64
        )

    again = live.oauth.authorization_request(REDIRECT_URI)
    consent = requests.get(again.url, allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    tokens = live.oauth.exchange_code(
        code=code, redirect_uri=REDIRECT_URI, code_verifier=again.code_verifier
    )
    assert set(SCOPES) <= set(tokens.scopes)
    assert not tokens.is_expired()

    (practice,) = practice_manager_tenants(live.oauth.connections(tokens))
    assert practice.tenant_id == live.sandbox.tenant_id
    assert practice.tenant_name == live.sandbox.practice_name


def test_refresh_rotates_and_old_token_dies_after_grace(live: Live) -> None:
    first = live.store.load()
    second = live.oauth.refresh(first)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    # Inside the 30-minute window a replay returns the same new pair...
    assert live.oauth.refresh(first).refresh_token == second.refresh_token
    # ...after it, invalid_grant.
    live.sandbox.advance(minutes=31)
    with pytest.raises(XpmInvalidGrant):
        live.oauth.refresh(first)
    live.oauth.refresh(second)


def test_expired_access_token_is_refreshed_through_the_token_endpoint(live: Live) -> None:
    before = live.store.load()
    # The sandbox's clock moves on: the token we hold is expired *there* but not here,
    # so the first call gets 401 TokenExpired and the client refreshes once.
    live.sandbox.advance(minutes=31)
    staff = live.client.list_staff()
    assert staff
    after = live.store.load()
    assert after.refresh_token != before.refresh_token
    assert live.client.calls_made == 2
    # Next call goes straight through with the stored new token.
    live.client.list_staff()
    assert live.client.calls_made == 3


def test_locally_expired_token_is_refreshed_before_calling(live: Live) -> None:
    current = live.store.load()
    live.store.save(
        TokenSet(
            current.access_token,
            current.refresh_token,
            datetime.now(UTC) - timedelta(minutes=1),
            current.scopes,
        )
    )
    client = XpmClient(
        api_url=live.client.api_url,
        tenant_id=live.sandbox.tenant_id,
        token_store=live.store,
        oauth=live.oauth,
        limiter=InMemoryRateLimiter(),
    )
    client.list_client_groups()
    assert client.calls_made == 1  # no 401 round trip
    assert live.store.load().refresh_token != current.refresh_token


def test_revoked_grant_needs_reauthorisation(live: Live) -> None:
    live.oauth.revoke(live.store.load())
    with pytest.raises(XpmAuthError):
        live.client.list_staff()  # the access token died with the grant
    live.sandbox.advance(minutes=31)
    stale = live.store.load()
    live.store.save(
        TokenSet(
            stale.access_token,
            stale.refresh_token,
            datetime.now(UTC) - timedelta(seconds=1),
            stale.scopes,
        )
    )
    with pytest.raises(XpmReauthorizationRequired):
        live.client.list_staff()


def test_wrong_tenant_and_missing_scope(live: Live) -> None:
    stranger = live.new_client(tenant_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(XpmTenantError) as excinfo:
        stranger.list_staff()
    assert "00000000-0000-0000-0000-000000000000" in str(excinfo.value)

    narrow = live.new_client(scopes=("offline_access", "practicemanager.client"))
    assert narrow.list_client_groups() is not None
    with pytest.raises(XpmAuthError, match="AuthorizationUnsuccessful"):
        narrow.custom_field_definitions()


# --------------------------------------------------------------------------- clients


def test_list_detailed_and_modified_since(live: Live) -> None:
    plain = list(live.client.list_clients())
    detailed = list(live.client.list_clients(detailed=True))
    assert len(plain) == len(detailed) == 25
    assert any(record.groups for record in detailed)
    assert not any(record.groups for record in plain)
    assert any(record.is_archived for record in plain)
    assert all(record.uuid for record in plain)

    started = datetime.now(UTC) - timedelta(seconds=2)
    created = live.client.add_client(NewClient("M\u0101ori Trust Ltd"))
    changed = list(live.client.list_clients(modified_since=started))
    assert created.uuid in {record.uuid for record in changed}
    assert len(changed) < len(plain)


def test_get_search_and_add_client(live: Live) -> None:
    some = next(iter(live.client.list_clients()))
    fetched = live.client.get_client(some.uuid)
    assert fetched.uuid == some.uuid
    assert fetched.name == some.name

    with pytest.raises(XpmNotFoundError):
        live.client.get_client("11111111-2222-3333-4444-555555555555")

    created = live.client.add_client(
        NewClient(
            "A & B <Ltd> Zo\u00eb",
            email="hello@ab.example",
            phone="09 555 0000",
            website="https://ab.example",
            contacts=(NewContact("Zo\u00eb Ng", email="zoe@ab.example", mobile="021 555"),),
        )
    )
    assert created.name == "A & B <Ltd> Zo\u00eb"
    assert created.is_prospect is True
    assert created.website == "https://ab.example"
    (contact,) = created.contacts
    assert contact.name == "Zo\u00eb Ng"
    assert contact.is_primary is True

    found = live.client.search_clients("b <ltd> zo\u00eb")
    assert [record.uuid for record in found] == [created.uuid]
    assert live.client.search_clients("no such client anywhere") == []


def test_paged_clients_cover_live_clients(live: Live) -> None:
    paged = list(live.client.paged_clients(page_size=4))
    listed = [r for r in live.client.list_clients() if not r.is_archived and not r.is_deleted]
    assert sorted(r.uuid for r in paged) == sorted(r.uuid for r in listed)
    assert len(paged) > 4  # it really followed pages
    assert all(r.contacts == () for r in paged)  # base fields only


# --------------------------------------------------------------------------- contacts


def test_contacts(live: Live) -> None:
    contacts = list(live.client.list_contacts(page_size=5))
    listed_clients = list(live.client.list_clients())
    linked = {c.uuid for r in listed_clients for c in r.contacts}
    assert len(contacts) > 5
    assert {c.uuid for c in contacts} <= linked | {c.uuid for c in contacts}
    assert len({c.uuid for c in contacts}) == len(contacts)

    owner_client = next(r for r in listed_clients if r.contacts)
    first = owner_client.contacts[0]
    fetched = live.client.get_contact(first.uuid, client_uuid=owner_client.uuid)
    assert fetched.uuid == first.uuid
    assert fetched.is_primary == first.is_primary

    added = live.client.add_contact(
        owner_client.uuid,
        NewContact(
            "Wiremu O'Brien & Sons", email="w@example.com", position="Trustee", is_primary=False
        ),
    )
    assert added.name == "Wiremu O'Brien & Sons"
    again = live.client.get_contact(added.uuid, client_uuid=owner_client.uuid)
    assert again.position == "Trustee"
    assert again.is_primary is False
    refreshed = live.client.get_client(owner_client.uuid)
    assert added.uuid in {c.uuid for c in refreshed.contacts}


# --------------------------------------------------------------------------- custom fields


def test_custom_fields(live: Live) -> None:
    definitions = live.client.custom_field_definitions()
    by_name = {d.name: d for d in definitions}
    assert {d.value_element for d in definitions} >= {
        "Text",
        "Decimal",
        "Number",
        "Boolean",
        "Date",
    }
    dropdowns = [d for d in definitions if d.options]
    assert dropdowns

    values = []
    for record in list(live.client.list_clients())[:10]:
        values.extend(live.client.client_custom_fields(record.uuid))
    assert values
    for value in values:
        definition = by_name[value.name]
        assert value.uuid == definition.uuid
        assert value.value_element == definition.value_element
        if definition.options:
            assert value.value in definition.options
        if value.value_element == "Decimal":
            assert isinstance(value.value, Decimal)


# --------------------------------------------------------------------------- staff, groups, leads


def test_staff_groups_and_categories(live: Live) -> None:
    staff = live.client.list_staff()
    assert len(staff) >= 3
    one = live.client.get_staff(staff[0].uuid)
    assert one.name == staff[0].name
    assert one.email == staff[0].email

    groups = live.client.list_client_groups()
    assert groups
    group = live.client.get_client_group(groups[0].uuid)
    assert group.clients
    members = {c.uuid for c in group.clients}
    detailed = {r.uuid: r for r in live.client.list_clients(detailed=True)}
    for uuid in members:
        assert group.uuid in {g.uuid for g in detailed[uuid].groups}

    categories = live.client.lead_categories()
    assert categories


def test_add_lead_and_read_it_back(live: Live) -> None:
    owner = live.client.list_staff()[0]
    category = live.client.lead_categories()[0]
    prospect = live.client.add_client(
        NewClient("Website Prospect", contacts=(NewContact("Priya Patel"),))
    )
    lead = live.client.add_lead(
        NewLead(
            "Website enquiry: A & B <Ltd>",
            prospect.uuid,
            owner.uuid,
            description="Wants a quote\nfor GST returns",
            contact_uuid=prospect.contacts[0].uuid,
            category_uuid=category.uuid,
            estimated_value=Decimal("1500"),
        )
    )
    assert lead.name == "Website enquiry: A & B <Ltd>"
    assert lead.state == "Current"
    assert lead.client is not None and lead.client.uuid == prospect.uuid
    assert lead.owner is not None and lead.owner.uuid == owner.uuid
    assert lead.contact is not None and lead.contact.uuid == prospect.contacts[0].uuid
    assert lead.category == category.name
    assert lead.estimated_value == Decimal("1500")

    assert live.client.get_lead(lead.uuid) == lead
    assert lead.uuid in {item.uuid for item in live.client.current_leads()}


def test_add_lead_validation_errors(live: Live) -> None:
    owner = live.client.list_staff()[0]
    some = next(iter(live.client.list_clients()))
    with pytest.raises(XpmApiError, match="Invalid owner"):
        live.client.add_lead(NewLead("Enquiry", some.uuid, "00000000-0000-0000-0000-000000000001"))
    with pytest.raises(XpmApiError, match="client identifier"):
        live.client.add_lead(NewLead("Enquiry", "00000000-0000-0000-0000-000000000002", owner.uuid))
    assert live.sleeps.calls == []  # never retried


# --------------------------------------------------------------------------- faults


def test_throttle_is_waited_out_and_daily_limit_stops(live: Live) -> None:
    live.sandbox.faults.throttle(1, problem="minute", retry_after=1)
    assert live.client.list_staff()
    assert live.sleeps.calls == [1.0]

    live.sandbox.faults.throttle(1, problem="day", retry_after=3600)
    with pytest.raises(XpmDailyLimitReached):
        live.client.list_staff()
    assert live.sleeps.calls == [1.0]


def test_outage_retries_reads_but_not_creates(live: Live) -> None:
    live.sandbox.faults.outage(2, status=503)
    assert live.client.list_client_groups()
    assert live.sleeps.calls == [1.0, 2.0]

    live.sandbox.reset_stats()
    live.sandbox.faults.outage(1, status=500, path="client.api/add")
    with pytest.raises(XpmTransientError) as excinfo:
        live.client.add_client(NewClient("Never Twice Ltd"))
    assert excinfo.value.outcome_unknown is True
    assert live.sandbox.calls_by_path["client.api/add"] == 1


def test_dropped_connection_after_a_create_reports_unknown_outcome(live: Live) -> None:
    live.sandbox.faults.drop(1, path="client.api/add")
    with pytest.raises(XpmTransientError) as excinfo:
        live.client.add_client(NewClient("Schrodinger Holdings"))
    assert excinfo.value.outcome_unknown is True
    # XPM did act on it: exactly why the client must not retry blindly.
    assert len(live.client.search_clients("Schrodinger Holdings")) == 1


def test_hostile_body_from_the_server_is_refused(live: Live) -> None:
    live.sandbox.faults.replace_body(
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<Response><Status>OK</Status><StaffList><Staff><UUID>&b;</UUID></Staff></StaffList>"
        "</Response>",
        path="staff.api/list",
    )
    with pytest.raises(XpmResponseError, match="hostile"):
        live.client.list_staff()


def test_rate_headers_are_tracked(live: Live) -> None:
    live.client.list_staff()
    live.client.list_client_groups()
    assert live.client.day_remaining == 5000 - live.sandbox.api_calls
    assert live.client.calls_made == live.sandbox.api_calls == 2


def test_streaming_a_larger_detailed_list_over_http() -> None:
    sandbox = Sandbox.generate(clients=600, seed=3, rate_limits=False)
    tokens = TokenSet.from_token_response(sandbox.issue_tokens(SCOPES))
    with sandbox.serve() as server:
        oauth = XeroOAuth(
            OAuthConfig(
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
                token_url=f"{server.url}/connect/token",
            )
        )
        client = XpmClient(
            api_url=f"{server.url}/practicemanager/3.1/",
            tenant_id=sandbox.tenant_id,
            token_store=InMemoryTokenStore(tokens),
            oauth=oauth,
            limiter=InMemoryRateLimiter(),
        )
        uuids = [record.uuid for record in client.list_clients(detailed=True)]
    assert len(uuids) == len(set(uuids)) == 600


def test_disconnect_one_tenant_keeps_the_others(live: Live) -> None:
    tokens = live.store.load()
    tenants = live.oauth.connections(tokens)
    (org,) = [t for t in tenants if not t.is_practice_manager]
    live.oauth.disconnect(tokens, org.id)
    assert [t.tenant_id for t in live.oauth.connections(tokens)] == [live.sandbox.tenant_id]
    assert live.client.list_staff()  # the practice connection still works
