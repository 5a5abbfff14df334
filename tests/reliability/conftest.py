"""Reliability suite: each test reports what it measured, printed after the run.

pytest captures a passing test's output, so figures go through the `measured` fixture and
are printed in the terminal summary under "reliability figures", on SQLite and PostgreSQL
alike (CI runs the suite on both).
"""

from __future__ import annotations

import pytest
from django.db import connection as db_connection

_FIGURES: list[tuple[str, str]] = []


class Measured:
    """Collects "name: value" lines for one test."""

    def __init__(self, nodeid: str):
        self.nodeid = nodeid

    def __call__(self, what: str, value) -> None:
        _FIGURES.append((self.nodeid, f"{what}: {value}"))


@pytest.fixture
def measured(request) -> Measured:
    return Measured(request.node.nodeid.split("::")[-1])


@pytest.fixture
def needs_postgres():
    if db_connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks across connections (set DATABASE_URL)")


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section(f"reliability figures ({db_connection.vendor})")
    last = None
    for nodeid, line in _FIGURES:
        if nodeid != last:
            terminalreporter.write_line(nodeid)
            last = nodeid
        terminalreporter.write_line(f"    {line}")
