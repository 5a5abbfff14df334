"""Slack ack latency: how fast ``/slack/events`` answers ``/xpm sync`` and ``/xpm status``
while XPM is slow.

    .venv/bin/python bench/slack.py [--requests 200] [--concurrency 4] [--xpm-delay 2.0]
                                    [--slack-delay 0.2] [--clients 200] [--keep]
                                    [--json PATH]

Slack gives up on a slash command after 3 seconds; the target here is a p99 under 300 ms.
The script builds a real deployment in one process:

* the XPM sandbox (``--clients`` clients) on loopback, every API call slowed by
  ``--xpm-delay`` seconds (``sandbox.faults.slow``), and the tests' mock Slack Web API
  (users.info, chat.postMessage, response URLs...) with ``--slack-delay`` on every call;
* the example site on a throwaway SQLite file under ``var/bench/`` (or ``DATABASE_URL``):
  migrated, connected to the sandbox with a refresh token, served by a threaded WSGI server
  on 127.0.0.1, with a Huey consumer (2 worker threads) running the queued syncs, so a slow
  sync is in progress during the measurement;
* ``--requests`` signed slash commands of each kind, ``--concurrency`` at a time, through
  the real Django view (Bolt's Django adapter, signature verification, replay guard); the
  time measured is from sending the request to Slack's having the acknowledgement.

Prints p50/p95/p99/max per command against the 300 ms target, and what the bot did after
acknowledging (replies sent, sync messages posted, runs). Not a pass/fail test.
``--json PATH`` also writes the figures there for ``bench/report.py``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from reporting import Figure, write_result

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "slackbot"))  # the tests' mock Slack Web API

TARGET_MS = 300.0
SLACK_LIMIT_MS = 3000.0
SECRET = "bench-signing-secret"
TEAM = "T0BENCH"
CHANNEL = "C0BENCH"
USERS = [f"U0BENCH{i}" for i in range(8)]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per command")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--xpm-delay", type=float, default=2.0, help="seconds per XPM call")
    parser.add_argument("--slack-delay", type=float, default=0.2, help="seconds per Slack call")
    parser.add_argument("--clients", type=int, default=200, help="XPM clients in the sandbox")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there as JSON")
    args = parser.parse_args()

    from cryptography.fernet import Fernet
    from slack_mock import MockSlack, command_body, sign

    from wagtail_xpm.sandbox import Sandbox

    sandbox = Sandbox.generate(clients=args.clients, seed=7)
    sandbox_server = sandbox.serve()
    slack = MockSlack().__enter__()
    work_dir = ROOT / "var" / "bench" / f"slack-{os.getpid()}"
    work_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "example_site.settings",
            "VAR_DIR": str(work_dir),
            "DJANGO_DEBUG": "0",
            # DEBUG off refuses the example site's public key (example_site/settings.py).
            "DJANGO_SECRET_KEY": "bench-slack-secret-key-not-for-production",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "XPM_TOKEN_KEYS": Fernet.generate_key().decode(),
            "XPM_SANDBOX_URL": sandbox_server.url,
            "XPM_LOG_LEVEL": "WARNING",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_API_URL": slack.api_url,
            "SLACK_ALLOWED_TEAM_IDS": TEAM,
        }
    )
    import logging

    import django

    django.setup()
    # The figures are the output; the consumer's and the bot's own logs would drown them.
    logging.disable(logging.WARNING)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from huey.consumer import Consumer
    from huey.contrib.djhuey import HUEY

    from example_site.home.setup import ensure_example_site
    from wagtail_xpm import services
    from wagtail_xpm.models import SyncRun

    call_command("migrate", verbosity=0)
    site = ensure_example_site()
    tokens = sandbox.issue_tokens()
    connection = services.connect_with_refresh_token(
        site=site, refresh_token=tokens["refresh_token"]
    )
    user_model = get_user_model()
    for index, slack_user in enumerate(USERS):
        email = f"ops{index}@bench.example"
        user_model.objects.create_superuser(f"ops{index}", email, "x")
        slack.add_user(slack_user, email)

    consumer = Consumer(HUEY, workers=2, worker_type="thread", periodic=False)
    consumer.start()
    server = make_server(
        "127.0.0.1", 0, get_wsgi_application(), ThreadingWSGIServer, handler_class=QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]

    # Now make everything outside the bot slow.
    sandbox.faults.slow(args.xpm_delay)
    for method in ("users.info", "chat.postMessage", "chat.update", "respond"):
        slack.delays[method] = args.slack_delay

    def send(text: str, user: str) -> tuple[float, int]:
        body = command_body(
            text,
            team_id=TEAM,
            user_id=user,
            channel_id=CHANNEL,
            response_url=slack.response_url("bench"),
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        conn.close()
        return elapsed, response.status

    # Warm up (first request imports and builds the Bolt app), and start a slow sync.
    send("help", USERS[0])
    send("sync full", USERS[0])
    time.sleep(1.0)

    jobs = [(text, USERS[i % len(USERS)]) for i in range(args.requests) for text in
            ("sync", "status")]  # fmt: skip
    results: dict[str, list[float]] = {"sync": [], "status": []}
    statuses: list[int] = []
    lock = threading.Lock()

    def one(job: tuple[str, str]) -> None:
        text, user = job
        elapsed, status = send(text, user)
        with lock:
            results[text].append(elapsed)
            statuses.append(status)

    running_before = SyncRun.objects.filter(status="running").exists()
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        list(pool.map(one, jobs))
    wall = time.perf_counter() - began
    running_after = SyncRun.objects.filter(status="running").exists()

    # Let the work after the acknowledgements finish before counting it.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        replies = len(slack.calls_to("respond")) + len(slack.calls_to("chat.postMessage"))
        if replies >= len(jobs):
            break
        time.sleep(0.5)

    from django.db import connection as db

    print(
        f"Slack ack latency: {args.requests} × /xpm sync and /xpm status, {args.concurrency} at "
        f"a time, Python {sys.version.split()[0]}, {db.vendor}, {args.clients} XPM clients"
    )
    print(f"XPM slowed to {args.xpm_delay:.1f} s per call, Slack Web API to "
          f"{args.slack_delay:.1f} s per call; a Huey consumer syncing meanwhile")  # fmt: skip
    print()
    print(
        f"{'command':<14}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}  target"
    )
    worst = 0.0
    for text, values in results.items():
        p99 = percentile(values, 99)
        worst = max(worst, p99)
        verdict = "ok" if p99 < TARGET_MS else "MISSED"
        print(
            f"{'/xpm ' + text:<14}{len(values):>5}{statistics.median(values):>10.1f}"
            f"{percentile(values, 95):>10.1f}{p99:>10.1f}{max(values):>10.1f}"
            f"  p99 < {TARGET_MS:.0f} ms: {verdict}"
        )
    every = results["sync"] + results["status"]
    print(
        f"{'all':<14}{len(every):>5}{statistics.median(every):>10.1f}"
        f"{percentile(every, 95):>10.1f}{percentile(every, 99):>10.1f}{max(every):>10.1f}"
    )
    print()
    over = sum(1 for v in every if v >= SLACK_LIMIT_MS)
    non_200 = sum(1 for s in statuses if s != 200)
    print(f"wall time {wall:.1f} s; responses other than 200: {non_200}; "
          f"over Slack's 3 s limit: {over}")  # fmt: skip
    runs = SyncRun.objects.filter(connection=connection)
    print(
        f"a sync was running when the burst began: {running_before}, when it ended: {running_after}"
    )
    print(
        f"after the acks: {len(slack.calls_to('respond'))} ephemeral replies, "
        f"{len(slack.calls_to('chat.postMessage'))} sync messages posted; sync runs: "
        + ", ".join(
            f"{count} {status}" for status, count in sorted(Counter(r.status for r in runs).items())
        )
    )
    print(f"p99 target {TARGET_MS:.0f} ms: {'met' if worst < TARGET_MS else 'MISSED'}")
    if args.json:
        figures = []
        for text, values in results.items():
            command = f"/xpm {text}"
            figures += [
                Figure(f"{command}: ack p50", statistics.median(values), "ms"),
                Figure(f"{command}: ack p95", percentile(values, 95), "ms"),
                Figure(f"{command}: ack p99", percentile(values, 99), "ms", target=TARGET_MS,
                       headline=True),
                Figure(f"{command}: ack max", max(values), "ms"),
            ]  # fmt: skip
        figures += [
            Figure("responses other than 200", non_200, "responses", target=0, target_op="=="),
            Figure(f"acks over Slack's {SLACK_LIMIT_MS / 1000:.0f} s limit", over, "responses",
                   target=0, target_op="=="),
            Figure("burst wall time", wall, "s",
                   note=f"a sync running at its start: {running_before}, at its end: "
                   f"{running_after}"),
        ]  # fmt: skip
        write_result(
            args.json,
            benchmark="slack",
            title="Slack acknowledgement latency",
            about=(
                f"{args.requests} signed `/xpm sync` and {args.requests} `/xpm status` slash "
                f"commands, {args.concurrency} at a time, through the real /slack/events view "
                f"while XPM answers in {args.xpm_delay:g} s, Slack's Web API in "
                f"{args.slack_delay:g} s and a sync runs: Slack gives up after 3 s, the target "
                f"is a p99 under {TARGET_MS:.0f} ms."
            ),
            figures=figures,
            context={
                "db": db.vendor,
                "requests": args.requests,
                "concurrency": args.concurrency,
                "xpm_delay": args.xpm_delay,
                "slack_delay": args.slack_delay,
                "clients": args.clients,
            },
        )

    consumer.stop()
    server.shutdown()
    slack.__exit__(None, None, None)
    sandbox_server.stop()
    if not args.keep:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
