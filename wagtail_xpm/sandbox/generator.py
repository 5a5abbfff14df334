"""A realistic AU/NZ accounting practice, generated deterministically from a seed
(docs/xpm-api.md 14.5).

Clients come in blocks of 25 built from one template, so every special case a sync must
survive appears in a 25-client practice and recurs proportionally in a 50,000-client one:

* a director (with a Māori name) linked to two companies, a family trust, a super fund and
  his own individual client; the trust is billed to the individual; the family is a group
* the same person entered twice as two contacts whose emails differ only in case
* contacts without email; unicode names (Zoë, Søren, Tāne, Mere Pōmare)
* one prospect (IsProspect Yes, no account manager), one archived client and one client
  flagged deleted (``list`` shows it with IsDeleted Yes)
* companies (Pty Ltd in AU, Ltd in NZ), trusts, individuals, partnerships, sole traders
  and super funds, with AU or NZ tax details, balance months, GST and managers
* six custom fields covering every value element, with values on most clients
* a current and a won lead per block

Timestamps are anchored to a fixed date (not the wall clock) so a seed always produces
the same practice.
"""

from __future__ import annotations

import gc
import random
import unicodedata
import uuid as uuidlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import TypeVar

from .authmodels import AuthState
from .models import (
    Category,
    Client,
    ClientGroup,
    ClientType,
    Contact,
    ContactLink,
    CustomFieldDefinition,
    Lead,
    LeadActivity,
    LeadHistoryItem,
    Note,
    Relationship,
    Staff,
)
from .state import PracticeState

T = TypeVar("T")
ANCHOR = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
PRACTICE_NAME = "Harbour & Co Chartered Accountants"
WEB_DOMAIN = "harbourco.example"
# The contact checkbox for marketing opt-outs (what `make demo` chooses in the settings).
OPT_OUT_FIELD = "Marketing opt-out"

STAFF = (
    ("John Smith", "Sydney"),
    ("Jo Bloggs", "Sydney"),
    ("Aroha Ngata", "Auckland"),
    ("Priya Patel", "Melbourne"),
    ("Liam O'Connor", "Wellington"),
)

# (kind, special) for each position in a block of 25.
BLOCK = (
    ("company", "director-a"),
    ("company", "director-b"),
    ("individual", "director-self"),
    ("trust", "family-trust"),
    ("super_fund", "family-super"),
    ("partnership", "dup-email-a"),
    ("sole_trader", "no-email"),
    ("individual", "prospect"),
    ("company", "archived"),
    ("individual", ""),
    ("company", ""),
    ("individual", "deleted"),
    ("trust", ""),
    ("company", ""),
    ("individual", "dup-email-b"),
    ("sole_trader", ""),
    ("company", ""),
    ("individual", ""),
    ("partnership", ""),
    ("company", ""),
    ("individual", ""),
    ("super_fund", ""),
    ("company", ""),
    ("individual", ""),
    ("company", ""),
)
BLOCK_SIZE = len(BLOCK)
FIRST_BLOCK_NZ = frozenset({10, 17, 18, 20})

STRUCTURES = {
    "company": "Company",
    "individual": "Individual",
    "trust": "Trust",
    "partnership": "Partnership",
    "sole_trader": "Sole Trader",
    "super_fund": "Super Fund",
}

