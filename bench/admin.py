"""Admin at scale benchmark: the contacts listing, the segment builder and the contact
downloads over 100,000 contacts.

    .venv/bin/python bench/admin.py [--contacts 100000] [--clients 60000] [--repeat 7]
                                    [--db sqlite|postgres] [--postgres URL] [--keep]
                                    [--json PATH]

* Migrates a throwaway SQLite file under ``var/bench/`` (``--db sqlite``, the default) or a
  throwaway ``test_*`` database on a PostgreSQL server (``--db postgres``: ``DATABASE_URL``
  when it names one, else ``--postgres``, by default the CI's local server), and
  bulk-inserts a practice: ``--clients`` XPM clients and ``--contacts`` contacts (one in ten
  linked to a second client) with eight mapped fields (account managers, balance months,
  plan levels, structures, GST, groups, fees, tax numbers), whose filter values are kept
  as a sync keeps them (wagtail_xpm/fieldvalues.py).
* Requests each admin page and endpoint as a superuser through Django's test client: the
  contacts listing (page 1, a deep page, a mapped-field filter, a search, sorted by name),
  the segment builder's fields, count (primary and "any linked client") and preview, a
  contact's page and the Sync page. Prints the median server time of ``--repeat`` requests
  after a warm-up and the queries one request makes (targets: < 300 ms, <= 25 queries).
* Downloads the listing as CSV, streamed (the background threshold lifted for the run):
  time to the first byte, the whole file, and the peak of Python allocations while it is
  read (tracemalloc; target < 100 MB, i.e. flat: the rows are never all in memory). Then
  writes the same rows as a background Excel export (wagtail_xpm/contacts/bulkexport.py, in this
  process as the Huey worker would): its time and allocation peak.

Prints figures against the targets; it is not a pass/fail test. ``--json PATH`` also writes
them there for ``bench/report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from harness import bench_database
from reporting import Figure, write_result

TARGET_PAGE_MS = 300.0
TARGET_QUERIES = 25
TARGET_FIRST_BYTE_S = 1.0
TARGET_MEMORY_MB = 100.0
DEFAULT_POSTGRES = "postgres://postgres:postgres@127.0.0.1:5432/wagtail_xpm"

MANAGERS = ("John Smith", "Aroha Ngata", "Jo Bloggs", "Liam O'Connor", "Mei Chen",
            "Priya Patel", "Sam Taylor", "Ana Silva")  # fmt: skip
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
PLANS = ("Gold", "Silver", "Bronze")
STRUCTURES = ("Company", "Individual", "Partnership", "Trust", "Sole Trader", "Charity")
FIRST = ("Aroha", "Ben", "Chloe", "Daniel", "Ella", "Finn", "Grace", "Hemi", "Isla", "Jack",
         "Kiri", "Liam", "Mia", "Noah", "Olivia", "Pita", "Quinn", "Ruby", "Sam",
         "Tama")  # fmt: skip
LAST = ("Smith", "Williams", "Brown", "Wilson", "Taylor", "Ngata", "Patel", "Chen", "Singh",
        "Walker", "Harris", "Martin", "King", "Lee", "Wright", "Parata", "Clarke", "Young",
        "Thompson", "Scott", "Green", "Baker", "Hall", "Campbell")  # fmt: skip
MAPPINGS = [
    ("AccountManager", "account_manager", "Account Manager", "choice", []),
    ("BalanceMonth", "balance_month", "Balance Month", "month", list(MONTHS)),
    ("custom:Plan Level", "plan_level", "Plan Level", "choice", list(PLANS)),
    ("BusinessStructure", "business_structure", "Business Structure", "choice", []),
    ("GSTRegistered", "gst_registered", "GST Registered", "boolean", []),
    ("Groups", "groups", "Client Groups", "list", []),
    ("custom:Annual Fee", "fee", "Annual Fee", "number", []),
    ("TaxNumber", "tax_number", "Tax Number", "text", []),
]
RULES = [
    {"field": "account_manager", "op": "eq", "value": "John Smith"},
    {"field": "balance_month", "op": "eq", "value": "June"},
    {"field": "plan_level", "op": "in", "value": ["Gold", "Silver"]},
]
BATCH = 5000
# The pages shown in docs/benchmarks.md's "At a glance" table (the rest in the section).
HEADLINE_PAGES = ("contacts listing, page 1", "segment builder: fields")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default="postgres"
        if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
        else "sqlite",
    )
    parser.add_argument(
        "--postgres", metavar="URL", default=DEFAULT_POSTGRES,
        help="the server for --db postgres when DATABASE_URL names none (a throwaway "
             "test_ database is made there)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there as JSON")
    args = parser.parse_args()
    if args.clients > args.contacts:
        parser.error("--clients may be at most --contacts")
    if args.db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    elif not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        os.environ["DATABASE_URL"] = args.postgres

    with bench_database("admin", keep=args.keep):
        import logging

        logging.getLogger("huey").setLevel(logging.WARNING)
        logging.getLogger("django.request").setLevel(logging.ERROR)
        figures, context = run(args)
        if args.json:
            write_json(args.json, figures, context)
    return 0


# --- building the practice ------------------------------------------------------------------


def client_data(i: int) -> dict[str, Any]:
    return {
        "account_manager": MANAGERS[i % len(MANAGERS)],
        "balance_month": MONTHS[(i // 7) % 12],
        "plan_level": PLANS[(i // 3) % 3],
        "business_structure": STRUCTURES[(i // 5) % len(STRUCTURES)],
        "gst_registered": i % 4 != 0,
        "groups": ["Newsletter"] if i % 9 == 0 else ["Tax", "Payroll"],
        "fee": (i * 37) % 5000,
        "tax_number": f"{100 + i % 900:03d}-{(i * 7919) % 1000:03d}-{i % 1000:03d}",
    }


def person_name(i: int) -> str:
    # Not in id order, so sorting by name is real work.
    return f"{FIRST[(i * 7) % len(FIRST)]} {LAST[(i * 11) % len(LAST)]} {(i * 7919) % 100003}"


def build(contacts: int, clients: int):
    from django.contrib.auth import get_user_model
    from wagtail.models import Site

    from wagtail_xpm import fieldvalues
    from wagtail_xpm.models import (
        Contact,
        ContactClientLink,
        FieldMapping,
        PracticeClient,
        XpmConnection,
    )

    site = Site.objects.get(is_default_site=True)
    connection = XpmConnection.objects.create(site=site, status="connected", tenant_name="Bench")
    FieldMapping.objects.bulk_create(
        FieldMapping(connection=connection, source=source, key=key, label=label,
                     value_type=value_type, choices=choices, sort_order=i)
        for i, (source, key, label, value_type, choices) in enumerate(MAPPINGS)
    )  # fmt: skip
    client_ids: list[int] = []
    for start in range(0, clients, BATCH):
        made = PracticeClient.objects.bulk_create(
            PracticeClient(connection=connection, uuid=f"client-{i}", name=f"Client {i} Ltd",
                           data=client_data(i), is_archived=i % 50 == 7)
            for i in range(start, min(start + BATCH, clients))
        )  # fmt: skip
        client_ids += [c.pk for c in made] if made and made[0].pk else list(
            PracticeClient.objects.filter(connection=connection, uuid__in=[c.uuid for c in made])
            .order_by("pk").values_list("pk", flat=True)
        )  # fmt: skip
    for start in range(0, contacts, BATCH):
        people = []
        for i in range(start, min(start + BATCH, contacts)):
            c = i % clients
            people.append(
                Contact(connection=connection, name=person_name(i),
                        email=f"person{i:06d}@example.com", email_key=f"person{i:06d}@example.com",
                        client_name=f"Client {c} Ltd", primary_client_id=client_ids[c],
                        xpm_client_id=f"client-{c}", xpm_contact_id=f"contact-{i}",
                        data=client_data(c), subscribed=i % 33 != 0, is_archived=c % 50 == 7)
            )  # fmt: skip
        Contact.objects.bulk_create(people)
        ids = dict(
            Contact.objects.filter(connection=connection, xpm_contact_id__in=[p.xpm_contact_id
                                                                             for p in people])
            .values_list("xpm_contact_id", "pk")
        )  # fmt: skip
        links = []
        for i in range(start, min(start + BATCH, contacts)):
            contact_id = ids[f"contact-{i}"]
            links.append(ContactClientLink(contact_id=contact_id, client_id=client_ids[i % clients],
                                           is_primary=True))  # fmt: skip
            if i % 10 == 5:  # one in ten also belongs to another client
                other = client_ids[(i + 1) % clients]
                links.append(ContactClientLink(contact_id=contact_id, client_id=other))
        ContactClientLink.objects.bulk_create(links, ignore_conflicts=True)
    # What the end of a sync run does (wagtail_xpm/sync/runs.py).
    fieldvalues.refresh(connection.pk)
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    return connection, user


# --- timing ---------------------------------------------------------------------------------


class RssGrowth:
    """The most the process's resident memory grew above where it started, sampled every
    10 ms from /proc (ru_maxrss would report the bench's own earlier peak instead)."""

    def __enter__(self) -> RssGrowth:
        self.start = self.peak = self.rss()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def mb(self) -> float:
        return (self.peak - self.start) / 1024 / 1024

    def sample(self) -> None:
        while not self.done.wait(0.01):
            self.peak = max(self.peak, self.rss())

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = fn()  # warm-up (and the value checked)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def line(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<52} {value:>12}  {note}")


def verdict(value: float, target: float, op: str = "<") -> str:
    met = value < target if op == "<" else value <= target
    return "met" if met else "MISSED"


def write_json(path: str, figures: list[Figure], context: dict[str, Any]) -> None:
    write_result(
        path,
        benchmark="admin",
        title="Admin at scale",
        about=(
            f"A practice of {context['contacts']:,} contacts and {context['clients']:,} XPM "
            "clients with eight mapped fields: each admin page and endpoint requested as a "
            "superuser through Django's test client (the median server time of "
            f"{context['repeat']} requests after a warm-up, and the queries of one), then the "
            "contacts listing downloaded as a streamed CSV (time to the first byte, the "
            "allocation peak while it is read) and written as a background Excel export."
        ),
        figures=figures,
        context=context,
    )


def run(args: argparse.Namespace) -> tuple[list[Figure], dict[str, Any]]:
    from django.core.management import call_command
    from django.db import connection as db

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    connection, user = build(args.contacts, args.clients)
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")
    build_s = time.perf_counter() - started
    print(f"wagtail-xpm admin bench on {db.vendor} ({args.contacts:,} contacts, "
          f"{args.clients:,} clients, built and migrated in {build_s:.1f} s)")  # fmt: skip
    figures = page_figures(connection, user, args) + export_figures(connection, user, args)
    context = {"db": db.vendor, "contacts": args.contacts, "clients": args.clients,
               "repeat": args.repeat, "build_seconds": build_s}  # fmt: skip
    return figures, context


def page_figures(connection, user, args: argparse.Namespace) -> list[Figure]:
    from django.db import connection as db
    from django.db import reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from wagtail_xpm.models import Contact, SyncRun

    client = Client()
    client.force_login(user)
    SyncRun.objects.create(connection=connection, trigger="cli", status="succeeded")
    contact = Contact.objects.order_by("pk")[args.contacts // 2]
    listing = reverse("wagtail_xpm_contact:index")
    builder = {"connection": connection.pk, "definition": json.dumps({"rules": RULES})}
    any_client = {**builder, "definition": json.dumps({"rules": RULES, "client_scope": "any"})}
    deep_page = max(1, args.contacts // 50 // 2)
    pages = [
        ("contacts listing, page 1", listing, {}),
        (f"contacts listing, page {deep_page:,}", listing, {"p": deep_page}),
        ("contacts listing, a mapped-field filter", listing,
         {"data__account_manager": "John Smith"}),
        ("contacts listing, a search", listing, {"q": "Grace Parata"}),
        ("contacts listing, sorted by name (descending)", listing, {"ordering": "-name"}),
        ("segment builder: fields", reverse("wagtail_xpm_segments:builder_fields"),
         {"connection": connection.pk}),
        ("segment builder: count", reverse("wagtail_xpm_segments:builder_count"), builder),
        ("segment builder: count, any linked client",
         reverse("wagtail_xpm_segments:builder_count"), any_client),
        ("segment builder: preview", reverse("wagtail_xpm_segments:builder_preview"), builder),
        ("a contact's page", reverse("wagtail_xpm_contact:inspect", args=[contact.pk]), {}),
        ("the Sync page", reverse("wagtail_xpm_sync:site", args=[connection.site_id]), {}),
    ]  # fmt: skip
    print(f"\nAdmin pages and endpoints (median of {args.repeat} after a warm-up)")
    figures = []
    for label, url, params in pages:

        def get(url=url, params=params):
            response = client.get(url, params)
            assert response.status_code == 200, (url, params, response.status_code)
            return response

        reset_queries()
        with CaptureQueriesContext(db) as queries:
            get()
        count = len(queries)  # now: the next request empties the log
        ms, _response = median_ms(get, args.repeat)
        line(label, f"{ms:.1f} ms", f"{count} queries; target < {TARGET_PAGE_MS:.0f} ms and "
             f"<= {TARGET_QUERIES} queries: {verdict(ms, TARGET_PAGE_MS)}, "
             f"{verdict(count, TARGET_QUERIES, '<=')}")  # fmt: skip
        figures += [
            Figure(f"{label}, median", ms, "ms", target=TARGET_PAGE_MS,
                   headline=label in HEADLINE_PAGES),
            Figure(f"{label}, queries", count, "queries", target=TARGET_QUERIES,
                   target_op="<="),
        ]  # fmt: skip
    return figures


def export_figures(connection, user, args: argparse.Namespace) -> list[Figure]:

    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from wagtail_xpm.contacts import bulkexport
    from wagtail_xpm.contacts.admin.downloads import listed_contacts
    from wagtail_xpm.models import ContactExport

    # The whole practice streamed, past the background threshold (lifted for this run).
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "EXPORT_STREAM_MAX_ROWS": 10**9}
    client = Client()
    client.force_login(user)
    url = reverse("wagtail_xpm_contact:index")

    def download(traced: bool) -> tuple[float, float, int, float]:
        if traced:
            tracemalloc.start()
        with RssGrowth() as rss:
            started = time.perf_counter()
            response = client.get(url, {"export": "csv"})
            chunks = iter(response.streaming_content)
            size = len(next(chunks))
            first_byte = time.perf_counter() - started
            lines = 1
            for chunk in chunks:
                size += len(chunk)
                lines += 1
            total = time.perf_counter() - started
        peak = 0.0
        if traced:
            peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
            tracemalloc.stop()
        assert lines == args.contacts + 1, lines
        return first_byte, total, size, peak if traced else rss.mb

    first_byte, total, size, rss_growth = download(traced=False)
    _fb, _total, _size, peak = download(traced=True)

    print(f"\nContacts listing as CSV, streamed ({args.contacts:,} rows, {size / 1e6:.1f} MB)")
    met = verdict(first_byte, TARGET_FIRST_BYTE_S)
    line("time to the first byte", f"{first_byte * 1000:.0f} ms",
         f"target < {TARGET_FIRST_BYTE_S:.0f} s: {met}")  # fmt: skip
    line("the whole file", f"{total:.1f} s", f"{args.contacts / total:,.0f} rows/s")
    line("allocation peak while it is read (tracemalloc)", f"{peak:.1f} MB",
         f"target < {TARGET_MEMORY_MB:.0f} MB: {verdict(peak, TARGET_MEMORY_MB)}")  # fmt: skip
    line("resident memory growth while it is read", f"{rss_growth:.1f} MB")

    # The background Excel export, run here as the Huey worker would run it (untraced:
    # tracemalloc slows openpyxl tenfold; the process's resident memory tells instead).
    export = ContactExport.objects.create(
        user=user, format="xlsx", params={"query": {"export": ["xlsx"]}},
        expires_at=time_from_now(),
    )  # fmt: skip
    with RssGrowth() as rss:
        started = time.perf_counter()
        bulkexport.write(export, listed_contacts(user, export.params["query"]))
        xlsx_s = time.perf_counter() - started
    xlsx_rss = rss.mb
    assert export.status == "done" and export.rows_done == args.contacts, export.message
    bulkexport.expire(time_from_now(days=2))
    line("background Excel export (worker)", f"{xlsx_s:.1f} s",
         f"resident memory growth {xlsx_rss:.1f} MB (openpyxl write-only)")  # fmt: skip
    return [
        Figure("CSV export, time to the first byte", first_byte * 1000, "ms",
               target=TARGET_FIRST_BYTE_S * 1000, headline=True,
               note=f"{args.contacts:,} rows streamed"),
        Figure("CSV export, the whole file", total, "s",
               note=f"{size / 1e6:.1f} MB, {args.contacts / total:,.0f} rows/s"),
        Figure("CSV export, allocation peak", peak, "MB", target=TARGET_MEMORY_MB,
               headline=True, note="tracemalloc while the whole file is read"),
        Figure("CSV export, resident memory growth", rss_growth, "MB",
               target=TARGET_MEMORY_MB, note="untraced download, sampled every 10 ms"),
        Figure("background Excel export (worker)", xlsx_s, "s",
               note="openpyxl write-only mode, outside any web request"),
        Figure("background Excel export, resident memory growth", xlsx_rss, "MB",
               target=TARGET_MEMORY_MB),
    ]  # fmt: skip


def time_from_now(**delta):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(**(delta or {"hours": 1}))


if __name__ == "__main__":
    sys.exit(main())
