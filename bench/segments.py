"""Segments and campaigns benchmark: count and preview over 100,000 contacts, and a
10,000-recipient send.

    .venv/bin/python bench/segments.py [--contacts 100000] [--recipients 10000]
                                       [--repeat 7] [--keep] [--json PATH]

* Migrates a throwaway SQLite file under ``var/bench/`` (or a throwaway test database on
  ``DATABASE_URL`` when set) and bulk-inserts a practice: ``--contacts`` contacts, each
  linked to an XPM client (one in ten to a second one) with mapped values (8 account
  managers, 12 balance months, plan levels, groups...).
* Segment "Account Manager = John Smith, Balance Month = June, Plan Level in (Gold,
  Silver)": times the member count (one query), the first preview page (11 rows by name)
  and the builder's whole count endpoint (validation included), each as the median of
  ``--repeat`` runs after a warm-up; the same count with client_scope "any" (one EXISTS per
  rule); and two floors: a plain ``COUNT(*)`` of the practice's contacts, and a hand-written
  SQL count with the same three JSON conditions (no trimming or case folding).
* Sends a campaign to ``--recipients`` people through the locmem email backend, emptying its
  outbox after each batch (so the backend's own storage does not count), timing the
  snapshot and the send; then measures the Python allocation peak (tracemalloc) of a send to
  a fifth as many and to all of them: flat memory means the two peaks are about the same.
  The floor is rendering and handing the same messages to the backend with no database.
* Sends the same campaign through django-anymail's Mailgun backend to a stand-in of
  Mailgun's API on loopback (``wagtail_xpm/sandbox/esp.py``, waitress, keep-alive, in a
  process of its own as a real ESP is): one HTTP call per email, as a site on Mailgun
  makes them; times it against rendering alone
  (the messages built, nothing sent) and measures the allocation peak of an ESP send to
  ``--esp-sample`` people and to five times as many (flat memory: about the same).
  ``--no-esp`` leaves it out.

Prints figures against the targets (count < 150 ms, preview < 300 ms, send < 60 s on SQLite);
it is not a pass/fail test. ``--json PATH`` also writes them there for ``bench/report.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from harness import bench_database
from reporting import Figure, write_result

TARGET_COUNT_MS = 150.0
TARGET_PREVIEW_MS = 300.0
TARGET_SEND_S = 60.0

MANAGERS = ("John Smith", "Aroha Ngata", "Jo Bloggs", "Liam O'Connor", "Mei Chen",
            "Priya Patel", "Sam Taylor", "Ana Silva")  # fmt: skip
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
PLANS = ("Gold", "Silver", "Bronze")
RULES = [
    {"field": "account_manager", "op": "eq", "value": "John Smith"},
    {"field": "balance_month", "op": "eq", "value": "June"},
    {"field": "plan_level", "op": "in", "value": ["Gold", "Silver"]},
]
MAPPINGS = [
    ("AccountManager", "account_manager", "Account Manager", "choice", []),
    ("BalanceMonth", "balance_month", "Balance Month", "month", list(MONTHS)),
    ("custom:Plan Level", "plan_level", "Plan Level", "choice", list(PLANS)),
    ("GSTRegistered", "gst_registered", "GST Registered", "boolean", []),
    ("Groups", "groups", "Client Groups", "list", []),
    ("custom:Annual Fee", "fee", "Annual Fee", "number", []),
]
BATCH = 5000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there as JSON")
    parser.add_argument("--no-esp", action="store_true", help="skip the send through anymail")
    parser.add_argument(
        "--esp-sample", type=int, default=0, help="smaller memory run (default a tenth)"
    )
    args = parser.parse_args()
    if args.recipients * 10 > args.contacts:
        parser.error("--recipients may be at most a tenth of --contacts")

    with bench_database("segments", keep=args.keep):
        import logging

        from django.conf import settings

        logging.getLogger("huey").setLevel(logging.WARNING)
        from wagtail_xpm import mailer

        locmem = "django.core.mail.backends.locmem.EmailBackend"
        if mailer.has_mailers():  # Django 6.1+: MAILERS replaces EMAIL_BACKEND
            settings.MAILERS = {"default": {"BACKEND": locmem}}
        else:
            settings.EMAIL_BACKEND = locmem
        figures, context = run(args)
        if args.json:
            write_json(args.json, figures, context)
    return 0


# --- building the practice ------------------------------------------------------------------


def build(contacts: int, recipients: int):
    from wagtail.models import Site

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
    newsletter_every = contacts // recipients
    for start in range(0, contacts, BATCH):
        stop = min(start + BATCH, contacts)
        clients = []
        for i in range(start, stop):
            data = {
                "account_manager": MANAGERS[i % len(MANAGERS)],
                "balance_month": MONTHS[(i // 7) % 12],
                "plan_level": PLANS[(i // 3) % 3],
                "gst_registered": i % 4 != 0,
                "fee": (i * 37) % 5000,
                "groups": ["Newsletter"] if i % newsletter_every == 0 else ["Tax", "Payroll"],
            }
            clients.append(
                PracticeClient(
                    connection=connection,
                    uuid=f"client-{i}",
                    name=f"Client {i} Ltd",
                    data=data,
                    is_archived=_archived(i, newsletter_every),
                )  # fmt: skip
            )
        PracticeClient.objects.bulk_create(clients)
        ids = dict(
            PracticeClient.objects.filter(uuid__in=[c.uuid for c in clients]).values_list(
                "uuid", "pk"
            )
        )
        people = []
        for offset, client in enumerate(clients):
            i = start + offset
            people.append(
                Contact(
                    connection=connection,
                    name=f"Person {i:06d}",
                    email=_email(i, newsletter_every),
                    email_key=_email(i, newsletter_every).lower(),
                    client_name=client.name,
                    primary_client_id=ids[client.uuid],
                    xpm_client_id=client.uuid,
                    xpm_contact_id=f"contact-{i}",
                    data=client.data,
                    subscribed=i % newsletter_every == 0 or i % 33 != 0,
                    is_archived=client.is_archived,
                )  # fmt: skip
            )
        Contact.objects.bulk_create(people)
        contact_ids = dict(
            Contact.objects.filter(xpm_contact_id__in=[p.xpm_contact_id for p in people])
            .values_list("xpm_contact_id", "pk")
        )  # fmt: skip
        links = [
            ContactClientLink(contact_id=contact_ids[f"contact-{start + o}"],
                              client_id=ids[c.uuid], is_primary=True)
            for o, c in enumerate(clients)
        ]  # fmt: skip
        # One in ten people also belongs to the previous client (a second company).
        links += [
            ContactClientLink(contact_id=contact_ids[f"contact-{start + o}"],
                              client_id=ids[clients[o - 1].uuid])
            for o in range(1, len(clients)) if (start + o) % 10 == 5
        ]  # fmt: skip
        ContactClientLink.objects.bulk_create(links)
    return connection


def _archived(i: int, newsletter_every: int) -> bool:
    return i % newsletter_every != 0 and i % 50 == 7


def _email(i: int, newsletter_every: int) -> str:
    if i % newsletter_every != 0 and i % 45 == 11:
        return ""
    return f"person{i:06d}@example.com"


# --- timing ---------------------------------------------------------------------------------


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = fn()  # warm-up (and the value reported)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def line(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<46} {value:>12}  {note}")


def write_json(path: str, figures: list[Figure], context: dict[str, Any]) -> None:
    write_result(
        path,
        benchmark="segments",
        title="Segments and campaigns",
        about=(
            f"A practice of {context['contacts']:,} contacts: a three-rule segment's member "
            "count and first preview page (medians), held against a plain `COUNT(*)` and a "
            "hand-written SQL count of the same rules; then a campaign sent to "
            f"{context['recipients']:,} recipients through the locmem backend, held against "
            "rendering the same messages with no database, and its memory, which should stay "
            "flat as the list grows."
        ),
        figures=figures,
        context=context,
    )


def run(args: argparse.Namespace) -> tuple[list[Figure], dict[str, Any]]:
    from django.core.management import call_command
    from django.db import connection as db

    from wagtail_xpm.models import Contact

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    connection = build(args.contacts, args.recipients)
    build_s = time.perf_counter() - started
    total = Contact.objects.filter(connection=connection).count()
    print(f"wagtail-xpm segments bench on {db.vendor} ({total:,} contacts, built and migrated "
          f"in {build_s:.1f} s)")  # fmt: skip
    figures = segment_figures(connection, args) + send_figures(connection, args)
    if not args.no_esp:
        figures += esp_figures(connection, args)
    context = {"db": db.vendor, "contacts": total, "recipients": args.recipients,
               "repeat": args.repeat, "build_seconds": build_s}  # fmt: skip
    return figures, context


def segment_figures(connection, args: argparse.Namespace) -> list[Figure]:
    import json

    from django.contrib.auth import get_user_model
    from django.db import connection as db
    from django.test import RequestFactory

    from wagtail_xpm.models import Contact
    from wagtail_xpm.segments.admin import views as segment_views
    from wagtail_xpm.segments.compile import Definition, members

    definition = Definition(RULES)
    count_ms, count = median_ms(lambda: members(connection, definition).count(), args.repeat)
    preview_ms, rows = median_ms(
        lambda: list(
            members(connection, definition)
            .order_by("name", "pk")
            .values("pk", "name", "email", "client_name", "subscribed", "is_archived", "data")[:11]
        ),
        args.repeat,
    )
    any_definition = Definition(RULES, client_scope="any")
    any_ms, any_count = median_ms(
        lambda: members(connection, any_definition).count(), max(3, args.repeat // 2)
    )
    floor_ms, _ = median_ms(
        lambda: Contact.objects.filter(connection=connection).count(), args.repeat
    )
    extract = "(data->>'{key}')" if db.vendor == "postgresql" else "JSON_EXTRACT(data, '$.{key}')"
    json_sql = (
        "SELECT COUNT(*) FROM wagtail_xpm_contact WHERE connection_id = %s AND NOT is_archived "
        f"AND {extract.format(key='account_manager')} = 'John Smith' "
        f"AND {extract.format(key='balance_month')} = 'June' "
        f"AND {extract.format(key='plan_level')} IN ('Gold', 'Silver')"
    )

    def raw_count() -> int:
        with db.cursor() as cursor:
            cursor.execute(json_sql, [connection.pk])
            return cursor.fetchone()[0]

    raw_ms, raw = median_ms(raw_count, args.repeat)

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    request = RequestFactory().get(
        "/", {"connection": connection.pk, "definition": json.dumps({"rules": RULES})}
    )
    request.user = user
    endpoint_ms, response = median_ms(lambda: segment_views.builder_count(request), args.repeat)
    assert json.loads(response.content)["count"] == count

    described = " and ".join(f"{r['field']} {r['op']} {r['value']}" for r in RULES)
    print(f"\nSegment: {described}")
    line("members (primary client)", f"{count:,}", f"(hand-written SQL: {raw:,}, "
         "which folds no case and trims nothing)")  # fmt: skip
    line(
        "count, median",
        f"{count_ms:.1f} ms",
        f"target < {TARGET_COUNT_MS:.0f} ms: {'met' if count_ms < TARGET_COUNT_MS else 'MISSED'}",
    )
    line(
        "first preview page (11 rows by name), median",
        f"{preview_ms:.1f} ms",
        f"target < {TARGET_PREVIEW_MS:.0f} ms: "
        f"{'met' if preview_ms < TARGET_PREVIEW_MS else 'MISSED'} ({len(rows)} rows)",
    )
    line("builder count endpoint (validation + 1 query)", f"{endpoint_ms:.1f} ms")
    line(
        "count with client_scope 'any' (EXISTS x3)", f"{any_ms:.1f} ms", f"({any_count:,} members)"
    )
    line(
        "floor: plain COUNT(*) of the practice",
        f"{floor_ms:.1f} ms",
        f"count is {count_ms / floor_ms:.1f}x this",
    )
    line("floor: hand-written JSON SQL, same 3 rules", f"{raw_ms:.1f} ms",
         f"count is {count_ms / raw_ms:.2f}x this")  # fmt: skip
    return [
        Figure("segment members", count, "contacts", note=described),
        Figure("member count, median", count_ms, "ms", target=TARGET_COUNT_MS,
               floor=raw_ms, floor_name="hand-written SQL, same 3 rules", headline=True,
               note=f"{count_ms / floor_ms:.1f}x a plain COUNT(*) ({floor_ms:.1f} ms)"),
        Figure("first preview page (11 rows by name), median", preview_ms, "ms",
               target=TARGET_PREVIEW_MS, headline=True),
        Figure("builder count endpoint, median", endpoint_ms, "ms",
               note="validation + 1 query"),
        Figure("count with client_scope 'any', median", any_ms, "ms",
               note=f"{any_count:,} members, one EXISTS per rule"),
    ]  # fmt: skip


def send_figures(connection, args: argparse.Namespace) -> list[Figure]:
    import resource

    from django.core import mail

    from wagtail_xpm import mailer
    from wagtail_xpm.campaigns.render import CampaignRenderer, build_message, contact_values
    from wagtail_xpm.campaigns.send import Sender
    from wagtail_xpm.campaigns.snapshot import take_snapshot
    from wagtail_xpm.campaigns.unsubscribe import make_token, unsubscribe_url
    from wagtail_xpm.models import Campaign, Segment

    segment = Segment.objects.create(
        connection=connection, name="Newsletter",
        rules=[{"field": "groups", "op": "contains", "value": "Newsletter"}],
    )  # fmt: skip
    body = (
        "<h2>June update</h2><p>Dear {{ first_name|client }},</p><p>Your balance month is "
        "{{ balance_month }} and {{ account_manager }} looks after you.</p>"
        '<ul><li>Tax</li><li>Payroll</li></ul><p><a href="/contact/">Talk to us</a></p>'
    )

    def campaign() -> Campaign:
        return Campaign.objects.create(
            connection=connection, segment=segment, name="Bench", subject="Hi {{ first_name }}",
            from_email="Bench <bench@example.com>", body=body, status=Campaign.Status.QUEUED,
        )  # fmt: skip

    delivered = 0

    def empty_outbox(_campaign) -> None:
        nonlocal delivered
        delivered += len(mail.outbox)
        mail.outbox.clear()

    mail.outbox = []
    first = campaign()
    started = time.perf_counter()
    take_snapshot(first)
    snapshot_s = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Sender(first.pk, after_batch=empty_outbox).run()
    send_s = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first.refresh_from_db()

    # Memory: the allocation peak of a send to a fifth of them and to all of them.
    peaks, snapshot_peaks = {}, {}
    for limit in (args.recipients // 5, args.recipients):
        small = Segment.objects.create(
            connection=connection, name=f"Newsletter {limit}",
            rules=[{"field": "groups", "op": "contains", "value": "Newsletter"},
                   {"field": "name", "op": "lte", "value": _nth_name(limit, args)}],
        )  # fmt: skip
        traced = Campaign.objects.create(
            connection=connection, segment=small, name="Traced", subject="Hi", body=body,
            status=Campaign.Status.QUEUED,
        )  # fmt: skip
        # The snapshot keeps a set of the addresses seen (to find duplicates): it grows
        # with the list by design, so it is measured on its own.
        tracemalloc.start()
        take_snapshot(traced)
        snapshot_peaks[limit] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
        tracemalloc.start()
        Sender(traced.pk, after_batch=lambda _c: mail.outbox.clear()).run()
        peaks[limit] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
        traced.refresh_from_db()
        assert traced.sent_count == limit, (traced.sent_count, limit)

    # Floor: render and hand the same number of messages to the backend, no database.
    renderer = CampaignRenderer(first, base_url="http://localhost")
    backend = mailer.open_backend()
    values = contact_values(
        name="Person 000001",
        email="p@example.com",
        data={"balance_month": "June", "account_manager": "John Smith"},
    )
    floor_started = time.perf_counter()
    for i in range(first.sent_count):
        link = unsubscribe_url("http://localhost", make_token(i, first.pk))
        backend.send_messages(
            [
                build_message(
                    renderer.render(values, link),
                    to="p@example.com",
                    unsubscribe_url=link,
                    campaign_id=first.pk,
                )
            ]
        )
        if i % 100 == 99:
            mail.outbox.clear()
    floor_s = time.perf_counter() - floor_started
    mail.outbox.clear()

    print(f"\nCampaign to {first.recipients_total:,} recipients (locmem backend, batches of "
          f"{Sender(first.pk).batch_size}, outcomes committed every "
          f"{Sender(first.pk).mark_every})")  # fmt: skip
    line(
        "sent / failed / left out",
        f"{first.sent_count:,} / {first.failed_count} / {first.excluded_count}",
        f"(backend received {delivered:,})",
    )
    line("snapshot (freeze the list)", f"{snapshot_s:.2f} s")
    line(
        "snapshot + send, total",
        f"{send_s:.1f} s",
        f"target < {TARGET_SEND_S:.0f} s: {'met' if send_s < TARGET_SEND_S else 'MISSED'}; "
        f"{send_s / max(first.sent_count, 1) * 1000:.2f} ms per email",
    )
    line(
        "floor: render + backend only, no database",
        f"{floor_s:.1f} s",
        f"send is {send_s / floor_s:.1f}x this",
    )
    small, large = peaks
    line(f"send loop allocation peak, {small:,} recipients", f"{peaks[small]:.2f} MB")
    line(
        f"send loop allocation peak, {large:,} recipients",
        f"{peaks[large]:.2f} MB",
        f"{peaks[large] / peaks[small]:.2f}x for {large // small}x the people (flat = ~1x)",
    )
    line(
        f"snapshot allocation peak, {small:,} / {large:,}",
        f"{snapshot_peaks[small]:.1f} / {snapshot_peaks[large]:.1f} MB",
        "(the duplicate-address set: ~100 bytes a recipient)",
    )
    line("peak RSS growth during the timed send", f"{rss_after - rss_before:.1f} MB")
    return [
        Figure("campaign sent", first.sent_count, "emails",
               note=f"{first.failed_count} failed, {first.excluded_count} left out"),
        Figure("snapshot (freeze the list)", snapshot_s, "s"),
        Figure("snapshot + send, total", send_s, "s", target=TARGET_SEND_S, floor=floor_s,
               floor_name="render + hand to the backend, no database", headline=True,
               note=f"{send_s / max(first.sent_count, 1) * 1000:.2f} ms per email"),
        Figure(f"send loop allocation peak, {large:,} recipients", peaks[large], "MB",
               floor=peaks[small], floor_name=f"the same for {small:,} recipients",
               note="flat memory: a ratio near 1 for 5x the people"),
        Figure(f"snapshot allocation peak, {large:,} recipients", snapshot_peaks[large], "MB",
               note="the duplicate-address set: grows with the list by design"),
        Figure("peak RSS growth during the timed send", rss_after - rss_before, "MB"),
    ]  # fmt: skip


def esp_figures(connection, args: argparse.Namespace) -> list[Figure]:
    """The campaign through django-anymail (Mailgun) to the ESP stand-in on loopback."""
    from django.conf import settings

    from wagtail_xpm import mailer
    from wagtail_xpm.campaigns.render import CampaignRenderer, build_message, contact_values
    from wagtail_xpm.campaigns.send import Sender
    from wagtail_xpm.campaigns.snapshot import take_snapshot
    from wagtail_xpm.campaigns.unsubscribe import make_token, unsubscribe_url
    from wagtail_xpm.models import Campaign, Segment
    from wagtail_xpm.sandbox.esp import StandInProcess

    # A process of its own, as a real ESP: its work is not timed as the sender's.
    server = StandInProcess(api_key="key-bench")
    anymail = "anymail.backends.mailgun.EmailBackend"
    saved = {name: getattr(settings, name, None) for name in ("ANYMAIL", "MAILERS")}
    settings.ANYMAIL = {
        "MAILGUN_API_KEY": "key-bench",
        "MAILGUN_API_URL": f"{server.url}/v3",
        "MAILGUN_SENDER_DOMAIN": "mg.bench.example",
    }
    if mailer.has_mailers():
        settings.MAILERS = {"default": {"BACKEND": anymail}}
    else:
        saved["EMAIL_BACKEND"] = settings.EMAIL_BACKEND
        settings.EMAIL_BACKEND = anymail
    body = (
        "<h2>June update</h2><p>Dear {{ first_name|client }},</p><p>Your balance month is "
        "{{ balance_month }} and {{ account_manager }} looks after you.</p>"
        '<ul><li>Tax</li><li>Payroll</li></ul><p><a href="/contact/">Talk to us</a></p>'
    )

    def campaign(segment, name: str) -> Campaign:
        return Campaign.objects.create(
            connection=connection, segment=segment, name=name, subject="Hi {{ first_name }}",
            from_email="Bench <bench@mg.bench.example>", body=body,
            status=Campaign.Status.QUEUED,
        )  # fmt: skip

    try:
        everyone = Segment.objects.get(connection=connection, name="Newsletter")
        timed = campaign(everyone, "ESP bench")
        started = time.perf_counter()
        take_snapshot(timed)
        Sender(timed.pk).run()
        esp_s = time.perf_counter() - started
        timed.refresh_from_db()
        calls = server.stats()["calls"]

        # Memory: the allocation peak of an ESP send to a sample and to five times as many.
        sample = args.esp_sample or max(100, args.recipients // 10)
        peaks = {}
        for limit in (sample, sample * 5):
            some = Segment.objects.create(
                connection=connection, name=f"ESP {limit}",
                rules=[{"field": "groups", "op": "contains", "value": "Newsletter"},
                       {"field": "name", "op": "lte", "value": _nth_name(limit, args)}],
            )  # fmt: skip
            traced = campaign(some, f"ESP traced {limit}")
            take_snapshot(traced)
            tracemalloc.start()
            Sender(traced.pk).run()
            peaks[limit] = tracemalloc.get_traced_memory()[1] / 1024 / 1024
            tracemalloc.stop()

        # Floor: rendering alone (each message built as the sender builds it, not sent).
        renderer = CampaignRenderer(timed, base_url="http://localhost")
        values = contact_values(
            name="Person 000001", email="p@example.com",
            data={"balance_month": "June", "account_manager": "John Smith"},
        )  # fmt: skip
        floor_started = time.perf_counter()
        for i in range(timed.sent_count):
            link = unsubscribe_url("http://localhost", make_token(i, timed.pk))
            build_message(
                renderer.render(values, link), to="p@example.com", unsubscribe_url=link,
                campaign_id=timed.pk,
            ).message()  # fmt: skip
        render_s = time.perf_counter() - floor_started
        accepted = server.stats()["accepted"]
    finally:
        server.stop()
        for name, value in saved.items():
            setattr(settings, name, value)

    per_email = esp_s / max(timed.sent_count, 1) * 1000
    print(f"\nCampaign to {timed.recipients_total:,} recipients through django-anymail "
          f"(Mailgun backend -> stand-in on loopback, one HTTP call per email)")  # fmt: skip
    line(
        "sent / failed / left out",
        f"{timed.sent_count:,} / {timed.failed_count} / {timed.excluded_count}",
        f"({calls:,} API calls, {accepted:,} emails accepted in all)",
    )
    line(
        "snapshot + send through the ESP, total",
        f"{esp_s:.1f} s",
        f"target < {TARGET_SEND_S:.0f} s: {'met' if esp_s < TARGET_SEND_S else 'MISSED'}; "
        f"{per_email:.2f} ms per email",
    )
    line("floor: rendering alone (built, not sent)", f"{render_s:.1f} s",
         f"ESP send is {esp_s / render_s:.1f}x this")  # fmt: skip
    small, large = peaks
    line(f"ESP send allocation peak, {small:,} recipients", f"{peaks[small]:.2f} MB")
    line(
        f"ESP send allocation peak, {large:,} recipients",
        f"{peaks[large]:.2f} MB",
        f"{peaks[large] / peaks[small]:.2f}x for 5x the people (flat = ~1x)",
    )
    return [
        Figure("ESP send (anymail -> Mailgun stand-in), total", esp_s, "s",
               target=TARGET_SEND_S, floor=render_s,
               floor_name="rendering alone, nothing sent", headline=True,
               note=f"{timed.sent_count:,} emails, {per_email:.2f} ms each, one HTTP call "
               "per email on loopback"),
        Figure(f"ESP send allocation peak, {large:,} recipients", peaks[large], "MB",
               floor=peaks[small], floor_name=f"the same for {small:,} recipients",
               note="flat memory: a ratio near 1 for 5x the people"),
    ]  # fmt: skip


def _nth_name(n: int, args: argparse.Namespace) -> str:
    """The name of the n-th newsletter recipient (names sort in creation order)."""
    every = args.contacts // args.recipients
    return f"Person {(n - 1) * every:06d}"


if __name__ == "__main__":
    sys.exit(main())
