"""Running the sandbox as a process: ``python -m wagtail_xpm.sandbox`` and
``manage.py xpm_sandbox`` share these options and this loop."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .sandbox import Sandbox

# With --state, save this often (seconds) when something changed, so a crash loses little.
SAVE_INTERVAL = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line options (shared with the Django management command)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument("--clients", type=int, default=25, help="clients to generate")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="load the practice from FILE if it exists; save it there on changes and exit",
    )
    parser.add_argument(
        "--auto-consent",
        action="store_true",
        help="skip the consent page: authorize redirects back at once",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="never answer 429 (benchmarks)"
    )
    parser.add_argument("--day-limit", type=int, default=5000, help="calls per tenant per day")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=None,
        metavar="URI",
        help="registered redirect URI (repeatable; default: any loopback http URI)",
    )
    parser.add_argument(
        "--log-requests", action="store_true", help="print a line per request to stderr"
    )
    parser.add_argument(
        "--smtp-port",
        type=int,
        default=None,
        help="also run a mail catcher: an SMTP server on this port (0: a free one) whose "
        "emails are shown at /_sandbox/mail/",
    )
    parser.add_argument(
        "--mail-dir", metavar="DIR", help="keep the caught emails in DIR (as .eml files)"
    )


def build_sandbox(options: dict[str, Any], out: TextIO) -> Sandbox:
    """Load the practice from ``--state`` when the file exists, else generate one."""
    sandbox_options: dict[str, Any] = {
        "rate_limits": not options.get("no_rate_limits", False),
        "day_limit": options.get("day_limit", 5000),
        "auto_consent": options.get("auto_consent", False),
        "allowed_redirect_uris": options.get("redirect_uri") or None,
    }
    state_file = options.get("state")
    if state_file and Path(state_file).exists():
        sb = Sandbox.load(state_file, **sandbox_options)
        out.write(f"Loaded practice from {state_file}\n")
    else:
        sb = Sandbox.generate(
            clients=options.get("clients", 25), seed=options.get("seed", 1), **sandbox_options
        )
    return sb


def describe(sb: Sandbox, url: str) -> str:
    """What to print at start-up: where it is, and how to point a site at it."""
    counts = sb.state.counts()
    lines = [
        f"XPM sandbox for {sb.practice_name!r} listening on {url}",
        f"  tenant id       {sb.tenant_id}",
        f"  client id       {sb.client_id}",
        f"  client secret   {sb.client_secret}",
        f"  clients         {counts['clients']} ({counts['contacts']} contacts, "
        f"{counts['staff']} staff)",
        f"  inspect         {url}/_sandbox/",
        "",
        "Point a site at it with:",
    ]
    lines += [f"  export {key}={value}" for key, value in sb.env_vars(url).items()]
    return "\n".join(lines) + "\n"


def run(
    options: dict[str, Any],
    out: TextIO = sys.stdout,
    *,
    stop: threading.Event | None = None,
    on_ready: Callable[[Sandbox, str], None] | None = None,
) -> int:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set); save ``--state`` periodically
    and on the way out. ``on_ready(sandbox, url)`` is called once serving (for tests)."""
    sb = build_sandbox(options, out)
    state_file = options.get("state")
    stop = stop or threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, request_stop)
    catcher = None
    if options.get("smtp_port") is not None:
        from .mail import Mailbox, MailCatcher
        from .mailpages import MailApp

        catcher = MailCatcher(
            options.get("host", "127.0.0.1"),
            options["smtp_port"],
            mailbox=Mailbox(options.get("mail_dir")),
        )
        sb.wsgi_app.mail = MailApp(catcher)
    server = sb.serve(
        options.get("host", "127.0.0.1"),
        options.get("port", 8765),
        quiet=not options.get("log_requests", False),
    )
    out.write(describe(sb, server.url))
    if catcher is not None:
        out.write(
            f"  mail catcher    SMTP {catcher.host}:{catcher.port}; "
            f"emails at {server.url}/_sandbox/mail/\n"
        )
    out.flush()
    if on_ready is not None:
        on_ready(sb, server.url)
    saved_changes = -1 if state_file and not Path(state_file).exists() else sb.changes
    try:
        while not stop.wait(SAVE_INTERVAL if state_file else 1.0):
            if state_file and sb.changes != saved_changes:
                saved_changes = sb.changes
                sb.save(state_file)
    finally:
        server.stop()
        if catcher is not None:
            catcher.down()
        if state_file:
            sb.save(state_file)
            out.write(f"Saved practice to {state_file}\n")
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        out.write("XPM sandbox stopped\n")
        out.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m wagtail_xpm.sandbox``."""
    parser = argparse.ArgumentParser(
        prog="python -m wagtail_xpm.sandbox",
        description="Run the local XPM 3.1 + Xero identity emulator.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(vars(args))
