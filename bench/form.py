"""Form POST benchmark: /contact/ latency with XPM down, at 20 concurrent visitors.

    .venv/bin/python bench/form.py [--clients 20] [--requests 1000]
                                   [--xpm down|unreachable|slow] [--postgres URL]
                                   [--redis URL] [--no-worker] [--keep] [--json PATH]

What it runs, all on loopback:

* the XPM sandbox (in this process), with the example site connected to it through the real
  refresh-token exchange and a lead owner picked from the synced staff;
* then XPM goes away: ``down`` answers every API call with 503 (default), ``unreachable``
  stops the sandbox (connection refused), ``slow`` makes every call take 30 s;
* the example site as a real server process (Werkzeug's threaded WSGI server, one
  process), on a throwaway SQLite file under ``var/bench/`` (or a fresh PostgreSQL database
  ``<name>_bench_form`` on the server of ``--postgres``), with the spam gate on as in
  production: 3 s minimum fill time, 5 per 10 minutes per address (each simulated visitor
  sends its own ``X-Forwarded-For``, trusted through ``TRUSTED_PROXY_COUNT=1``);
* a Huey consumer (4 threads) delivering the outbox at the same time, so its retries against
  the missing XPM compete with the web process as they would in production (``--no-worker``
  leaves the outbox alone);
* ``--clients`` visitor threads: each GETs /contact/ (CSRF cookie and the form's signed
  "shown at" stamp), waits out the minimum fill time, then POSTs enquiries back to back.
  Every answer must be the thank-you page.

Prints p50/p95/p99 POST latency, submissions per second and the outbox afterwards, with the
targets beside them. It is a benchmark, not a pass/fail test. ``--json PATH`` also writes the
figures there for ``bench/report.py``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from reporting import Figure, write_result

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wagtail_xpm.sandbox import Sandbox  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
TARGET_P95_MS = 100.0
MIN_FILL_SECONDS = 3.0
# A fixed key for this throwaway database only.
TOKEN_KEY = "Zm9ybS1iZW5jaC1vbmx5LWtleS1ub3Qtc2VjcmV0ISE="
WARM_UP_PER_CLIENT = 1

SETTINGS = """\
from example_site.settings import *  # noqa: F401,F403
from example_site.settings import WAGTAIL_XPM

DEBUG = False
ALLOWED_HOSTS = ["*"]
# This run's own cache keys and Huey queue, should the Redis database be shared.
CACHES["default"]["KEY_PREFIX"] = {run_id!r}  # noqa: F405
HUEY["name"] = "wagtail_xpm_" + {run_id!r}  # noqa: F405
# Keep database connections between requests, as a production server would.
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # SQLite tuned for concurrent web writers: WAL, no fsync per commit, and write
    # transactions that take the lock up front instead of failing to upgrade it.
    DATABASES["default"]["OPTIONS"].update(  # noqa: F405
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        transaction_mode="IMMEDIATE",
    )
LOGGING = {{"version": 1, "disable_existing_loggers": False,
           "root": {{"handlers": [], "level": "WARNING"}}}}
WAGTAIL_XPM = {{
    **WAGTAIL_XPM,
    "CLIENT_ID": {client_id!r},
    "CLIENT_SECRET": {client_secret!r},
    "AUTHORIZE_URL": "{url}/identity/connect/authorize",
    "TOKEN_URL": "{url}/connect/token",
    "REVOKE_URL": "{url}/connect/revocation",
    "CONNECTIONS_URL": "{url}/connections",
    "API_URL": "{url}/practicemanager/3.1/",
    "TOKEN_KEYS": [{token_key!r}],
    # The simulated visitors come through "one proxy": each has its own address.
    "TRUSTED_PROXY_COUNT": 1,
}}
"""

# One of N server processes sharing one listening socket (the kernel spreads connections),
# each serving requests on a fixed pool of threads: what a pre-fork, threaded server such as
# gunicorn's gthread worker does. A fixed pool lets database connections be reused.
SERVER = """\
import sys
from concurrent.futures import ThreadPoolExecutor
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from example_site.wsgi import application

class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass  # no access log, as gunicorn by default