FIRST_NAMES = (
    "James",
    "Olivia",
    "William",
    "Charlotte",
    "Jack",
    "Amelia",
    "Noah",
    "Isla",
    "Thomas",
    "Mia",
    "Oliver",
    "Grace",
    "Lucas",
    "Ava",
    "Henry",
    "Sophie",
    "Hēmi",
    "Mere",
    "Tāne",
    "Ngaio",
    "Wiremu",
    "Rangi",
    "Zoë",
    "Søren",
    "Chloé",
    "Priya",
    "Wei",
    "Aisha",
    "Mateo",
    "Siosaia",
    "Hannah",
    "Ethan",
    "Emily",
    "Samuel",
    "Ruby",
    "Daniel",
    "Leilani",
    "Arjun",
)
LAST_NAMES = (
    "Brown",
    "Wilson",
    "Taylor",
    "Anderson",
    "Thompson",
    "Walker",
    "White",
    "Martin",
    "Harris",
    "Clarke",
    "Te Rangi",
    "Pōmare",
    "Parata",
    "Hēnare",
    "Jensen",
    "Müller",
    "Nguyen",
    "Chen",
    "Singh",
    "O'Brien",
    "MacDonald",
    "Kaufusi",
    "Robinson",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Mitchell",
    "Campbell",
)
COMPANY_WORDS = (
    "Harbourview",
    "Southern Cross",
    "Kauri",
    "Pacific",
    "Coastal",
    "Greenfield",
    "Summit",
    "Riverbend",
    "Bluegum",
    "Tasman",
    "Ironbark",
    "Silver Fern",
    "Wattle",
    "Kōwhai",
    "Red Gum",
    "Koru",
    "Northshore",
    "Pinnacle",
    "Sandstone",
    "Totara",
)
COMPANY_TRADES = (
    "Holdings",
    "Constructions",
    "Dental",
    "Café",
    "Consulting",
    "Logistics",
    "Electrical",
    "Design",
    "Plumbing",
    "Imports",
    "Properties",
    "Vineyards",
    "Physio",
    "Motors",
    "Bakery",
    "Landscaping",
    "Engineering",
    "Media",
    "Legal",
    "Pharmacy",
)
SOLE_TRADES = ("Joinery", "Painting", "Photography", "Gardening", "Tiling", "Bookkeeping")
POSITIONS = ("Director", "Bookkeeper", "Office Manager", "Financial Controller", "CEO")

AU_CITIES = (
    ("Sydney", "NSW", "2000", "(02) 9"),
    ("Melbourne", "VIC", "3000", "(03) 9"),
    ("Brisbane", "QLD", "4000", "(07) 3"),
    ("Perth", "WA", "6000", "(08) 9"),
    ("Adelaide", "SA", "5000", "(08) 8"),
    ("Hobart", "TAS", "7000", "(03) 6"),
)
NZ_CITIES = (
    ("Auckland", "Auckland", "1010", "09 "),
    ("Wellington", "Wellington", "6011", "04 "),
    ("Christchurch", "Canterbury", "8011", "03 "),
    ("Hamilton", "Waikato", "3204", "07 "),
    ("Dunedin", "Otago", "9016", "03 "),
)
STREETS = (
    "George Street",
    "Queen Street",
    "Collins Street",
    "Lambton Quay",
    "Victoria Street",
    "High Street",
    "Beach Road",
    "Riverside Drive",
    "Church Street",
    "Station Road",
)
MAIL_DOMAINS = ("gmail.example", "outlook.example", "bigpond.example", "xtra.example")

CLIENT_TYPES = (
    ClientType(
        name="20th of Month", cost_markup="30.00", payment_term="DayOfMonth", payment_day=20
    ),
    ClientType(name="14 Days", cost_markup="0.00", payment_term="WithinDays", payment_day=14),
    ClientType(name="7 Days", cost_markup="10.00", payment_term="WithinDays", payment_day=7),
)
INDUSTRIES = (
    "Agriculture",
    "Construction",
    "Healthcare",
    "Hospitality",
    "Professional Services",
    "Property",
    "Retail",
    "Technology",
)
PLAN_LEVELS = ("Gold", "Silver", "Bronze")
_ASCII_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "ß": "ss", "'": "", " ": ""})


@cache
def _ascii(text: str) -> str:
    """Email-safe lower-case ASCII of a name (Zoë -> zoe, Søren -> soren)."""
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).lower()


