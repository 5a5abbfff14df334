"""The machine a benchmark run was made on: figures mean little without it."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PACKAGES = ("Django", "wagtail", "huey", "requests", "psycopg", "redis")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return None


def os_name() -> str:
    try:
        release = dict(
            line.split("=", 1)
            for line in Path("/etc/os-release").read_text().splitlines()
            if "=" in line
        )
        distribution = release.get("PRETTY_NAME", "").strip('"')
    except OSError:
        distribution = ""
    kernel = f"{platform.system()} {platform.release()} {platform.machine()}"
    return f"{distribution}, {kernel}" if distribution else kernel


def load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:  # not on every platform
        return []


def version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_commit(root: Path) -> str | None:
    """The commit benchmarked, marked when the working tree had changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit} (with uncommitted changes)" if dirty else commit


def postgres_version(url: str) -> str | None:
    # The server's maintenance database: the named one need not exist (the benchmarks make
    # their own).
    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    try:
        import psycopg

        with psycopg.connect(server, connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # a fact for the report, never a reason to fail it
        return None


def database(environ: dict[str, str]) -> dict[str, Any]:
    """Which database the benchmarks used; never the URL itself (it may hold a password)."""
    url = environ.get("DATABASE_URL", "")
    redis = environ.get("REDIS_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        host = urlsplit(url)
        engine = f"PostgreSQL {postgres_version(url) or '(version unknown)'}"
        where = f"throwaway databases on {host.hostname}:{host.port or 5432}"
    elif url:
        engine, where = urlsplit(url).scheme, "DATABASE_URL"
    else:
        engine, where = f"SQLite {sqlite3.sqlite_version}", "throwaway files under var/bench/"
    if redis:
        parts = urlsplit(redis)
        redis = f"Redis at {parts.hostname}:{parts.port or 6379}{parts.path}"
    return {"engine": engine, "where": where, "redis": redis or None}


def describe(root: Path, environ: dict[str, str]) -> dict[str, Any]:
    """The facts taken before a run (the load average is taken again after it)."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "os": os_name(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in PACKAGES},
        "database": database(environ),
        "commit": git_commit(root),
        "load_before": load_average(),
        "load_after": None,
    }