class PooledServer(BaseWSGIServer):
    pool = ThreadPoolExecutor(int(sys.argv[3]))

    def process_request(self, request, client_address):
        self.pool.submit(self.handle_in_thread, request, client_address)

    def handle_in_thread(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

port, fd = int(sys.argv[1]), int(sys.argv[2])
PooledServer("127.0.0.1", port, application, handler=QuietHandler, fd=fd).serve_forever()
"""

SET_OWNER = """\
from wagtail_xpm import services
from wagtail_xpm.models import PracticeStaff, XpmConnection, XpmSiteSettings
connection = XpmConnection.objects.get()
services.refresh_staff(connection)
owner = PracticeStaff.objects.filter(connection=connection).order_by("name").first()
site_settings = XpmSiteSettings.for_site(connection.site)
site_settings.lead_owner_uuid = owner.uuid
site_settings.save()
print(owner.name)
"""

OUTBOX = """\
import json
from django.db.models import Count
from wagtail_xpm.models import LeadSubmission
rows = LeadSubmission.objects.values("status").annotate(n=Count("pk"))
print(json.dumps({r["status"]: r["n"] for r in rows}))
"""

CONTACT = {
    "name": "Bench Visitor",
    "phone": "+61 400 000 000",
    "message": "We need help with BAS and payroll for a small studio.",
    "consent": "on",
}


class Site:
    """The example site's management commands and server, pointed at the bench settings."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args[:1])} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self, *command: str, log: str, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
        output = open(self.workdir / log, "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_database(url: str, *, create: bool) -> str:
    """A new, empty database next to the one ``url`` names (never that one), or drop it."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'wagtail_xpm'}_bench_form"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


class Visitors:
    """``clients`` threads sending enquiries until ``total`` POSTs were made."""

    def __init__(self, base_url: str, clients: int, total: int, *, follow: bool) -> None:
        self.base_url = base_url
        self.follow = follow
        self.clients = clients
        self.total = total
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.warm_up: list[float] = []
        self.thanks: list[float] = []
        self._next = 0
        self._lock = threading.Lock()
        self._ready = threading.Barrier(clients + 1)
        self._go = threading.Event()

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= self.total:
                return None
            self._next += 1
            return self._next

    def visitor(self, number: int) -> None:
        session = requests.Session()
        page = session.get(f"{self.base_url}/contact/", timeout=30).text
        fields = {
            name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1)
            for name in ("csrfmiddlewaretoken", "xpm_form_started")
        }
        action = re.search(r'<form class="xpm-lead-form" method="post" action="([^"]*)"', page)
        post_path = action.group(1) or "/contact/"
        host, port = urlsplit(self.base_url).hostname, urlsplit(self.base_url).port
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        self._ready.wait()
        self._go.wait()
        sent = 0
        while True:
            index = self._take() if sent >= WARM_UP_PER_CLIENT else -number
            if index is None:
                return
            data = {**fields, **CONTACT, "email": f"visitor{index}@bench.example"}
            # One address per enquiry, as many different visitors would have.
            address = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
            headers = {
                "X-Forwarded-For": address,
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
            }
            body = urlencode(data)
            started = time.perf_counter()
            try:
                # A bare HTTP client: the load generator shares the CPUs with the server,
                # so it should cost as little as it can.
                connection = http.client.HTTPConnection(host, port, timeout=60)
                connection.request("POST", post_path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                connection.close()
                elapsed = time.perf_counter() - started
                location = response.getheader("Location", "")
                thanks_elapsed = None
                if self.follow or sent < WARM_UP_PER_CLIENT:
                    # Like a browser: the thank-you page the answer redirects to.
                    thanks_started = time.perf_counter()
                    thanks = session.get(f"{self.base_url}{location}", timeout=60)
                    thanks_elapsed = time.perf_counter() - thanks_started
                    if "Thank you for getting in touch" not in thanks.text:
                        self.errors.append(f"thank-you page HTTP {thanks.status_code}")
            except (OSError, http.client.HTTPException, requests.RequestException) as exc:
                self.errors.append(type(exc).__name__)
                continue
            response.status_code = response.status
            if response.status_code != 302 or "enquiry-sent=" not in location:
                self.errors.append(f"HTTP {response.status_code}")
            if sent < WARM_UP_PER_CLIENT:
                self.warm_up.append(elapsed)
            else:
                self.latencies.append(elapsed)
                if thanks_elapsed is not None:
                    self.thanks.append(thanks_elapsed)
            sent += 1

    def run(self) -> float:
        threads = [
            threading.Thread(target=self.visitor, args=(n + 1,), daemon=True)
            for n in range(self.clients)
        ]
        for thread in threads:
            thread.start()
        self._ready.wait()
        # People take a few seconds; the spam gate refuses anything faster.
        time.sleep(MIN_FILL_SECONDS + 0.3)
        started = time.perf_counter()
        self._go.set()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent visitors (20)")
    parser.add_argument("--requests", type=int, default=2000, help="POSTs measured (2000)")
    parser.add_argument("--xpm", choices=("down", "unreachable", "slow"), default="down")
    parser.add_argument("--postgres", metavar="URL", help="use a fresh DB on this server")
    parser.add_argument("--redis", metavar="URL", help="Redis for the cache and Huey")
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="web server processes (default: one per CPU)",
    )
    # CPU-bound Python: few threads per process, one process per CPU, serve best.
    parser.add_argument("--threads", type=int, default=2, help="threads per process (2)")
    parser.add_argument(
        "--follow",
        action="store_true",
        help="each visitor also loads the thank-you page after every POST (more load)",
    )
    parser.add_argument("--no-worker", action="store_true", help="no Huey consumer")
    parser.add_argument("--keep", action="store_true", help="keep var/bench/form-* afterwards")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there as JSON")
    args = parser.parse_args()

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="form-", dir=BENCH_DIR))
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "bench_form_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "VAR_DIR": str(workdir),
        "DJANGO_SECRET_KEY": "bench-form-secret-key-not-for-production",
    }
    database = "SQLite"
    if args.postgres:
        env["DATABASE_URL"] = bench_database(args.postgres, create=True)
        database = "PostgreSQL"
    if args.redis:
        env["REDIS_URL"] = args.redis
    site = Site(workdir, env)
    sandbox = Sandbox.generate(clients=25, seed=1, rate_limits=False)

    with ExitStack() as stack:
        # Undone in reverse: stop the processes, then remove what they used.
        if not args.keep:
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            if args.postgres:
                stack.callback(bench_database, args.postgres, create=False)
        stack.callback(site.stop)
        server = sandbox.serve()
        handle = server.__enter__()
        sandbox_running = True
        (workdir / "bench_form_settings.py").write_text(
            SETTINGS.format(
                url=handle.url,
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
                token_key=TOKEN_KEY,
                run_id=workdir.name,
            )
        )
        print("Preparing: migrate, connect to the sandbox practice, pick a lead owner...")
        site.manage("migrate", "--noinput")
        site.manage("xpm_connect", f"--refresh-token={sandbox.issue_tokens()['refresh_token']}")
        owner = site.manage("shell", "-c", SET_OWNER).strip().splitlines()[-1]

        if args.xpm == "down":
            sandbox.faults.outage(10**9)
            xpm = "XPM down (every API call answers 503)"
        elif args.xpm == "slow":
            sandbox.faults.slow(30.0)
            xpm = "XPM hanging (every API call takes 30 s)"
        else:
            server.__exit__(None, None, None)
            sandbox_running = False
            xpm = "XPM unreachable (connection refused)"
        if sandbox_running:
            stack.callback(server.__exit__, None, None, None)
        sandbox.reset_stats()

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        stack.callback(listener.close)
        port = listener.getsockname()[1]
        for number in range(args.processes):
            site.start(
                sys.executable,
                "-c",
                SERVER,
                str(port),
                str(listener.fileno()),
                str(args.threads),
                log=f"server-{number}.log",
                pass_fds=(listener.fileno(),),
            )
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if requests.get(f"{base_url}/contact/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit(f"the site did not start: see {workdir / 'server-0.log'}")
        if not args.no_worker:
            site.start(
                sys.executable, "manage.py", "run_huey", "-w", "4", "-k", "thread", log="huey.log"
            )
            # Let the consumer finish starting, so its start-up is not counted as load.
            for _ in range(100):
                if "consumer" in (workdir / "huey.log").read_text().lower():
                    break
                time.sleep(0.1)
            time.sleep(1.0)

        visitors = Visitors(base_url, args.clients, args.requests, follow=args.follow)
        print(
            f"Running: {args.requests} POSTs to /contact/ from {args.clients} concurrent "
            f"visitors, {xpm}..."
        )
        load_before = os.getloadavg()[0]
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in site.processes}
        own_before = time.process_time()
        wall = visitors.run()
        cpu = {pid: cpu_seconds(pid) - before for pid, before in cpu_before.items()}
        own_cpu = time.process_time() - own_before
        time.sleep(1.0)  # let the worker pick a few up, for the outbox figures
        outbox = json.loads(site.manage("shell", "-c", OUTBOX).strip().splitlines()[-1])

    ms = [v * 1000 for v in visitors.latencies]
    if not ms:
        print("No POST succeeded.", visitors.errors[:5])
        return 1
    p50, p95, p99 = (percentile(ms, share) for share in (0.50, 0.95, 0.99))
    rate = (len(ms) + len(visitors.warm_up)) / wall
    worker = "no worker" if args.no_worker else "Huey consumer running (4 threads)"
    cache = "Redis" if args.redis else "local memory"
    verdict = "meets" if p95 < TARGET_P95_MS else "MISSES"
    print()
    print(f"Form POST latency (the POST itself, answered by a redirect), {xpm}")
    print(
        f"  server   example site, Werkzeug WSGI, {args.processes} processes x {args.threads} "
        f"threads on "
        f"loopback ({os.cpu_count()} CPUs shared with the visitors); {database}; "
        f"cache {cache}; {worker}; lead owner {owner}"
    )
    print(
        f"  load     {args.clients} concurrent visitors, {len(ms)} POSTs measured "
        f"(+{len(visitors.warm_up)} warm-up), {len(visitors.errors)} errors"
        + (f" {sorted(set(visitors.errors))}" if visitors.errors else "")
    )
    print(
        f"  latency  p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   p99 {p99:6.1f} ms   "
        f"mean {statistics.fmean(ms):6.1f} ms   max {max(ms):6.1f} ms"
    )
    if visitors.thanks:
        thanks = [v * 1000 for v in visitors.thanks]
        print(
            f"  then     the thank-you page (GET after the redirect): p50 "
            f"{percentile(thanks, 0.5):.1f} ms, p95 {percentile(thanks, 0.95):.1f} ms"
        )
    print(f"  target   p95 < {TARGET_P95_MS:.0f} ms at 20 concurrent visitors: {verdict} it")
    print(f"  rate     {rate:6.1f} submissions/s ({len(ms)} in {wall:.1f} s)")
    servers = [pid for pid in cpu if pid != (site.processes[-1].pid if not args.no_worker else 0)]
    server_cpu = sum(cpu[pid] for pid in servers)
    worker_cpu = sum(cpu.values()) - server_cpu
    print(
        f"  cpu      web {1000 * server_cpu / max(len(ms), 1):.1f} ms per POST; "
        f"worker {worker_cpu:.1f} s; visitors (this process) {own_cpu:.1f} s; "
        f"over {wall:.1f} s on {os.cpu_count()} CPUs"
    )
    print(
        f"  machine  load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
        "(other work on the machine inflates the tail)"
    )
    total = sum(outbox.values())
    print(
        f"  outbox   {total} enquiries stored: "
        + ", ".join(f"{status} {count}" for status, count in sorted(outbox.items()))
        + f"; XPM calls attempted meanwhile: {sandbox.api_calls}"
    )
    if args.json:
        figures = [
            Figure("POST latency p50", p50, "ms"),
            Figure("POST latency p95", p95, "ms", target=TARGET_P95_MS, headline=True),
            Figure("POST latency p99", p99, "ms"),
            Figure("POST latency max", max(ms), "ms"),
            Figure("errors (anything but the thank-you redirect)", len(visitors.errors),
                   "errors", target=0, target_op="==",
                   note=", ".join(sorted(set(visitors.errors)))),
            Figure("submissions per second", rate, "/s",
                   note=f"{len(ms):,} POSTs measured (+{len(visitors.warm_up)} warm-up) "
                   f"in {wall:.1f} s"),
            Figure("web CPU per POST", 1000 * server_cpu / max(len(ms), 1), "ms"),
            Figure("enquiries stored", total, "enquiries",
                   note=", ".join(f"{k} {v}" for k, v in sorted(outbox.items()))),
        ]  # fmt: skip
        write_result(
            args.json,
            benchmark="form",
            title="Contact form with XPM down",
            about=(
                f"{args.clients} concurrent visitors POST enquiries to the example site's "
                f"/contact/ page ({args.processes} server processes x {args.threads} threads; "
                f"{worker}); {xpm}. Every POST must still end on the thank-you page with the "
                f"enquiry kept in the outbox, and the p95 stay under {TARGET_P95_MS:.0f} ms."
            ),
            figures=figures,
            context={
                "db": database,
                "cache": cache,
                "worker": worker,
                "xpm": xpm,
                "clients": args.clients,
                "processes": args.processes,
                "threads": args.threads,
                "load_before": load_before,
                "load_after": os.getloadavg()[0],
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
