"""Generated XPM XML for the xpm package's tests and benchmarks.

Bodies are produced lazily so a 50 MB client list never has to exist in memory: that is
what lets the streaming tests measure the parser's memory rather than the fixture's.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from xml.sax.saxutils import escape

HEADER = b'<Response api-method="List"><Status>OK</Status><Clients>'
FOOTER = b"</Clients></Response>"

_GIVEN = ["Zo\u00eb", "Aroha", "Jo", "Wiremu", "Sam", "Ng\u0101i", "Priya", "Liam"]
_FAMILY = ["Ng", "Smith", "Te Awa", "Benecke", "O'Brien", "M\u0101ori", "Patel", "Coyote"]
_STRUCTURES = ["Company", "Individual", "Trust", "Partnership", "Sole Trader"]


def client_uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def contact_uuid(i: int, j: int) -> str:
    return f"00000000-0000-4000-9{j:03d}-{i:012d}"


def client_xml(i: int, *, detailed: bool = True) -> str:
    """One realistic `<Client>` element (about 3.4 KB detailed), in XPM's single-line style."""
    given = _GIVEN[i % len(_GIVEN)]
    family = _FAMILY[(i // 3) % len(_FAMILY)]
    name = escape(f"{given} {family} & Co #{i}")
    contacts = "".join(
        f"<Contact><UUID>{contact_uuid(i, j)}</UUID><Name>{escape(given)} {escape(family)} {j}"
        f"</Name><Salutation>{escape(given)}</Salutation><Addressee>{escape(given)} "
        f"{escape(family)}</Addressee><Mobile>021 555 {j:04d}</Mobile>"
        f"<Email>person{i}.{j}@example.co.nz</Email><Phone>09 555 {i % 10000:04d}</Phone>"
        f"<IsDeleted>No</IsDeleted><IsPrimary>{'Yes' if j == 0 else 'No'}</IsPrimary>"
        f"<Position>Director</Position></Contact>"
        for j in range(2)
    )
    parts = [
        f"<Client><UUID>{client_uuid(i)}</UUID><Name>{name}</Name><Title></Title>",
        "<Gender></Gender>",
        f"<FirstName>{escape(given)}</FirstName><LastName>{escape(family)}</LastName>",
        f"<OtherName></OtherName><Email>client{i}@example.co.nz</Email>",
        "<DateOfBirth>1970-11-26T00:00:00</DateOfBirth>",
        f"<Address>{i} Queen Street</Address><City>Auckland</City><Region>Auckland</Region>",
        "<PostCode>1010</PostCode><Country>New Zealand</Country>",
        f"<PostalAddress>PO Box {i}\nAuckland Central</PostalAddress>",
        "<PostalCity>Auckland</PostalCity><PostalRegion></PostalRegion>",
        "<PostalPostCode>1001</PostalPostCode><PostalCountry></PostalCountry>",
        f"<Phone>09 555 {i % 10000:04d}</Phone><Fax></Fax>",
        f"<Website>https://client{i}.example.co.nz</Website>",
        "<ReferralSource>Website</ReferralSource><ExportCode></ExportCode>",
        f"<IsProspect>No</IsProspect><IsArchived>{'Yes' if i % 50 == 0 else 'No'}</IsArchived>",
        "<IsDeleted>No</IsDeleted>",
        "<AccountManager><UUID>dc48df15-1a5c-4675-9d82-4ca54e2c6e86</UUID>",
        "<Name>Jo Blogs</Name></AccountManager>",
        "<JobManager><UUID>98466a19-16df-4ded-b657-0a80ef9a2094</UUID>",
        "<Name>John Smith</Name></JobManager>",
        "<Type><Name>20th of Month</Name><CostMarkup>30.00</CostMarkup>",
        "<PaymentTerm>DayOfMonth</PaymentTerm><PaymentDay>20</PaymentDay></Type>",
        f"<TaxNumber>******{i % 1000:03d}</TaxNumber><CompanyNumber>{1000000 + i}</CompanyNumber>",
        "<BusinessNumber></BusinessNumber><BranchNumber></BranchNumber>",
        f"<BusinessStructure>{_STRUCTURES[i % len(_STRUCTURES)]}</BusinessStructure>",
        f"<BalanceMonth>{i % 12 + 1}</BalanceMonth><PrepareGST>Yes</PrepareGST>",
        "<GSTRegistered>Yes</GSTRegistered><GSTPeriod>2 Monthly</GSTPeriod>",
        "<GSTBasis>Invoice</GSTBasis><ProvisionalTaxBasis>Standard Option</ProvisionalTaxBasis>",
        "<ProvisionalTaxRatio></ProvisionalTaxRatio><SignedTaxAuthority>Yes</SignedTaxAuthority>",
        "<TaxAgent>Main Agent</TaxAgent><AgencyStatus>With EOT</AgencyStatus>",
        "<ReturnType>IR4</ReturnType><PrepareActivityStatement>No</PrepareActivityStatement>",
        "<PrepareTaxReturn>No</PrepareTaxReturn>",
        f"<Contacts>{contacts}</Contacts>",
    ]
    if detailed:
        parts += [
            "<Notes><Note><Title>Onboarding</Title><Text>Engagement letter signed; "
            "annual accounts and GST returns. Prefers email.</Text><Folder></Folder>"
            "<Date>2024-09-12T13:00:00</Date><CreatedBy>Jo Blogs</CreatedBy></Note></Notes>",
            "<Groups><Group><UUID>0dd913a9-6c7b-4060-ac4b-6ff7b41bd233</UUID>",
            f"<Name>Group {i % 40}</Name></Group></Groups>",
            "<Relationships><Relationship><UUID>1d44f4b8-094f-4b91-a73e-b00b83593f71</UUID>",
            "<Type>Shareholder</Type><RelatedClient><UUID>7b57ae35-244b-4ded-b237-b3ea8a222dd2",
            "</UUID><Name>Bloggs Ltd</Name></RelatedClient><NumberOfShares>1000</NumberOfShares>",
            "<Percentage>0</Percentage><StartDate>2011-01-01</StartDate><EndDate></EndDate>",
            "</Relationship></Relationships>",
            f"<WebUrl>https://practicemanager.xero.com/Client/{i}/Detail</WebUrl>",
        ]
    parts.append("</Client>")
    return "".join(parts)


def client_list_chunks(count: int, *, detailed: bool = True) -> Iterator[bytes]:
    """The byte chunks of a `client.api/list` response with `count` clients."""
    yield HEADER
    for i in range(count):
        yield client_xml(i, detailed=detailed).encode("utf-8")
    yield FOOTER


def client_list_bytes(count: int, *, detailed: bool = True) -> bytes:
    return b"".join(client_list_chunks(count, detailed=detailed))


def clients_for_size(target_bytes: int, *, detailed: bool = True) -> int:
    """How many generated clients make a body of at least `target_bytes`."""
    # Index 0 gives the shortest record (fewest digits), so the body is never too small.
    per_client = len(client_xml(0, detailed=detailed).encode("utf-8"))
    return target_bytes // per_client + 1


class GeneratedBody(io.RawIOBase):
    """A readable raw stream over lazily generated chunks (never holds the whole body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.bytes_served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_served += size
        return size


def streamed_body(chunks: Iterator[bytes]) -> io.BufferedReader:
    """A `BufferedReader` (the type `responses` streams from) over generated chunks."""
    return io.BufferedReader(GeneratedBody(chunks), buffer_size=64 * 1024)


# --------------------------------------------------------------------------- client fixtures

API_URL = "https://api.xero.test/practicemanager/3.1/"
TOKEN_URL = "https://identity.xero.test/connect/token"
REVOKE_URL = "https://identity.xero.test/connect/revocation"
CONNECTIONS_URL = "https://api.xero.test/connections"
AUTHORIZE_URL = "https://login.xero.test/identity/connect/authorize"
TENANT_ID = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"


def envelope(inner: str, *, method: str = "Get", status: str = "OK") -> bytes:
    """An XPM response envelope in XPM's single-line style, UTF-8 encoded."""
    return (f'<Response api-method="{method}"><Status>{status}</Status>{inner}</Response>').encode()


def error_envelope(description: str, *, method: str = "Add") -> bytes:
    return envelope(f"<ErrorDescription>{escape(description)}</ErrorDescription>", status="ERROR")


class SleepRecorder:
    """An injectable `sleep` that records the requested waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def fresh_token(*, minutes: float = 30, access: str = "access-1", refresh: str = "refresh-1"):
    from datetime import UTC, datetime, timedelta

    from wagtail_xpm.xpm import TokenSet

    return TokenSet(
        access,
        refresh,
        datetime.now(UTC) + timedelta(minutes=minutes),
        ("offline_access", "practicemanager"),
    )


def make_oauth(session=None):
    from wagtail_xpm.xpm import OAuthConfig, XeroOAuth

    config = OAuthConfig(
        client_id="client-id",
        client_secret="client-secret",
        authorize_url=AUTHORIZE_URL,
        token_url=TOKEN_URL,
        revoke_url=REVOKE_URL,
        connections_url=CONNECTIONS_URL,
        scopes=("offline_access", "practicemanager"),
    )
    return XeroOAuth(config, session=session)


def make_client(*, token=None, limiter=None, sleep=None, **kwargs):
    """An XpmClient against API_URL with an in-memory token store and no shared limiter."""
    from wagtail_xpm.xpm import InMemoryTokenStore, NullRateLimiter, XpmClient

    store = InMemoryTokenStore(token or fresh_token())
    client = XpmClient(
        api_url=API_URL,
        tenant_id=TENANT_ID,
        token_store=store,
        oauth=make_oauth(),
        limiter=limiter if limiter is not None else NullRateLimiter(),
        sleep=sleep if sleep is not None else SleepRecorder(),
        **kwargs,
    )
    return client, store
