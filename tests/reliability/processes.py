"""Real processes for the reliability tests: forked workers that die by SIGKILL, the test
database as other processes see it, and Huey consumers started with ``manage.py run_huey``.

Workers are forked from the test process (fork start method), so they run the code, settings
and sandbox URLs the test configured, without paying for a fresh Django start-up each time.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection, connections

FORK = multiprocessing.get_context("fork")
PROJECT_DIR = Path(__file__).resolve().parents[2]


class SharedDatabase:
    """The test database, reachable from other processes.

    PostgreSQL: the test database itself. SQLite: pytest-django keeps the test database in
    this process's memory, where no other process can reach it; it is copied to a file for
    the workers (``export``) and copied back (``import_``) before the test reads the outcome.
    While workers run, the test must not write through its own connection.
    """

    def __init__(self, directory: Path) -> None:
        self.sqlite_file = directory / "shared.sqlite3" if connection.vendor == "sqlite" else None

    def export(self) -> None:
        if self.sqlite_file is None:
            return
        connection.ensure_connection()
        target = sqlite3.connect(self.sqlite_file)
        try:
            connection.connection.backup(target)
        finally:
            target.close()

    def import_(self) -> None:
        if self.sqlite_file is None:
            return
        connection.ensure_connection()
        source = sqlite3.connect(self.sqlite_file)
        try:
            source.backup(connection.connection)
        finally:
            source.close()

    def url(self) -> str:
        """A DATABASE_URL for a subprocess (``manage.py``)."""
        if self.sqlite_file is not None:
            return f"sqlite:///{self.sqlite_file}"
        db = connection.settings_dict
        user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"], safe="")
        return (
            f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{db['NAME']}"
        )

    def use_in_child(self) -> None:
        """In a forked child: open a connection of its own (to the file on SQLite)."""
        for conn in connections.all(initialized_only=True):
            # The parent's socket or in-memory handle is not ours to use (or to close).
            conn.connection = None
        if self.sqlite_file is not None:
            connections["default"].settings_dict["NAME"] = str(self.sqlite_file)


class Worker:
    """A forked process running ``target(*args)``; it starts work when ``go()`` is called,
    so the test can arm a kill switch with its pid first."""

    def __init__(
        self,
        shared: SharedDatabase,
        target: Callable[..., Any],
        *args: Any,
        die_before_query: int | None = None,
        trace: Path | None = None,
    ) -> None:
        self._go = FORK.Event()
        # Database sockets must not be shared with the child (SQLite's in-memory handle
        # survives close(): Django keeps the in-memory test database open on purpose).
        connections.close_all()
        self.process = FORK.Process(
            target=self._run, args=(shared, target, args, die_before_query, trace), daemon=True
        )
        self.process.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _run(self, shared, target, args, die_before_query, trace) -> None:
        shared.use_in_child()
        counter = itertools.count(1)
        log = trace.open("w", buffering=1) if trace else None

        def count_or_die(execute, sql, params, many, context):
            n = next(counter)
            if log:
                log.write(f"{statement(sql)}\n")
            if n == die_before_query:
                os.kill(os.getpid(), signal.SIGKILL)
            return execute(sql, params, many, context)

        if not self._go.wait(timeout=30):
            raise SystemExit("never told to start")
        # Main-thread statements only: the sync's custom-field threads have their own.
        with connection.execute_wrapper(count_or_die):
            target(*args)
        connections.close_all()

    def go(self) -> None:
        self._go.set()

    def kill(self) -> None:
        """SIGKILL the worker if it is still running (clean-up after a failed test)."""
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)

    def join(self, timeout: float = 60) -> int:
        """Wait for the worker; returns its exit code (``-SIGKILL`` when it was killed)."""
        self.process.join(timeout)
        if self.process.is_alive():
            self.kill()
            raise AssertionError(f"worker {self.pid} did not finish within {timeout}s")
        return self.process.exitcode

    @property
    def exitcode(self) -> int | None:
        return self.process.exitcode

    @property
    def killed(self) -> bool:
        return self.process.exitcode == -signal.SIGKILL


def statement(sql: str) -> str:
    """``UPDATE wagtail_xpm_syncrun``: what a statement does, to name a kill point."""
    words = sql.replace('"', "").split()
    verb = words[0].upper() if words else "?"
    upper = [word.upper() for word in words]
    after = {"UPDATE": "UPDATE", "INSERT": "INTO"}.get(verb, "FROM")
    if after in upper[:-1]:
        verb = f"{verb} {words[upper.index(after) + 1]}"
    return f"{verb} FOR UPDATE" if sql.rstrip().upper().endswith("FOR UPDATE") else verb


class KillSwitch:
    """Wraps the sandbox's API app (it serves on a thread of the test process): counts the
    API calls that arrive, and SIGKILLs a worker at its k-th call, either when the call
    arrives (``"before"``: XPM never sees it) or once XPM has handled it (``"after"``: the
    change is made and the worker dies before it hears the answer)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self._lock = threading.Lock()
        self.paths: list[str] = []
        self._target: tuple[int, int, str] | None = None

    def watch(self, pid: int | None = None, *, at: int = 0, when: str = "before") -> None:
        """Start counting from zero; kill ``pid`` at call number ``at`` (if given)."""
        assert when in ("before", "after")
        with self._lock:
            self.paths = []
            self._target = (pid, at, when) if pid else None

    def disarm(self) -> None:
        """Stop killing (the calls counted so far stay in ``paths``)."""
        with self._lock:
            self._target = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            self.paths.append(environ.get("PATH_INFO", ""))
            fire = self._target if self._target and self._target[1] == len(self.paths) else None
        if fire is None:
            return self.app(environ, start_response)
        pid, _, when = fire
        if when == "before":
            os.kill(pid, signal.SIGKILL)
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        answer: dict[str, Any] = {}

        def hold(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return lambda data: None

        body = self.app(environ, hold)
        try:
            data = b"".join(body)  # the handler has run: XPM made the change
        finally:
            if hasattr(body, "close"):
                body.close()
        os.kill(pid, signal.SIGKILL)
        start_response(answer["status"], answer["headers"])
        return [data]


def free_redis_leases(tenant_id: str) -> int | None:
    """Expire the rate-limit leases a killed worker still holds in Redis (it would hold
    them for ``lease_seconds``, 2 minutes); returns how many there were (None without
    Redis). Stands for the time passing, like backdating a heartbeat."""
    from wagtail_xpm import services
    from wagtail_xpm.xpm.ratelimit import RedisRateLimiter

    limiter = services.rate_limiter()
    if not isinstance(limiter, RedisRateLimiter):
        return None
    import redis

    client = redis.Redis.from_url(settings.WAGTAIL_XPM["RATE_LIMIT_REDIS_URL"])
    key = f"{limiter.key_prefix}:{tenant_id}:leases"
    held = client.zcard(key)
    client.delete(key)
    return held


class Consumer:
    """``manage.py run_huey`` in its own process group, its output in a log file."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_huey"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_started(self, deadline: float) -> None:
        while "Huey consumer started" not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start in time:\n{self.output()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (Huey stops at once), then SIGKILL the group if it lingers."""
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
        finally:
            self._log_file.close()
