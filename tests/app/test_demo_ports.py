"""scripts/demo_ports.py: `make demo` stops with advice when its ports are taken."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from wagtail_xpm.sandbox import Sandbox

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_ports.py"


def run(*specs: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *specs], capture_output=True, text=True, timeout=30
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_free_ports_pass_silently():
    result = run(f"{free_port()}:DEMO_PORT", f"{free_port()}:SANDBOX_PORT")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_port_held_by_another_program_is_named_with_the_way_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run(f"{port}:DEMO_PORT")
    assert result.returncode == 1
    assert f"Port {port} is already in use" in result.stderr
    # The next free port after it (port + 1, unless another program, or another pytest-xdist
    # worker, took that one meanwhile).
    suggested = re.search(r"make demo DEMO_PORT=(\d+)\n", result.stderr)
    assert suggested and int(suggested[1]) > port, result.stderr
    assert "Traceback" not in result.stderr


def test_an_earlier_demos_sandbox_is_recognised():
    sandbox = Sandbox.generate(clients=1, seed=1)
    with sandbox.serve() as server:
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        result = run(f"{port}:SANDBOX_PORT")
    assert result.returncode == 1
    assert "an XPM sandbox (probably from an earlier `make demo`)" in result.stderr


def test_a_mail_catcher_is_recognised_without_a_traceback():
    # An SMTP server greets first; reading it as HTTP used to raise BadStatusLine.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def greet():
            for _ in range(4):  # the script connects at most a few times
                try:
                    conn, _addr = listener.accept()
                except OSError:
                    return
                with conn:
                    conn.sendall(b"220 mail.sandbox.invalid Python SMTP 1.4.6\r\n")

        listener.settimeout(10)
        threading.Thread(target=greet, daemon=True).start()
        result = run(f"{port}:MAIL_PORT")
    assert result.returncode == 1
    assert "the sandbox's mail catcher" in result.stderr
    assert "Traceback" not in result.stderr
    assert "or choose other ports: make demo MAIL_PORT=" in result.stderr
