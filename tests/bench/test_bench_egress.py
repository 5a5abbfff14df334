"""bench/egress.py: a month of sync measured in bytes. The real month takes minutes; here
its event plan, its plot, and a short real run on a small practice."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))

_spec = importlib.util.spec_from_file_location("bench_egress", BENCH / "egress.py")
egress = sys.modules["bench_egress"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(egress)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_month_changes_as_the_issue_says() -> None:
    import random

    events = egress.plan_events(random.Random(1), 10_000, 30)
    kinds = Counter(e.kind for e in events)
    assert kinds["change"] == 30 * 100  # 1% of the clients a day
    assert kinds["custom"] == 30 * 50  # 0.5% a day, without the client changing
    assert kinds["delete"] == 5
    assert events == sorted(events)
    # The month follows the first sync's days.
    first, end = egress.FIRST_SYNC_DAYS * egress.DAY, (egress.FIRST_SYNC_DAYS + 30) * egress.DAY
    assert all(egress.T0 + first <= e.at < egress.T0 + end for e in events)
    # Deletions early enough for a weekly check to find them within the month.
    last = max(e.at for e in events if e.kind == "delete")
    assert last < egress.T0 + end - egress.TARGET_DELETION_DAYS * egress.DAY
    assert events == egress.plan_events(random.Random(1), 10_000, 30)  # reproducible


def test_the_bytes_per_day_plot(tmp_path: Path) -> None:
    from reporting import plots

    per_day = [
        {
            "day": d,
            "bytes": 3e6 + (14e6 if d % 7 == 6 else 0),
            "floor": 2.5e5 + (14e6 if d % 7 == 0 else 0),
            "baseline": 2.2e7,
        }  # noqa: E501
        for d in range(0, 31)
    ]
    path = plots.egress_bytes({"data": {"per_day": per_day}}, tmp_path / "egress-bytes.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert "egress" in plots.PLOTS


@pytest.mark.slow
def test_a_short_month_on_a_small_practice(tmp_path: Path) -> None:
    path = tmp_path / "egress.json"
    subprocess.run(
        [sys.executable, str(BENCH / "egress.py"), "--clients", "60", "--days", "8",
         "--json", str(path)],
        cwd=ROOT, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    result = json.loads(path.read_text())
    assert result["benchmark"] == "egress"
    figures = {f["name"]: f for f in result["figures"]}
    assert figures["most calls in a day"]["met"] is True
    assert figures["oldest custom-field value of an emailable client"]["value"] <= 7
    deletion = figures["deletion found, latest"]
    assert deletion["met"] is True, deletion["note"]
    days = result["data"]["per_day"]
    assert [d["day"] for d in days] == list(range(egress.FIRST_SYNC_DAYS + 8))
    assert days[0]["bytes"] > days[1]["bytes"] > 0  # the first sync is the big download
    # Every day's runs: 24 hourly syncs; the month's days have the measured floor and daily
    # full download.
    assert all(d["runs"] == 24 for d in days[1:])
    month = days[egress.FIRST_SYNC_DAYS :]
    assert all(d["floor"] > 0 for d in month)
    assert all(d["baseline"] > d["bytes"] for d in month if not d.get("bytes_reconcile"))
