"""Tenants benchmark: many practices due at once, synced by two Huey consumers (issue 17).

    DATABASE_URL=postgres://... REDIS_URL=redis://... \\
    .venv/bin/python bench/tenants.py [--practices 20] [--largest 240] [--quick] [--seed 1]
                                      [--app-limit 10000] [--json PATH]

``--practices`` sandboxes of mixed sizes (from ``largest / practices`` up to ``--largest``
clients, one custom field mapped: one call per client) with XPM's real per-practice limits
(60 calls a minute, 5 in flight, the daily budget) and one app-wide minute limit shared by
all of them (``--app-limit``) are served behind one front end that routes each call by its
``xero-tenant-id`` (every practice of a real app shares Xero's API address too). As many
Wagtail sites are connected, one per practice. Two ``manage.py run_huey`` consumers of four
thread workers on ``PriorityRedisHuey`` and PostgreSQL do the work, with the shared Redis
rate limiter at its defaults (55 a minute per practice). The real scheduler
(``services.schedule_due_syncs``) queues every practice at once; meanwhile a short task
(``deliver_lead`` of an enquiry that is not there: the task, its priority and its claim
query without the XPM call) is queued every few seconds.

Real minutes pass: the sandbox's clock can be moved but not scaled, and our limiter counts
in real seconds, so the sizes are what keeps the run short (the default's largest practice
needs about 4.5 minutes at 55 calls a minute). Printed, held against the issue's targets:

* the time until every practice is synced, against the floor: the largest practice's calls
  at 55 a minute (target at most 1.2x);
* the p95 wait of a short task queued during the storm (target under 10 s; measured to its
  result, so it includes the task's own few milliseconds);
* calls a minute per practice (each at most 55) and across the app (peak minute), and the
  429s XPM answered (target 0: our pacing keeps under every limit).

Needs PostgreSQL and Redis (``DATABASE_URL``, ``REDIS_URL``): the consumers are separate
processes sharing the database, the queue and the limiter.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from harness import ROOT, bench_database
from reporting import Figure, write_result

CUSTOM_FIELD = "Plan Level"
PER_MINUTE = 55  # our per-practice pace (wagtail_xpm/conf.py CALLS_PER_MINUTE)
PROBE_EVERY = 3.0  # seconds between short tasks
TARGET_FLOOR_RATIO = 1.2
TARGET_SHORT_P95 = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=20)
    parser.add_argument("--largest", type=int, default=240, help="clients of the largest")
    parser.add_argument("--quick", action="store_true", help="5 practices, largest 60")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--app-limit", type=int, default=10_000)
    parser.add_argument("--json", metavar="PATH", help="also write the figures there as JSON")
    args = parser.parse_args()
    if args.quick:
        args.practices, args.largest = 5, 60
    postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    if not (postgres and os.environ.get("REDIS_URL")):
        # Consumers in separate processes need a shared database, queue and limiter: on
        # SQLite without Redis there is nothing to measure (make bench carries on).
        print("skipped: bench/tenants.py needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")
        if args.json:
            write_result(
                args.json,
                benchmark="tenants",
                title="Many practices at once",
                about="Skipped: needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).",
                figures=[],
            )
        return 0
    sys.path.insert(0, str(ROOT))
    os.environ["BENCH_TENANTS_QUEUE"] = f"bench_tenants_{uuid.uuid4().hex[:8]}"
    os.environ["BENCH_TENANTS_APP_LIMIT"] = str(args.app_limit)
    front = Front(args)
    os.environ["BENCH_TENANTS_URL"] = front.url
    try:
        with bench_database("tenants", settings_module="harness.tenants_settings"):
            result = Storm(args, front).run()
    finally:
        front.stop()
    print_report(result)
    if args.json:
        write_json(args.json, result)
    return 0 if result["all_synced"] else 1


# --- the practices behind one front end -----------------------------------------------------


class Front:
    """The sandboxes behind one address, routed by ``xero-tenant-id``; identity calls go to
    the practice being connected. Counts every API call per practice (and its 429s)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from wagtail_xpm.sandbox import Sandbox

        rng = random.Random(args.seed)
        n = args.practices
        self.sizes = [max(5, round(args.largest * (k + 1) / n)) for k in range(n)]
        rng.shuffle(self.sizes)
        print(f"-- generating {n} practices, {sum(self.sizes):,} clients", file=sys.stderr)
        self.sandboxes = [
            Sandbox.generate(
                clients=size,
                seed=args.seed * 1000 + k,
                rate_limits=True,
                minute_limit=60,
                app_minute_limit=args.app_limit,
                token_lifetime=6 * 3600,  # no refresh mid-run: each practice has its own
            )
            for k, size in enumerate(self.sizes)
        ]
        # One app: every practice counts against the first one's app window (same lock).
        shared = self.sandboxes[0].limiter
        for sandbox in self.sandboxes[1:]:
            sandbox.limiter._app = shared._app
            sandbox.limiter._lock = shared._lock
        self.by_tenant = {sb.tenant_id: sb for sb in self.sandboxes}
        self.identity = self.sandboxes[0]
        self.lock = threading.Lock()
        self.calls: dict[str, list[float]] = defaultdict(list)
        self.throttled: Counter[str] = Counter()
        self.counting = False
        from wagtail_xpm.sandbox.server import ServerHandle

        self.server = ServerHandle(self, "127.0.0.1", 0, quiet=True)
        self.url = self.server.url

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        tenant = environ.get("HTTP_XERO_TENANT_ID")
        sandbox = self.by_tenant.get(tenant or "", self.identity)
        if tenant is None or not self.counting:
            return sandbox(environ, start_response)
        with self.lock:
            self.calls[tenant].append(time.monotonic())

        def answer(status: str, headers: Any, exc_info: Any = None) -> Any:
            if status.startswith("429"):
                with self.lock:
                    self.throttled[tenant] += 1
            return start_response(status, headers, exc_info)

        return sandbox(environ, answer)

    def stop(self) -> None:
        self.server.stop()


