"""``python scripts/demo_ports.py PORT[:NAME] ...``: are the demo's ports free?

Exits 0 when every port can be bound on 127.0.0.1. Otherwise prints, for each busy port, who
seems to answer there (an earlier `make demo`, the sandbox, or another program) and what to
do, and exits 1, so `make demo` stops with advice instead of a traceback.
"""

from __future__ import annotations

import http.client
import re
import socket
import sys
import urllib.error
import urllib.request

HOST = "127.0.0.1"


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def greeting(port: int) -> str:
    """The first line a server sends unasked (an SMTP server's ``220 ...``), or ""."""
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.settimeout(1)
            return sock.recv(512).decode("latin-1").strip()
    except OSError:  # timeout: an HTTP server waits for the request
        return ""


def who_answers(port: int) -> str:
    """A few words on what listens on ``port``, from what it says first or over HTTP."""
    hello = greeting(port)
    if hello.startswith("220"):
        if "sandbox" in hello:
            return "the sandbox's mail catcher (probably from an earlier `make demo`)"
        return "a mail (SMTP) server"
    base = f"http://{HOST}:{port}"
    # The site first: its 404 page for /_sandbox/ would name the path and look like one.
    for path, marker, label in (
        ("/", "Example Accounting", "the example site (probably an earlier `make demo`)"),
        ("/_sandbox/", "XPM sandbox", "an XPM sandbox (probably from an earlier `make demo`)"),
    ):
        try:
            with urllib.request.urlopen(base + path, timeout=2) as response:  # noqa: S310
                body = response.read(65536).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            body = exc.read(65536).decode("utf-8", "replace") if exc.fp else ""
        except (OSError, ValueError, http.client.HTTPException):
            return "a program that does not answer HTTP"
        if marker.lower() in body.lower():
            return label
    title = re.search(r"<title>(.*?)</title>", body, re.I | re.S)
    return "another web server" + (f" (page title: {title.group(1).strip()!r})" if title else "")


def free_alternatives(specs: list[str], busy: list[tuple[int, str]]) -> dict[str, int]:
    """For each busy port's variable, the next free port that no other demo port uses."""
    taken = {int(spec.partition(":")[0]) for spec in specs}
    chosen: dict[str, int] = {}
    for port, variable in busy:
        if not variable:
            continue
        candidate = port + 1
        while candidate in taken or not is_free(candidate):
            candidate += 1
        taken.add(candidate)
        chosen[variable] = candidate
    return chosen


def main(argv: list[str]) -> int:
    busy = []
    for spec in argv:
        port_text, _, variable = spec.partition(":")
        port = int(port_text)
        if not is_free(port):
            busy.append((port, variable))
    for port, _variable in busy:
        print(f"Port {port} is already in use by {who_answers(port)}.", file=sys.stderr)
    if busy:
        suggestion = " ".join(f"{v}={p}" for v, p in free_alternatives(argv, busy).items())
        print(
            "Stop that program (an earlier demo stops with Ctrl+C in its terminal; "
            f"`lsof -i :{busy[0][0]}` or `ss -ltnp` shows who listens), or choose other ports: "
            f"make demo {suggestion}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
