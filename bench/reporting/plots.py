"""The curves a table tells less well: sync time and memory against the client count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

TARGET_COLOUR = "#c0392b"
THOUSANDS = FuncFormatter(lambda value, _: f"{value:,.0f}")


def _axes(title: str, ylabel: str):
    figure, axes = plt.subplots(figsize=(8, 4.8), dpi=110)
    axes.set_title(title)
    axes.set_xlabel("XPM clients in the first sync")
    axes.set_ylabel(ylabel)
    axes.xaxis.set_major_formatter(THOUSANDS)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _save(figure, axes, path: Path) -> Path:
    # From zero, after plotting (setting a limit earlier stops autoscaling to the data).
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left", fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    # No timestamp in the PNG, so regenerating unchanged figures changes no bytes.
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return path


def sync_time(result: dict[str, Any], path: Path) -> Path:
    """First-sync wall time, its floors and the targets, against the client count."""
    runs = sorted(result["data"]["runs"], key=lambda r: r["clients"])
    clients = [r["clients"] for r in runs]
    figure, axes = _axes("First sync: wall time against client count", "wall time (s)")
    axes.plot(clients, [r["sync"]["seconds"] for r in runs], "o-", lw=2, label="first sync")
    floors = [r["floor"]["seconds"] for r in runs]
    axes.plot(clients, floors, "s--", label="floor: list + parse + one bulk insert")
    targets = result["data"]["targets"]
    axes.plot(
        clients, [targets["floor_ratio"] * f for f in floors], ":", color=TARGET_COLOUR,
        label=f"target: within {targets['floor_ratio']:g} × the floor",
    )  # fmt: skip
    if any(r["floor"]["custom_calls"] for r in runs):
        axes.plot(
            clients,
            [r["floor"]["seconds"] + r["floor"]["custom_seconds"] for r in runs],
            "^-.",
            alpha=0.7,
            label="floor + minimum custom-field calls, one at a time",
        )
    axes.plot(
        [targets["clients"]], [targets["seconds"]], "*", ms=15, color=TARGET_COLOUR,
        label=f"target: {targets['clients']:,} clients under {targets['seconds']:g} s",
    )  # fmt: skip
    return _save(figure, axes, path)


def sync_memory(result: dict[str, Any], path: Path) -> Path:
    """Peak RSS of the syncing process, and its growth during the sync, with the target."""
    runs = sorted(result["data"]["runs"], key=lambda r: r["clients"])
    clients = [r["clients"] for r in runs]
    figure, axes = _axes("First sync: peak memory against client count", "memory (MB)")
    axes.plot(
        clients, [r["sync"]["rss_peak_mb"] for r in runs], "o-", lw=2,
        label="peak RSS of the syncing process",
    )  # fmt: skip
    axes.plot(
        clients, [r["sync"]["rss_growth_mb"] for r in runs], "s--",
        label="growth of the peak during the sync",
    )  # fmt: skip
    targets = result["data"]["targets"]
    axes.axhline(
        targets["mb"], color=TARGET_COLOUR, ls=":",
        label=f"target: under {targets['mb']:g} MB at {targets['clients']:,} clients",
    )  # fmt: skip
    return _save(figure, axes, path)


def egress_bytes(result: dict[str, Any], path: Path) -> Path:
    """Bytes downloaded per day of the month: ours, the floor, and today's daily full download."""
    # The month: after the first sync's days (whose downloads are every strategy's alike).
    days = [d for d in result["data"]["per_day"] if d.get("floor")]
    x = [d["day"] for d in days]
    figure, axes = plt.subplots(figsize=(8, 4.8), dpi=110)
    axes.set_title("A month of sync: data downloaded from XPM per day")
    axes.set_xlabel("day (0: the first sync)")
    axes.set_ylabel("downloaded per day (MB)")
    axes.grid(True, alpha=0.3)
    axes.plot(
        x, [d.get("bytes", 0) / 1e6 for d in days], "o-", lw=2,
        label="this sync: changes hourly, custom fields kept fresh, a weekly check",
    )  # fmt: skip
    axes.plot(
        x, [d.get("floor", 0) / 1e6 for d in days], "s--",
        label="floor: changed records + their custom fields + a weekly paged-list",
    )  # fmt: skip
    axes.plot(
        x, [d.get("baseline", 0) / 1e6 for d in days], ":", color=TARGET_COLOUR,
        label="(a) before: a full detailed download every day",
    )  # fmt: skip
    axes.set_xlim(left=0)
    # Room above the curves for the legend.
    highest = max(max(d.get(k, 0) for k in ("bytes", "floor", "baseline")) for d in days)
    axes.set_ylim(top=1.45 * highest / 1e6)
    return _save(figure, axes, path)


# Per benchmark: (file name, caption, function).
PLOTS = {
    "egress": [
        ("egress-bytes.png", "Data downloaded from XPM per day over the month", egress_bytes),
    ],
    "sync": [
        ("sync-time.png", "First-sync wall time and its floor against client count", sync_time),
        ("sync-memory.png", "First-sync peak memory against client count", sync_memory),
    ],
}


def draw(results: list[dict[str, Any]], directory: Path) -> dict[str, list[tuple[str, Path]]]:
    """Every plot the results allow: {benchmark: [(caption, path)]}."""
    drawn: dict[str, list[tuple[str, Path]]] = {}
    for result in results:
        for filename, caption, plot in PLOTS.get(result["benchmark"], []):
            drawn.setdefault(result["benchmark"], []).append(
                (caption, plot(result, directory / filename))
            )
    return drawn