# --- the storm ------------------------------------------------------------------------------


class Consumer:
    def __init__(self, name: str, periodic: bool, log: Path) -> None:
        self.log = log
        self._file = log.open("wb")
        command = [sys.executable, "manage.py", "run_huey"]
        if not periodic:
            command.append("--no-periodic")
        from django.db import connection

        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "harness.tenants_settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")]),
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
        }
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.name = name

    def wait_started(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while "Huey consumer started" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._file.close()


class Storm:
    def __init__(self, args: argparse.Namespace, front: Front) -> None:
        self.args = args
        self.front = front

    def run(self) -> dict[str, Any]:
        import logging

        from django.core.management import call_command

        logging.getLogger("huey").setLevel(logging.WARNING)
        call_command("migrate", verbosity=0)
        connections = self.connect()
        logs = ROOT / "var" / "bench"
        consumers = [
            Consumer("consumer 1", True, logs / f"tenants-consumer-1-{os.getpid()}.log"),
            Consumer("consumer 2", False, logs / f"tenants-consumer-2-{os.getpid()}.log"),
        ]
        try:
            for consumer in consumers:
                consumer.wait_started()
            return self.storm(connections)
        finally:
            for consumer in consumers:
                consumer.stop()
            from huey.contrib.djhuey import HUEY

            HUEY.storage.flush_all()

    def connect(self) -> list:
        from wagtail.models import Page, Site

        from wagtail_xpm import services
        from wagtail_xpm.configdoc import import_document

        default = Site.objects.get(is_default_site=True)
        root = Page.objects.get(pk=default.root_page_id)
        connections = []
        for k, sandbox in enumerate(self.front.sandboxes):
            site = default if k == 0 else Site.objects.create(
                hostname=f"practice-{k}.example", port=80, root_page=root
            )  # fmt: skip
            self.front.identity = sandbox
            refresh = sandbox.issue_tokens()["refresh_token"]
            connection = services.connect_with_refresh_token(site=site, refresh_token=refresh)
            services.refresh_custom_field_definitions(connection)
            import_document(
                connection,
                {"version": 1, "mappings": [
                    {"source": f"custom:{CUSTOM_FIELD}", "key": "plan_level",
                     "label": CUSTOM_FIELD}]},
            )  # fmt: skip
            connections.append(connection)
        print(f"-- {len(connections)} sites connected", file=sys.stderr, flush=True)
        # What connecting spent is forgotten: each practice starts with a fresh minute.
        time.sleep(61)
        for sandbox in self.front.sandboxes:
            sandbox.reset_rate_limits()
        return connections

    def storm(self, connections: list) -> dict[str, Any]:
        from wagtail_xpm import services
        from wagtail_xpm.leads import tasks as lead_tasks
        from wagtail_xpm.models import SyncRun

        self.front.counting = True
        began = time.monotonic()
        queued = services.schedule_due_syncs()
        print(f"-- {len(queued)} syncs queued by the scheduler", file=sys.stderr, flush=True)
        probes: list[tuple[float, Any]] = []
        waits: list[float] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                # A lead delivery of an enquiry that is not there: the real task, its
                # priority and its claim query, without the XPM call (which would measure
                # the practice's budget, not the queue).
                probes.append((time.monotonic(), lead_tasks.deliver_lead(0)))
                stop.wait(PROBE_EVERY)

        def collect() -> None:
            done = 0
            while not stop.is_set() or done < len(probes):
                if done < len(probes):
                    sent, result = probes[done]
                    try:
                        result.get(blocking=True, timeout=600, backoff=1.0, max_delay=0.05)
                    except Exception as exc:  # noqa: BLE001 - reported, the bench carries on
                        print(f"   a short task failed: {exc!r}", file=sys.stderr, flush=True)
                    else:
                        waits.append(time.monotonic() - sent)
                    done += 1
                else:
                    time.sleep(0.05)

        prober = threading.Thread(target=probe, daemon=True)
        collector = threading.Thread(target=collect, daemon=True)
        prober.start()
        collector.start()
        largest = max(self.front.sizes)
        deadline = began + 60 * (3 * (largest + 5) / PER_MINUTE + 5)
        last_print = 0.0
        while time.monotonic() < deadline:
            runs = SyncRun.objects.filter(pk__in=queued)
            left = runs.filter(status__in=["queued", "running"]).count()
            if time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                print(
                    f"   {time.monotonic() - began:5.0f} s: {len(queued) - left} of "
                    f"{len(queued)} synced, {sum(map(len, self.front.calls.values()))} calls",
                    file=sys.stderr,
                    flush=True,
                )
            if not left:
                break
            time.sleep(1)
        finished = time.monotonic()
        stop.set()
        prober.join()
        collector.join(timeout=120)
        self.front.counting = False
        return self.results(connections, queued, began, finished, waits)

    def results(self, connections, queued, began, finished, waits) -> dict[str, Any]:
        from wagtail_xpm.models import SyncRun

        runs = {run.connection_id: run for run in SyncRun.objects.filter(pk__in=queued)}
        practices = []
        for connection, size in zip(connections, self.front.sizes, strict=True):
            run = runs.get(connection.pk)
            stamps = self.front.calls.get(connection.tenant_id, [])
            practices.append(
                {
                    "clients": size,
                    "status": run.status if run else "not queued",
                    "calls": len(stamps),
                    "peak_minute": peak_minute(stamps),
                    "429s": self.front.throttled.get(connection.tenant_id, 0),
                    "seconds": (run.finished_at - run.started_at).total_seconds()
                    if run and run.finished_at and run.started_at
                    else None,
                }
            )
        every = sorted(t for stamps in self.front.calls.values() for t in stamps)
        total = finished - began
        largest_calls = max(p["calls"] for p in practices)
        waits.sort()
        return {
            "practices": practices,
            "all_synced": all(p["status"] == "succeeded" for p in practices),
            "seconds": total,
            "floor_seconds": 60 * largest_calls / PER_MINUTE,
            "short_tasks": len(waits),
            "short_p95": percentile(waits, 0.95),
            "short_max": waits[-1] if waits else None,
            "calls": len(every),
            "app_peak_minute": peak_minute(every),
            "app_mean_minute": len(every) / (total / 60) if total else 0,
            "practice_peak_minute": max(p["peak_minute"] for p in practices),
            "throttled": sum(p["429s"] for p in practices),
        }


def peak_minute(stamps: list[float]) -> int:
    """The most calls in any 60-second window."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= 60:
            start += 1
        best = max(best, end - start + 1)
    return best


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


# --- output ---------------------------------------------------------------------------------


def figures(result: dict[str, Any]) -> list[Figure]:
    return [
        Figure(
            "time until every practice is synced",
            result["seconds"] / 60,
            "min",
            floor=result["floor_seconds"] / 60,
            floor_name="the largest practice's calls at 55 a minute",
            ratio_target=TARGET_FLOOR_RATIO,
            headline=True,
        ),
        Figure(
            "p95 wait of a short task queued during the storm",
            result["short_p95"] if result["short_p95"] is not None else float("inf"),
            "s",
            target=TARGET_SHORT_P95,
            note=f"{result['short_tasks']} tasks; to its result, its own run included",
            headline=True,
        ),
        Figure(
            "429s answered by XPM", result["throttled"], "", target=0, target_op="==", headline=True
        ),
        Figure(
            "calls a minute, busiest practice (peak)",
            result["practice_peak_minute"],
            "",
            target=60,
            target_op="<=",
            note="XPM's limit is 60; counted on arrival at the sandbox, while our limiter counts "
            "55 at the start of each call (up to 5 in flight arrive a little later)",
        ),
        Figure("calls a minute across the app (peak)", result["app_peak_minute"], ""),
        Figure("calls a minute across the app (mean)", result["app_mean_minute"], ""),
    ]


def print_report(result: dict[str, Any]) -> None:
    print()
    print("Tenants: every practice due at once, two consumers of 4 threads (real time)")
    print(f"{'clients':>8} {'status':>10} {'calls':>6} {'peak/min':>9} {'429s':>5} {'min':>6}")
    for p in sorted(result["practices"], key=lambda p: p["clients"]):
        minutes = f"{p['seconds'] / 60:6.1f}" if p["seconds"] is not None else "     -"
        print(
            f"{p['clients']:>8} {p['status']:>10} {p['calls']:>6} {p['peak_minute']:>9} "
            f"{p['429s']:>5} {minutes}"
        )
    print()
    print(f"{'figure':<52} {'value':>9} {'target':>8} {'floor':>8} {'ratio':>6}  verdict")
    for figure in figures(result):
        target = "" if figure.target is None else f"{figure.target_op}{figure.target:g}"
        if figure.ratio_target is not None:
            target = f"<={figure.ratio_target:g}x"
        floor = "" if figure.floor is None else f"{figure.floor:.2f}"
        ratio = "" if figure.ratio is None else f"{figure.ratio:.2f}"
        verdict = {True: "met", False: "MISSED", None: ""}[figure.met]
        print(
            f"{figure.name:<52} {figure.value:>9.2f} {target:>8} {floor:>8} {ratio:>6}  {verdict}"
        )


def write_json(path: str, result: dict[str, Any]) -> None:
    write_result(
        path,
        benchmark="tenants",
        title="Many practices at once",
        about=(
            "Every practice due at once (the real scheduler), synced by two Huey consumers "
            "of four threads on PostgreSQL and Redis against sandboxes with XPM's real "
            "per-practice limits and one shared app limit; real time, not scaled."
        ),
        figures=figures(result),
        context={
            "practices": len(result["practices"]),
            "clients": sum(p["clients"] for p in result["practices"]),
        },  # fmt: skip
        data={"practices": result["practices"]},
    )


if __name__ == "__main__":
    sys.exit(main())
