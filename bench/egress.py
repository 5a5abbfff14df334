"""Egress benchmark: a month of scheduled syncs against the sandbox, measured in bytes.

    .venv/bin/python bench/egress.py [--clients 10000] [--days 30] [--quick] [--seed 1]
                                     [--refresh-share 0.2] [--keep] [--json PATH]

Since Xero prices API access by data egress (2 March 2026), what a site downloads from XPM
is money. This drives the real scheduler (``services.schedule_due_syncs``, every five
simulated minutes, Huey running each sync at once) against an in-process sandbox whose
clock (``Sandbox.advance``) is also Django's, through a first sync (day 0) and then
``--days`` days of a practice that changes as a practice does:

* 1% of the live clients change a day (a phone number, or a contact's, which XPM shows as
  a change to every client of that contact), at random times;
* 0.5% of the live clients have their Plan Level (a mapped custom field) changed a day
  *without* the client changing, as XPM does it: only re-reading custom fields shows it;
* a few clients are deleted in XPM outright (they vanish from every list).

The sandbox keeps XPM's limits: 5,000 calls a day per practice (its fixed window), 5 at a
time; only the minute limit is off (simulated time does not pass during a run). Access
tokens live long enough not to expire mid-month in simulated time (their refreshes are
identity calls, not XPM API egress).

It prints bytes and calls per day, the oldest custom-field value of a client someone can
be emailed at, the custom-field changes and deletions and how late they reached the
website, and holds the month (days 1 to ``--days``; the first sync is the same for every
strategy and is shown apart) against:

(a) today's daily full download: each day one detailed list of every client (measured:
    a second sandbox front end on the same practice downloads it daily, outside the
    practice's budget) in place of one of the day's incremental lists, and no refresh or
    reconciliation;
(b) the floor: each day the changed records (one ``modifiedsince`` list) and their custom
    fields, and one light reconciliation (``paged-list``, base fields) a week, measured the
    same way.

Targets: the month's egress at most 1.25x the floor and 1/6 of (a); every mapped value of
a client someone can be emailed at at most 7 days old (CUSTOM_FIELD_MAX_AGE) once the first
sync's reads are done; deletions found within 7 days; calls within the daily budget every
day. ``--json PATH`` also writes the figures for ``bench/report.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from harness import bench_database, sandbox_connection_settings
from reporting import Figure, write_result

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICK = timedelta(minutes=5)  # how often wagtail_xpm.sync.tasks.schedule_syncs looks
DAY = timedelta(days=1)
# Days 0 and 1 belong to the first sync: at 10,000 clients the daily budget leaves about
# half the custom-field reads for the next day. The measured month starts after them.
FIRST_SYNC_DAYS = 2
CUSTOM_FIELD = "Plan Level"
CHANGE_SHARE = 0.01
CUSTOM_CHANGE_SHARE = 0.005
DAY_LIMIT = 5000
MAX_AGE = timedelta(days=7)

TARGET_FLOOR_RATIO = 1.25
TARGET_BASELINE_SHARE = 1 / 6
TARGET_DELETION_DAYS = 7


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="1,000 clients (about a minute)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--refresh-share",
        type=float,
        help="CUSTOM_FIELD_REFRESH_SHARE for this run (default: the setting's 0.2)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there as JSON")
    args = parser.parse_args()
    if args.quick:
        args.clients = 1000
    with bench_database(f"egress-{args.clients}", keep=args.keep):
        result = Month(args).run()
    print_report(result)
    if args.json:
        write_json(args.json, result)
    return 0


# --- the practice changing ------------------------------------------------------------------


@dataclass(order=True)
class Event:
    at: datetime
    kind: str = field(compare=False)  # change | custom | delete
    n: int = field(compare=False, default=0)


def plan_events(rng: random.Random, clients: int, days: int) -> list[Event]:
    """When each change happens: at random times over the month (the ``days`` days after
    the first sync's)."""
    events = []
    for day in range(FIRST_SYNC_DAYS, FIRST_SYNC_DAYS + days):
        start = T0 + day * DAY
        for _ in range(round(clients * CHANGE_SHARE)):
            events.append(Event(start + rng.random() * DAY, "change"))
        for _ in range(round(clients * CUSTOM_CHANGE_SHARE)):
            events.append(Event(start + rng.random() * DAY, "custom"))
    deletions = max(3, clients // 2000)
    # Early enough in the month that the weekly check can find each within it.
    for _ in range(deletions):
        day = FIRST_SYNC_DAYS + rng.randint(0, max(0, days - TARGET_DELETION_DAYS - 2))
        events.append(Event(T0 + day * DAY + rng.random() * DAY, "delete"))
    return sorted(events)


# --- the month ------------------------------------------------------------------------------


def fast_sqlite() -> None:
    """The throwaway SQLite file need not survive a power cut: no fsync per commit (the
    simulation commits a few times per run, 700-odd runs). Quiet Huey's per-task lines."""
    import logging

    from django.db import connection

    logging.getLogger("huey").setLevel(logging.WARNING)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=WAL")


class Month:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)

    def run(self) -> dict[str, Any]:
        from django.core.management import call_command
        from django.utils import timezone

        from wagtail_xpm.sandbox import Sandbox
        from wagtail_xpm.sandbox.clock import Clock

        args = self.args
        print(f"-- generating {args.clients:,} clients", file=sys.stderr, flush=True)
        self.clock = Clock(lambda: T0)
        options = {
            "clock": self.clock,
            # A month of simulated time: no access token may lapse mid-run in it.
            "token_lifetime": 40 * 86400,
        }
        self.sb = Sandbox.generate(
            clients=args.clients,
            seed=args.seed,
            rate_limits=True,
            day_limit=DAY_LIMIT,
            minute_limit=10**9,
            app_minute_limit=10**9,
            **options,
        )
        # A second front end on the same practice (its own limiter and counters): measures
        # the floor and the daily full download without spending the practice's budget.
        self.measure_sb = Sandbox(self.sb.state, rate_limits=False, **options)
        # Django's clock is the sandbox's: the scheduler, run times, value ages all move
        # with Sandbox.advance.
        timezone.now = lambda: self.clock()
        self.server = self.sb.serve()
        self.measure_server = self.measure_sb.serve()
        try:
            call_command("migrate", verbosity=0)
            fast_sqlite()
            self.configure()
            self.connection = self.connect()
            return self.simulate()
        finally:
            self.server.stop()
            self.measure_server.stop()

    def configure(self) -> None:
        from django.conf import settings

        env = self.sb.env_vars(self.server.url)
        overrides = {
            **sandbox_connection_settings(env),
            # Simulated time stands still during a run: no minute limit on either side.
            "CALLS_PER_MINUTE": 10**9,
            "RATE_LIMIT_REDIS_URL": None,
            "MAX_RETRY_SLEEP": 0.01,
            "DAILY_CALL_LIMIT": DAY_LIMIT,
            "CUSTOM_FIELD_MAX_AGE": MAX_AGE,
        }
        if self.args.refresh_share is not None:
            overrides["CUSTOM_FIELD_REFRESH_SHARE"] = self.args.refresh_share
        settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, **overrides}

    def connect(self):
        from wagtail.models import Site

        from wagtail_xpm import services
        from wagtail_xpm.configdoc import import_document

        site = Site.objects.get(is_default_site=True)
        tokens = self.sb.issue_tokens()
        connection = services.connect_with_refresh_token(
            site=site, refresh_token=tokens["refresh_token"]
        )
        services.refresh_custom_field_definitions(connection)
        import_document(
            connection,
            {"version": 1, "mappings": [
                {"source": f"custom:{CUSTOM_FIELD}", "key": "plan_level", "label": CUSTOM_FIELD}]},
        )  # fmt: skip
        self.sb.reset_stats()
        self.sb.reset_rate_limits()
        return connection

    def measuring_client(self):
        """An XpmClient on the second front end, outside the practice's budget."""
        from wagtail_xpm import services
        from wagtail_xpm.xpm import InMemoryTokenStore, NullRateLimiter, TokenSet, XpmClient

        tokens = TokenSet.from_token_response(self.measure_sb.issue_tokens())
        return XpmClient(
            api_url=f"{self.measure_server.url}/practicemanager/3.1/",
            tenant_id=self.sb.tenant_id,
            token_store=InMemoryTokenStore(tokens),
            oauth=services.oauth(),
            limiter=NullRateLimiter(),
        )

    # -- the loop ----------------------------------------------------------------------------

    def simulate(self) -> dict[str, Any]:
        from wagtail_xpm import services
        from wagtail_xpm.models import SyncRun

        args = self.args
        events = plan_events(self.rng, args.clients, args.days)
        self.measure = self.measuring_client()
        self.plan_uuid = next(
            d.uuid for d in self.sb.state.custom_fields.values() if d.name == CUSTOM_FIELD
        )
        self.options = next(
            d.options for d in self.sb.state.custom_fields.values() if d.name == CUSTOM_FIELD
        )
        self.custom_changes: dict[str, tuple[str, datetime]] = {}  # client -> (value, when)
        self.custom_lags: list[float] = []  # days, priority clients
        self.custom_lags_all: list[float] = []
        self.deleted: dict[str, datetime] = {}
        self.deletion_lags: dict[str, float] = {}
        self.days: dict[int, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
        self.calls_before = 0
        self.filled_at: datetime | None = None
        end = T0 + (FIRST_SYNC_DAYS + args.days) * DAY
        pending = list(events)
        seen_runs: set[int] = set()
        started = time.perf_counter()
        last_day = -1
        while self.clock() < end:
            now = self.clock()
            day = int((now - T0) / DAY)
            if day != last_day:
                # Before the new day's first run: its calls belong to the new day.
                if last_day >= 0:
                    self.close_day(last_day)
                last_day = day
                print(
                    f"   day {day:>2}: {time.perf_counter() - started:6.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
            while pending and pending[0].at <= now:
                self.apply(pending.pop(0))
            services.schedule_due_syncs()
            for run in SyncRun.objects.exclude(pk__in=seen_runs).filter(
                status__in=["succeeded", "partial", "failed", "skipped", "abandoned"]
            ):
                seen_runs.add(run.pk)
                self.record(run)
            self.sb.advance(TICK.total_seconds())
        self.close_day(last_day)
        return self.results(time.perf_counter() - started)

    def apply(self, event: Event) -> None:
        """Make one change to the practice, as the firm's staff would in XPM."""
        state = self.sb.state
        now = self.clock()
        with self.sb.lock:
            live = [c for c in state.clients.values() if not (c.is_archived or c.is_deleted)]
            client = self.rng.choice(live)
            if event.kind == "change":
                if client.contacts and self.rng.random() < 0.2:
                    contact = state.contacts[client.contacts[0].contact_uuid]
                    contact.phone = f"(09) {self.rng.randint(1000000, 9999999)}"
                    state.touch_contact(contact.uuid, now)
                else:
                    client.phone = f"(09) {self.rng.randint(1000000, 9999999)}"
                    state.touch_client(client, now)
            elif event.kind == "custom":
                current = client.custom_values.get(self.plan_uuid)
                value = self.rng.choice([o for o in self.options if o != current])
                client.custom_values[self.plan_uuid] = value  # the client is not touched
                self.custom_changes[client.uuid] = (value, now)
            elif event.kind == "delete":
                del state.clients[client.uuid]
                state.reindex()
                self.deleted[client.uuid] = now
                self.custom_changes.pop(client.uuid, None)

    def record(self, run) -> None:
        """A finished run: its bytes and calls by day; what reached the website."""
        from wagtail_xpm.models import PracticeClient
        from wagtail_xpm.sync import freshness

        day = int((run.created_at - T0) / DAY)
        totals = self.days[day]
        totals["bytes"] += run.bytes_downloaded
        totals["calls"] += run.api_calls
        totals["runs"] += 1
        for kind, usage in (run.usage or {}).items():
            totals[f"bytes_{kind}"] += usage.get("bytes", 0)
            totals[f"calls_{kind}"] += usage.get("calls", 0)
        if run.status == "failed":
            totals["failed"] += 1
        if run.reconcile_completed:
            totals["reconciliations"] += 1
        now = run.finished_at or self.clock()
        state = freshness.freshness(self.connection, now=now)
        if self.filled_at is None and state.unread == 0 and state.read:
            self.filled_at = now
        if self.filled_at is not None and state.oldest is not None:
            days_old = state.oldest / DAY
            totals["oldest_days"] = max(totals["oldest_days"], days_old)
        # Custom-field changes that have reached the website.
        if self.custom_changes:
            priority = freshness.priority_clients(self.connection)
            rows = dict(
                PracticeClient.objects.filter(
                    connection=self.connection, uuid__in=list(self.custom_changes)
                ).values_list("uuid", "data")
            )
            for uuid, (value, when) in list(self.custom_changes.items()):
                if (rows.get(uuid) or {}).get("plan_level") == value:
                    lag = (now - when) / DAY
                    self.custom_lags_all.append(lag)
                    if uuid in priority:
                        self.custom_lags.append(lag)
                    del self.custom_changes[uuid]
        for uuid, when in self.deleted.items():
            if uuid in self.deletion_lags:
                continue
            if PracticeClient.objects.filter(
                connection=self.connection, uuid=uuid, is_missing=True
            ).exists():
                self.deletion_lags[uuid] = (now - when) / DAY

    def close_day(self, day: int) -> None:
        """The day's practice-side calls, and the floor's and (a)'s bytes for the day."""
        totals = self.days[day]
        calls = self.sb.api_calls
        totals["sandbox_calls"] = calls - self.calls_before
        self.calls_before = calls
        if day < FIRST_SYNC_DAYS:
            return
        start = T0 + day * DAY
        client = self.measure
        before = client.bytes_received
        # (b) the floor: the day's changed records and their custom fields...
        changed = list(client.list_clients(detailed=True, modified_since=start))
        for record in changed:
            client.client_custom_fields(record.uuid)
        floor = client.bytes_received - before
        # ...and one light reconciliation a week.
        if (day - FIRST_SYNC_DAYS + 1) % 7 == 0:
            before = client.bytes_received
            list(client.paged_clients(page_size=500))
            floor += client.bytes_received - before
        totals["floor"] = floor
        totals["floor_changed"] = len(changed)
        # (a) today's daily full download, in place of one of the day's incremental lists.
        before = client.bytes_received
        list(client.list_clients(detailed=True))
        full = client.bytes_received - before
        lists = totals["bytes_list"]
        runs = max(1, totals["runs"])
        totals["baseline"] = full + lists * (runs - 1) / runs + totals["bytes_custom_fields"]
        totals["full_list"] = full

    # -- the figures -------------------------------------------------------------------------

    def results(self, seconds: float) -> dict[str, Any]:
        from wagtail_xpm.sync import freshness

        args = self.args
        month = range(FIRST_SYNC_DAYS, FIRST_SYNC_DAYS + args.days)
        simulated = range(0, FIRST_SYNC_DAYS + args.days)
        days = [
            {"day": d, **{k: (round(v, 3) if isinstance(v, float) else v)
                          for k, v in self.days[d].items()}}
            for d in simulated
        ]  # fmt: skip
        total = Counter()
        for d in month:
            for key in (
                "bytes", "floor", "baseline", "calls", "bytes_custom_refresh",
                "calls_custom_refresh", "calls_custom_fields", "bytes_reconcile", "bytes_list",
                "bytes_custom_fields",
            ):  # fmt: skip
                total[key] += self.days[d].get(key, 0)
        state = freshness.freshness(self.connection, now=self.clock())
        # The least any refresh keeping every value under the maximum age could cost: each
        # emailable client read once per age, less the reads changed clients had anyway.
        per_read = total["bytes_custom_refresh"] / max(1, total["calls_custom_refresh"])
        least_reads = max(
            0, state.priority * args.days / (MAX_AGE / DAY) - total["calls_custom_fields"]
        )
        return {
            "least_refresh_bytes": least_reads * per_read,
            "clients": args.clients,
            "days": args.days,
            "seed": args.seed,
            "refresh_share": state.share_per_day / DAY_LIMIT,
            "seconds": seconds,
            "per_day": days,
            "month": dict(total),
            "first_sync_day_bytes": sum(
                self.days[d].get("bytes", 0) for d in range(FIRST_SYNC_DAYS)
            ),
            "first_sync_day_calls": sum(
                self.days[d].get("calls", 0) for d in range(FIRST_SYNC_DAYS)
            ),
            "filled_after_days": (self.filled_at - T0) / DAY if self.filled_at else None,
            "priority_clients": state.priority,
            "reads_needed_per_day": state.reads_needed_per_day,
            "share_per_day": state.share_per_day,
            "oldest_days": max((self.days[d].get("oldest_days", 0) for d in month), default=0),
            "custom_changes_reached": len(self.custom_lags_all),
            "custom_changes_waiting": len(self.custom_changes),
            "custom_lag_max_days": max(self.custom_lags, default=0),
            "custom_lag_mean_days": sum(self.custom_lags) / len(self.custom_lags)
            if self.custom_lags
            else 0,
            "deletions": len(self.deleted),
            "deletions_found": len(self.deletion_lags),
            "deletion_lag_max_days": max(self.deletion_lags.values(), default=0),
            "max_calls_a_day": max(
                max(self.days[d].get("calls", 0), self.days[d].get("sandbox_calls", 0))
                for d in simulated
            ),
            "failed_runs": sum(self.days[d].get("failed", 0) for d in simulated),
        }


# --- reporting ------------------------------------------------------------------------------


def mb(size: float) -> str:
    return f"{size / 1e6:,.2f} MB"


def print_report(r: dict[str, Any]) -> None:
    print(
        f"Egress benchmark: {r['clients']:,} clients, {r['days']} days after the first sync "
        f"(seed {r['seed']}), {r['priority_clients']:,} clients someone can be emailed at, "
        f"refresh share {r['refresh_share']:.0%} of {DAY_LIMIT:,} calls a day; "
        f"simulated in {r['seconds']:.0f} s."
    )
    header = (
        f"{'day':>4} {'runs':>5} {'calls':>6} {'ours':>10} {'list':>9} {'custom':>9} "
        f"{'refresh':>9} {'reconcile':>9} {'floor':>10} {'(a) daily':>11} {'oldest d':>8}"
    )
    print(header)
    print("-" * len(header))
    for d in r["per_day"]:
        print(
            f"{d['day']:>4} {int(d.get('runs', 0)):>5} {int(d.get('calls', 0)):>6} "
            f"{mb(d.get('bytes', 0)):>10} {d.get('bytes_list', 0) / 1e3:>7.0f}kB "
            f"{d.get('bytes_custom_fields', 0) / 1e3:>7.0f}kB "
            f"{d.get('bytes_custom_refresh', 0) / 1e3:>7.0f}kB "
            f"{d.get('bytes_reconcile', 0) / 1e3:>7.0f}kB "
            f"{mb(d.get('floor', 0)):>10} {mb(d.get('baseline', 0)):>11} "
            f"{d.get('oldest_days', 0):>8.2f}"
        )
    m = r["month"]
    print()
    print(f"First sync (days 0-{FIRST_SYNC_DAYS - 1}): {mb(r['first_sync_day_bytes'])}, "
          f"{int(r['first_sync_day_calls']):,} calls; every emailable client's custom fields "
          f"read after {r['filled_after_days'] or 0:.2f} days.")  # fmt: skip
    print(
        f"Month (days {FIRST_SYNC_DAYS}-{FIRST_SYNC_DAYS + r['days'] - 1}): ours "
        f"{mb(m['bytes'])}, floor {mb(m['floor'])}, "
        f"(a) today's daily full download {mb(m['baseline'])}; {int(m['calls']):,} calls."
    )
    ratio, share = m["bytes"] / m["floor"], m["bytes"] / m["baseline"]
    least = r["least_refresh_bytes"]
    print(
        f"  of ours: refresh {mb(m['bytes_custom_refresh'])}, checks for deleted clients "
        f"{mb(m['bytes_reconcile'])}, lists {mb(m['bytes_list'])}, custom fields of changed "
        f"clients {mb(m['bytes_custom_fields'])}. The least refresh keeping every value under "
        f"7 days costs {mb(least)}: against floor + that, ours is "
        f"{m['bytes'] / (m['floor'] + least):.2f}x."
    )
    print("Targets:")
    print(
        f"  egress <= {TARGET_FLOOR_RATIO}x the floor: {ratio:.2f}x "
        f"{verdict(ratio <= TARGET_FLOOR_RATIO)}"
    )
    print(f"  egress <= 1/6 of (a): 1/{1 / share:.1f} {verdict(share <= TARGET_BASELINE_SHARE)}")
    print(
        f"  every mapped value <= 7 days old: oldest {r['oldest_days']:.2f} days "
        f"{verdict(r['oldest_days'] <= MAX_AGE / DAY)} (keeping up needs about "
        f"{r['reads_needed_per_day']:,} reads a day; the share allows {r['share_per_day']:,})"
    )
    print(
        f"  custom-field changes reached the website: {r['custom_changes_reached']:,} "
        f"({r['custom_changes_waiting']} still within their age at the end); the slowest of an "
        f"emailable client in {r['custom_lag_max_days']:.2f} days, on average "
        f"{r['custom_lag_mean_days']:.2f}"
    )
    found_all = r["deletions_found"] == r["deletions"]
    in_time = r["deletion_lag_max_days"] <= TARGET_DELETION_DAYS
    print(
        f"  deletions found within {TARGET_DELETION_DAYS} days: {r['deletions_found']} of "
        f"{r['deletions']}, the latest after {r['deletion_lag_max_days']:.2f} days "
        f"{verdict(found_all and in_time)}"
    )
    print(
        f"  calls within the daily budget ({DAY_LIMIT:,}) every day: the most in a day "
        f"{r['max_calls_a_day']:,} {verdict(r['max_calls_a_day'] <= DAY_LIMIT)}; "
        f"failed runs {r['failed_runs']}"
    )


def verdict(ok: bool) -> str:
    return "[ok]" if ok else "[MISSED]"


def write_json(path: str, r: dict[str, Any]) -> None:
    m = r["month"]
    figures = [
        Figure(
            f"{r['days']} days at {r['clients']:,} clients: bytes downloaded",
            m["bytes"] / 1e6,
            "MB",
            floor=m["floor"] / 1e6,
            floor_name="changed records + their custom fields + a weekly paged-list",
            ratio_target=TARGET_FLOOR_RATIO,
            note=f"{int(m['calls']):,} calls; the first sync's days "
            f"({mb(r['first_sync_day_bytes'])}) not counted",
            headline=True,
        ),
        Figure(
            "the same, against the floor plus the least refresh keeping values under 7 days",
            m["bytes"] / 1e6,
            "MB",
            floor=(m["floor"] + r["least_refresh_bytes"]) / 1e6,
            floor_name="the floor + each emailable client's custom fields read once a week",
            note=f"of ours: refresh {mb(m['bytes_custom_refresh'])}, checks for deleted "
            f"clients {mb(m['bytes_reconcile'])}, lists {mb(m['bytes_list'])}",
        ),
        Figure(
            "share of (a), today's daily full download",
            100 * m["bytes"] / m["baseline"],
            "%",
            target=round(100 * TARGET_BASELINE_SHARE, 1),
            target_op="<=",
            note=f"(a) {mb(m['baseline'])} for the month",
            headline=True,
        ),
        Figure(
            "oldest custom-field value of an emailable client",
            r["oldest_days"],
            "days",
            target=MAX_AGE / DAY,
            target_op="<=",
            note=f"keeping up needs about {r['reads_needed_per_day']:,} reads a day; the "
            f"refresh share ({r['refresh_share']:.0%}) allows {r['share_per_day']:,}",
            headline=True,
        ),
        Figure(
            "custom-field change of an emailable client reaching the website, slowest",
            r["custom_lag_max_days"],
            "days",
            note=f"{r['custom_changes_reached']:,} changes reached it, on average in "
            f"{r['custom_lag_mean_days']:.2f} days",
        ),
        Figure(
            "deletion found, latest",
            r["deletion_lag_max_days"] if r["deletions_found"] == r["deletions"] else float("inf"),
            "days",
            target=TARGET_DELETION_DAYS,
            target_op="<=",
            note=f"{r['deletions_found']} of {r['deletions']} deletions found",
        ),
        Figure(
            "most calls in a day",
            r["max_calls_a_day"],
            "calls",
            target=DAY_LIMIT,
            target_op="<=",
            note=f"{r['failed_runs']} failed runs",
        ),
    ]
    write_result(
        path,
        benchmark="egress",
        title="A month of sync, in bytes",
        about=(
            f"The real scheduler against the sandbox's clock for {r['days']} days after a first "
            f"sync, {r['clients']:,} clients, 1% of clients changing a day, 0.5% of custom "
            "fields changing a day without the client, a few clients deleted in XPM; XPM's "
            "5,000 calls a day enforced. Bytes are counted as received (headers and body). "
            "The floor is the changed records (one modifiedsince list a day), their custom "
            "fields and one light reconciliation (paged-list) a week; (a) is the month as the "
            "sync ran before: the same hourly lists and changed clients' custom fields, with a "
            "full detailed download each day in place of one of the lists, and no refresh or "
            "reconciliation. Both are measured on the same practice through a second sandbox "
            "front end, outside the practice's daily budget."
        ),
        figures=figures,
        context={
            "clients": r["clients"],
            "days": r["days"],
            "emailable clients": r["priority_clients"],
            "refresh share": f"{r['refresh_share']:.0%}",
        },
        data={"per_day": r["per_day"], "month": m, "summary": {
            k: v for k, v in r.items() if k not in ("per_day", "month")}},
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
