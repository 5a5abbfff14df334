"""``python scripts/demo_ports.py PORT[:NAME] ...``: are the demo's ports free?

Exits 0 when every port can be bound on 127.0.0.1. Otherwise prints, for each busy port, who
seems to answer there (an earlier `make demo`, the sandbox, or another program) and what to
do, and exits 1, so `make demo` stops with advice instead of a traceback.
"""

from __future__ import annotations

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


def who_answers(port: int) -> str:
    """A few words on what listens on ``port``, from what it answers over HTTP."""
    base = f"http://{HOST}:{port}"
    for path, marker, label in (
        ("/_sandbox/", "sandbox", "an XPM sandbox (probably from an earlier `make demo`)"),
        ("/", "Example Accounting", "the example site (probably an earlier `make demo`)"),
    ):
        try:
            with urllib.request.urlopen(base + path, timeout=2) as response:  # noqa: S310
                body = response.read(65536).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            body = exc.read(65536).decode("utf-8", "replace") if exc.fp else ""
        except (OSError, ValueError):
            return "a program that does not answer HTTP"
        if marker.lower() in body.lower():
            return label
    title = re.search(r"<title>(.*?)</title>", body, re.I | re.S)
    return "another web server" + (f" (page title: {title.group(1).strip()!r})" if title else "")


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
        suggestion = " ".join(f"{variable}={port + 1}" for port, variable in busy if variable)
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