class _Builder:
    """Holds the random source and the practice while clients are generated."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.rand = self.rng.random
        self.now = now
        self.state = PracticeState(
            practice_name=PRACTICE_NAME,
            tenant_id=self.uuid(),
            org_tenant_id=self.uuid(),
            org_name="Demo Company (AU)",
            created_at=now - timedelta(days=3650),
            country="AU",
            web_domain=WEB_DOMAIN,
            user_name="Jo Bloggs",
            user_email=f"jo.bloggs@{WEB_DOMAIN}",
            auth=AuthState(),
        )
        self.state.user_id = self.uuid()
        self.staff: list[Staff] = []
        self.defs: dict[str, CustomFieldDefinition] = {}

    # random.Random.choice/randint are several times slower than random() in pure Python;
    # these keep 50,000 clients within a couple of seconds and are just as deterministic.
    def pick(self, options: Sequence[T]) -> T:
        return options[int(self.rand() * len(options))]

    def rint(self, low: int, high: int) -> int:
        return low + int(self.rand() * (high - low + 1))

    def uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def digits(self, count: int) -> str:
        return f"{int(self.rand() * 10**count):0{count}d}"

    def when(self, min_days: int, max_days: int) -> datetime:
        """A moment between ``max_days`` and ``min_days`` before the anchor."""
        seconds = self.rint(min_days * 86400, max_days * 86400)
        return (self.now - timedelta(seconds=seconds)).replace(microsecond=0)

    # -- reference data -----------------------------------------------------------------

    def reference_data(self) -> None:
        state = self.state
        for index, (name, city) in enumerate(STAFF):
            first, _, last = name.partition(" ")
            staff = Staff(
                uuid=self.uuid(),
                name=name,
                email=f"{_ascii(first)}.{_ascii(last)}@{WEB_DOMAIN}",
                phone=f"(02) 9555 01{index:02d}"
                if city in ("Sydney", "Melbourne")
                else f"09 555 01{index:02d}",
                mobile=f"04{self.digits(2)} {self.digits(3)} {self.digits(3)}",
                address=f"Level {index + 2}, 1 Harbour Street, {city}",
                payroll_code=f"{first[0]}{last[0]}{index + 1:02d}".upper(),
                web_id=state.take_web_id(),
            )
            state.staff[staff.uuid] = staff
            self.staff.append(staff)
        definitions = (
            CustomFieldDefinition(
                self.uuid(), "Industry", "Dropdown List", "Text", options=list(INDUSTRIES)
            ),
            CustomFieldDefinition(
                self.uuid(), "Plan Level", "Dropdown List", "Text", options=list(PLAN_LEVELS)
            ),
            CustomFieldDefinition(self.uuid(), "Annual Fee", "Decimal", "Decimal"),
            CustomFieldDefinition(self.uuid(), "Employees", "Number", "Number"),
            CustomFieldDefinition(
                self.uuid(), "Newsletter", "Checkbox", "Boolean", use_contact=True
            ),
            CustomFieldDefinition(self.uuid(), "Engagement Signed", "Date", "Date"),
        )
        for definition in definitions:
            state.custom_fields[definition.uuid] = definition
            self.defs[definition.name] = definition
        # The contact checkbox a firm creates for marketing opt-outs (docs/privacy.md). Its
        # UUID is not drawn from the generator, so every other record of a seed stays as it
        # was before it existed. Nobody is opted out at first.
        opt_out = CustomFieldDefinition(
            str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"xpm-sandbox:{state.tenant_id}:opt-out")),
            OPT_OUT_FIELD,
            "Checkbox",
            "Boolean",
            use_client=False,
            use_contact=True,
        )
        state.custom_fields[opt_out.uuid] = opt_out
        self.defs[opt_out.name] = opt_out
        for name in ("Website", "Referral", "Hot"):
            category = Category(self.uuid(), name)
            state.lead_categories[category.uuid] = category
        for name in ("Compliance", "Consulting", "Internal", "Advisory"):
            category = Category(self.uuid(), name)
            state.job_categories[category.uuid] = category
        payroll = ClientGroup(
            self.uuid(), "Monthly Payroll", taxable=False, web_id=state.take_web_id()
        )
        state.groups[payroll.uuid] = payroll

    # -- people -------------------------------------------------------------------------

    def person_name(self) -> tuple[str, str]:
        return self.pick(FIRST_NAMES), self.pick(LAST_NAMES)

    def contact(
        self,
        first: str,
        last: str,
        *,
        email: str | None = None,
        no_email: bool = False,
        country: str = "AU",
    ) -> Contact:
        if no_email:
            email = ""
        elif email is None:
            email = f"{_ascii(first)}.{_ascii(last)}{self.rint(1, 99)}@{self.pick(MAIL_DOMAINS)}"
        mobile = (
            f"04{self.digits(2)} {self.digits(3)} {self.digits(3)}"
            if country == "AU"
            else f"021 {self.digits(3)} {self.digits(4)}"
        )
        contact = Contact(
            uuid=self.uuid(),
            name=f"{first} {last}",
            salutation=first,
            addressee=f"{first[0]} {last}" if self.rand() < 0.7 else "",
            mobile=mobile if self.rand() < 0.8 else "",
            email=email,
            phone=""
            if self.rand() < 0.6
            else f"{self.digits(2)} {self.digits(4)} {self.digits(4)}",
        )
        if self.rand() < 0.3:
            contact.custom_values[self.defs["Newsletter"].uuid] = True
        return self.state.add_contact(contact)

    # -- clients ------------------------------------------------------------------------

    def block(self, block_index: int, count: int) -> None:
        first_block = block_index == 0
        family = "Walker" if first_block else self.pick(LAST_NAMES)
        director_first = "Tāne" if first_block else self.pick(FIRST_NAMES)
        spouse_first = "Zoë" if first_block else self.pick(FIRST_NAMES)
        dup_first, dup_last = ("Alex", "Morgan") if first_block else self.person_name()
        dup_domain = self.pick(MAIL_DOMAINS)
        dup_email = f"{_ascii(dup_first)}.{_ascii(dup_last)}@{dup_domain}"
        country = "AU" if first_block or self.rand() < 0.7 else "NZ"

        director = self.contact(director_first, family, country=country)
        spouse = self.contact(spouse_first, family, country=country)
        made: list[Client] = []
        family_group = ClientGroup(
            self.uuid(),
            f"{family} Family" if block_index % 3 else f"{family} Whānau",
            taxable=self.rand() < 0.5,
            web_id=self.state.take_web_id(),
        )
        for position in range(count):
            kind, special = BLOCK[position]
            # The family cluster shares the block's country; everyone else is a mix, and
            # the first block always has some NZ clients (Ltd companies, IRD numbers).
            if special or position < 5:
                here = country
            elif kind == "super_fund":
                here = "AU"  # self-managed super funds are an Australian thing
            elif first_block:
                here = "NZ" if position in FIRST_BLOCK_NZ else "AU"
            else:
                here = "AU" if self.rand() < 0.7 else "NZ"
            client = self.client(kind, special, here, block_index, family=family)
            links = self.contacts_for(
                client,
                kind,
                special,
                here,
                director=director,
                spouse=spouse,
                dup=(dup_first, dup_last, dup_email),
                first_block=first_block,
            )
            client.contacts = links
            self.state.add_client(client, client.modified_at or self.now)
            made.append(client)
        self.relate_family(made, family_group)
        self.leads(made)

    def client(
        self, kind: str, special: str, country: str, block_index: int, *, family: str
    ) -> Client:
        state = self.state
        first_block = block_index == 0
        first = last = None
        if special in ("director-a", "director-b"):
            name = f"{family} {'Holdings' if special == 'director-a' else 'Constructions'}"
            name += " Pty Ltd" if country == "AU" else " Ltd"
        elif special == "director-self":
            first, last = ("Tāne" if first_block else self.pick(FIRST_NAMES)), family
            name = f"{first} {last}"
        elif special == "family-trust":
            name = f"The {family} Family Trust"
        elif special == "family-super":
            name = f"{family} Superannuation Fund"
        elif special == "dup-email-b":
            first, last = ("Alex", "Morgan") if first_block else self.person_name()
            name = f"{first} {last}"
        elif kind == "company":
            words = f"{self.pick(COMPANY_WORDS)} {self.pick(COMPANY_TRADES)}"
            name = f"{words} {'Pty Ltd' if country == 'AU' else 'Ltd'}"
        elif kind == "individual":
            first, last = self.person_name()
            name = f"{first} {last}"
        elif kind == "trust":
            name = f"The {self.pick(LAST_NAMES)} Family Trust"
        elif kind == "super_fund":
            name = f"{self.pick(LAST_NAMES)} Superannuation Fund"
        elif kind == "partnership":
            a, b = (
                ("Morgan", "Pōmare")
                if first_block and special == "dup-email-a"
                else (self.pick(LAST_NAMES), self.pick(LAST_NAMES))
            )
            name = f"{a} & {b} Partnership"
        else:  # sole trader
            first, last = (
                ("Søren", "Jensen") if first_block and special == "no-email" else self.person_name()
            )
            name = f"{first} {last} t/a {last} {self.pick(SOLE_TRADES)}"
        if special == "prospect" and first_block:
            first, last = "Ngaio", "Parata"
            name = f"{first} {last}"

        created = self.when(2, 2400) if special != "prospect" else self.when(1, 20)
        modified = min(created + timedelta(days=self.rint(0, 400)), self.now - timedelta(hours=1))
        city, region, post_code, phone_prefix = self.pick(
            AU_CITIES if country == "AU" else NZ_CITIES
        )
        street = f"{self.rint(1, 400)} {self.pick(STREETS)}"
        slug = _ascii(name)[:20] or "client"
        client = Client(
            uuid=self.uuid(),
            name=name,
            seq=state.take_seq(),
            web_id=state.take_web_id(),
            created_at=created,
            modified_at=modified,
        )
        client.first_name, client.last_name = first, last
        if kind == "individual":
            client.other_name = ""
            client.date_of_birth = date(self.rint(1945, 2002), self.rint(1, 12), self.rint(1, 28))
            client.email = f"{_ascii(first or '')}.{_ascii(last or '')}@{self.pick(MAIL_DOMAINS)}"
            if self.rand() < 0.3:
                client.title = self.pick(("Mr", "Mrs", "Ms", "Dr"))
        else:
            client.email = f"accounts@{slug}.example"
        roll = self.rand()
        if roll < 0.05:
            client.email = None  # XPM omits <Email> altogether for some records
        elif roll < 0.1:
            client.email = ""
        client.address = street
        client.city, client.region, client.post_code = city, region, post_code
        client.country = "Australia" if country == "AU" else "New Zealand"
        if self.rand() < 0.4:
            client.postal_address = f"PO Box {self.rint(10, 9999)}"
            client.postal_city, client.postal_region = city, region
            client.postal_post_code = post_code
            client.postal_country = client.country
        client.phone = (
            f"{phone_prefix}{self.digits(3)} {self.digits(4)}" if self.rand() < 0.8 else ""
        )
        client.website = (
            f"https://www.{slug}.example" if kind == "company" and self.rand() < 0.6 else ""
        )
        client.referral_source = self.pick(("", "", "Website", "Referral", "Google"))
        client.export_code = (
            f"{slug[:6].upper()}{self.rint(1, 99):02d}" if self.rand() < 0.3 else ""
        )
        client.is_prospect = special == "prospect"
        client.is_archived = special == "archived"
        client.is_deleted = special == "deleted"
        if special == "prospect":
            return client

        if self.rand() < 0.92:
            client.account_manager_uuid = self.pick(self.staff).uuid
        if self.rand() < 0.8:
            client.job_manager_uuid = self.pick(self.staff).uuid
        client.client_type = self.pick(CLIENT_TYPES) if self.rand() < 0.85 else None
        self.tax(client, kind, country)
        self.custom_values(client, kind)
        if self.rand() < 0.3:
            author = self.pick(self.staff).name
            client.notes.append(
                Note(
                    title=self.pick(("Engagement letter", "Year-end call", "ATO correspondence")),
                    text=self.pick(
                        (
                            "Sent for signature.",
                            "Discussed cash flow & tax planning.",
                            "Client prefers email <not phone>.",
                        )
                    ),
                    date=self.when(5, 300),
                    created_by=author,
                )
            )
        return client

    def tax(self, client: Client, kind: str, country: str) -> None:
        client.business_structure = STRUCTURES[kind]
        business = kind != "individual"
        if country == "AU":
            client.tax_number = self.digits(9)
            client.business_number = self.digits(11) if business else ""
            client.company_number = self.digits(9) if kind == "company" else ""
            client.balance_month = 6 if self.rand() < 0.85 else self.pick((12, 3))
            client.prepare_tax_return = True
            client.active_ato_client = self.rand() < 0.9
        else:
            client.tax_number = self.digits(self.pick((8, 9)))
            client.business_number = self.digits(13) if business else ""
            client.company_number = self.digits(7) if kind == "company" else ""
            client.balance_month = 3 if self.rand() < 0.85 else self.pick((6, 12))
            client.signed_tax_authority = True
            client.agency_status = self.pick(("With EOT", "Without EOT"))
            client.tax_agent = "Harbour & Co"
            client.return_type = {
                "individual": "IR3",
                "sole_trader": "IR3",
                "company": "IR4",
                "trust": "IR6",
                "partnership": "IR7",
                "super_fund": "IR6",
            }[kind]
            client.provisional_tax_basis = self.pick(("Standard Option", "Estimate Option"))
            client.prepare_tax_return = True
        if business and self.rand() < 0.8:
            client.gst_registered = True
            client.prepare_gst = self.rand() < 0.9
            client.gst_period = self.pick(("Monthly", "2 Monthly", "6 Monthly"))
            client.gst_basis = self.pick(("Invoice", "Payment", "Hybrid"))
            client.prepare_activity_statement = country == "AU"

    def custom_values(self, client: Client, kind: str) -> None:
        values = client.custom_values
        defs = self.defs
        if self.rand() < 0.85:
            values[defs["Industry"].uuid] = self.pick(INDUSTRIES)
        if self.rand() < 0.8:
            values[defs["Plan Level"].uuid] = self.pick(PLAN_LEVELS)
        if self.rand() < 0.7:
            values[defs["Annual Fee"].uuid] = (
                f"{self.rint(450, 25000)}.{self.pick(('00', '50', '95'))}"
            )
        if kind == "company" and self.rand() < 0.8:
            values[defs["Employees"].uuid] = self.rint(1, 250)
        if self.rand() < 0.5:
            values[defs["Newsletter"].uuid] = True
        if self.rand() < 0.6:
            values[defs["Engagement Signed"].uuid] = self.when(10, 900).date().isoformat()

    def contacts_for(
        self,
        client: Client,
        kind: str,
        special: str,
        country: str,
        *,
        director: Contact,
        spouse: Contact,
        dup: tuple[str, str, str],
        first_block: bool,
    ) -> list[ContactLink]:
        dup_first, dup_last, dup_email = dup
        if special == "director-a":
            return [
                ContactLink(director.uuid, "Director", True),
                ContactLink(self.new_contact(country).uuid, "Bookkeeper", False),
            ]
        if special == "director-b":
            # The shared director is not the primary contact here: the office manager is.
            return [
                ContactLink(self.new_contact(country).uuid, "Office Manager", True),
                ContactLink(director.uuid, "Director", False),
            ]
        if special == "director-self":
            return [ContactLink(director.uuid, "", True)]
        if special in ("family-trust", "family-super"):
            return [
                ContactLink(director.uuid, "Trustee", True),
                ContactLink(spouse.uuid, "Trustee", False),
            ]
        if special == "dup-email-a":
            # "Alex.Morgan@..." here, "alex.morgan@..." on another client's contact.
            proper = dup_email.split("@")[0].split(".")
            mixed = ".".join(part.capitalize() for part in proper) + "@" + dup_email.split("@")[1]
            partner = self.contact(dup_first, dup_last, email=mixed, country=country)
            other = self.new_contact(country)
            return [
                ContactLink(partner.uuid, "Partner", True),
                ContactLink(other.uuid, "Partner", False),
            ]
        if special == "dup-email-b":
            same = self.contact(dup_first, dup_last, email=dup_email, country=country)
            return [ContactLink(same.uuid, "", True)]
        if special == "no-email":
            owner = self.new_contact(country)
            helper = self.new_contact(country, no_email=True)
            return [
                ContactLink(owner.uuid, "Owner", True),
                ContactLink(helper.uuid, "Bookkeeper", False),
            ]
        if kind == "individual":
            first, _, last = client.name.partition(" ")
            person = self.contact(first, last, country=country, no_email=self.rand() < 0.08)
            return [ContactLink(person.uuid, "", True)]
        if kind in ("company",):
            count = self.pick((1, 1, 2, 2, 3))
        elif kind in ("partnership", "trust", "super_fund"):
            count = 2
        else:
            count = self.pick((1, 1, 2))
        links = []
        for index in range(count):
            person = self.new_contact(country, no_email=self.rand() < 0.08)
            position = (
                "Partner"
                if kind == "partnership"
                else ("Trustee" if kind in ("trust", "super_fund") else self.pick(POSITIONS))
            )
            links.append(ContactLink(person.uuid, position, index == 0))
        return links

    def new_contact(self, country: str, *, no_email: bool = False) -> Contact:
        first, last = self.person_name()
        return self.contact(first, last, country=country, no_email=no_email)

    def relate_family(self, made: list[Client], family_group: ClientGroup) -> None:
        """Relationships, billing and group membership between a block's family clients."""
        state = self.state
        family = [c for c in made[:5]]
        if len(family) >= 2:
            state.groups[family_group.uuid] = family_group
            family_group.client_uuids.extend(client.uuid for client in family)
        if len(made) >= 3:
            person = made[2]
            for company in made[:2]:
                person.relationships.append(
                    Relationship(
                        uuid=self.uuid(),
                        type="Director",
                        related_client_uuid=company.uuid,
                        start_date=date(2015 + self.rint(0, 8), 7, 1),
                    )
                )
            person.relationships.append(
                Relationship(
                    uuid=self.uuid(),
                    type="Shareholder",
                    related_client_uuid=made[0].uuid,
                    number_of_shares=1000,
                    start_date=date(2016, 7, 1),
                )
            )
        if len(made) >= 4:
            made[2].relationships.append(
                Relationship(
                    uuid=self.uuid(),
                    type="Trustee",
                    related_client_uuid=made[3].uuid,
                    start_date=date(2018, 1, 15),
                )
            )
            made[3].billing_client_uuid = made[2].uuid
        payroll = next(g for g in state.groups.values() if g.name == "Monthly Payroll")
        for client in made:
            if (
                client.business_structure == "Company"
                and not client.is_archived
                and self.rand() < 0.4
            ):
                # Appended directly: the membership check in add_group_member is linear and
                # this group grows with the practice. reindex() runs at the end.
                payroll.client_uuids.append(client.uuid)

    def leads(self, made: list[Client]) -> None:
        state = self.state
        categories = list(state.lead_categories.values())
        plans = []
        if len(made) > 7:
            plans.append(
                (made[7], "Website enquiry: individual tax return", "Current", categories[0])
            )
        if len(made) > 13:
            plans.append((made[13], "Referral: company restructure", "Won", categories[1]))
        for client, name, lead_state, category in plans:
            owner = self.pick(self.staff)
            created = self.when(1, 60)
            primary = next((link for link in client.contacts if link.is_primary), None)
            lead = Lead(
                uuid=self.uuid(),
                name=name,
                client_uuid=client.uuid,
                owner_uuid=owner.uuid,
                created_at=created,
                description="Enquiry received through the website form.",
                state=lead_state,
                estimated_value=str(self.pick((500, 1500, 4000, 12000))),
                contact_uuid=primary.contact_uuid if primary else None,
                category_uuid=category.uuid,
                date_won_lost=created + timedelta(days=7) if lead_state == "Won" else None,
                activities=[
                    LeadActivity(
                        created + timedelta(days=2),
                        "Call to discuss scope",
                        owner.uuid,
                        completed=lead_state == "Won",
                    )
                ],
                history=[LeadHistoryItem(f"Created by {owner.name}", created, owner.name)],
            )
            state.leads[lead.uuid] = lead


def generate_practice(
    clients: int = 25, seed: int = 1, *, now: datetime | None = None
) -> PracticeState:
    """Generate a practice with ``clients`` clients; the same seed gives the same practice.

    ``now`` anchors every generated timestamp (default: 2025-07-01 09:00 UTC), so records
    look old to a sandbox running on the real clock.
    """
    if clients < 0:
        raise ValueError("clients must not be negative")
    # Hundreds of thousands of small objects and nothing cyclic to collect: pausing the
    # cyclic GC halves the time a 50,000-client practice takes.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        builder = _Builder(seed, now or ANCHOR)
        builder.reference_data()
        full, rest = divmod(clients, BLOCK_SIZE)
        for block_index in range(full):
            builder.block(block_index, BLOCK_SIZE)
        if rest:
            builder.block(full, rest)
        builder.state.reindex()
        return builder.state
    finally:
        if gc_was_enabled:
            gc.enable()
