"""docs/benchmarks.md from the machine's facts and every benchmark's JSON result."""

from __future__ import annotations

import math
from typing import Any

OPERATORS = {"<": "<", "<=": "≤", "==": "=", ">=": "≥"}
# Units written straight after the number.
TIGHT_UNITS = {"%", "x", "/s"}


def number(value: float | None) -> str:
    """Enough digits to read, no more: 0.318, 6.42, 25.4, 1,363."""
    if value is None:
        return ""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = abs(value)
    digits = 3 if magnitude < 1 else 2 if magnitude < 10 else 1 if magnitude < 1000 else 0
    return f"{value:,.{digits}f}"


def quantity(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if not unit:
        return number(value)
    return f"{number(value)}{'' if unit in TIGHT_UNITS else ' '}{unit}"


def target(figure: dict[str, Any]) -> str:
    if figure["target"] is None:
        return ""
    return f"{OPERATORS[figure['target_op']]} {quantity(figure['target'], figure['unit'])}"


def ratio(figure: dict[str, Any]) -> str:
    if figure["ratio"] is None:
        return ""
    text = f"{figure['ratio']:.2f}×"
    if figure["ratio_target"] is not None:
        text += f" (target ≤ {figure['ratio_target']:g}×)"
    return text


def verdict(figure: dict[str, Any]) -> str:
    return {True: "met", False: "**missed**", None: ""}[figure["met"]]


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def figure_rows(result: dict[str, Any]) -> list[list[str]]:
    rows = []
    for figure in result["figures"]:
        floor = quantity(figure["floor"], figure["unit"])
        if floor and figure["floor_name"]:
            floor += f" ({figure['floor_name']})"
        rows.append(
            [
                figure["name"],
                quantity(figure["value"], figure["unit"]),
                target(figure),
                floor,
                ratio(figure),
                verdict(figure),
                figure["note"],
            ]
        )
    return rows


def outcome(result: dict[str, Any]) -> str:
    """The benchmark's verdict in a sentence."""
    judged = [f for f in result["figures"] if f["met"] is not None]
    missed = [f["name"] for f in judged if f["met"] is False]
    if not judged:
        return "No figure here has a target: they are for reading, not for a verdict."
    if not missed:
        if len(judged) == 1:
            return "The one figure with a target met it."
        return f"All {len(judged)} figures with a target met it."
    return (
        f"{len(judged) - len(missed)} of {len(judged)} figures with a target met it; "
        f"missed: {'; '.join(missed)}."
    )


def context(values: dict[str, Any]) -> str:
    """A benchmark's settings in a line: "db sqlite 3.40.1, contacts 100,000"."""
    shown = []
    for key, value in values.items():
        if value is None or value == "":
            continue
        if isinstance(value, float):
            value = f"{value:.3g}"
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        shown.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(shown)


def took(run: dict[str, Any] | None) -> str:
    """How long a script took, and how busy the machine was before and after it."""
    if not run:
        return ""
    seconds = run["seconds"]
    text = f" took {seconds:.0f} s" if seconds < 90 else f" took {seconds / 60:.1f} min"
    if len(run["load"]) == 2:
        text += f" (load average {run['load'][0]:.2f}, then {run['load'][1]:.2f})"
    return text


def load(values: list[float] | None) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "unknown"


def machine_section(machine: dict[str, Any]) -> list[str]:
    packages = machine["packages"]
    versions = ", ".join(f"{name} {v}" for name, v in packages.items() if v)
    db = machine["database"]
    memory = f"{machine['memory_gib']:.1f} GiB" if machine["memory_gib"] else "unknown"
    rows = [
        ["Started", machine["date"]],
        ["CPU", f"{machine['cpu']} ({machine['cores']} logical cores)"],
        ["RAM", memory],
        ["OS", machine["os"]],
        ["Python", machine["python"]],
        ["Packages", versions],
        ["Database", f"{db['engine']}, {db['where']}"],
        ["Cache and queue", db["redis"] or "local memory / SQLite Huey (no REDIS_URL)"],
        ["Commit", machine["commit"] or "unknown"],
        ["Load average (1 / 5 / 15 min)", f"{load(machine['load_before'])} before, "
         f"{load(machine['load_after'])} after"],
    ]  # fmt: skip
    lines = ["## The machine", "", *table(["", ""], rows), ""]
    busiest = max([*(machine["load_before"] or [0]), *(machine["load_after"] or [0])])
    if machine["cores"] and busiest > machine["cores"] / 2:
        lines += [
            f"The load average reached {busiest:.1f} on {machine['cores']} cores: other work "
            "shared the machine, so the times (tail latencies above all) are pessimistic.",
            "",
        ]
    return lines


def document(
    machine: dict[str, Any],
    results: list[dict[str, Any]],
    *,
    plots: dict[str, list[tuple[str, str]]],
    runs: dict[str, dict[str, Any]],
    command: str,
    quick: bool,
) -> str:
    """The whole report.

    ``plots`` maps a benchmark to its (caption, relative path) images, ``runs`` to how long
    its script took and the load average before and after it.
    """
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` (`bench/report.py`), which runs every `bench/` script in a "
        "fresh process and collects its figures. Each figure is shown with its target, and "
        "with its floor (the least the same work could cost on this machine) and the ratio "
        "to it where one is measured. Regenerate it on a quiet machine: times depend on "
        "everything else the machine is doing.",
        "",
    ]
    if quick:
        lines += [
            "> **Quick run**: smaller sizes than the targets are stated for; the figures show "
            "that the benchmarks work, not how fast the code is.",
            "",
        ]
    headlines = [(r, f) for r in results for f in r["figures"] if f["headline"]]
    lines += [
        "## At a glance",
        "",
        *table(
            ["benchmark", "figure", "value", "target", "ratio to floor", "verdict"],
            [
                [
                    r["title"],
                    f["name"],
                    quantity(f["value"], f["unit"]),
                    target(f),
                    ratio(f),
                    verdict(f),
                ]
                for r, f in headlines
            ],  # fmt: skip
        ),
        "",
    ]
    lines += machine_section(machine)
    for result in results:
        name = result["benchmark"]
        lines += [f"## {result['title']}", "", result["about"], ""]
        lines += [f"`{result['command']}`{took(runs.get(name))}.", ""]
        if settings := context(result["context"]):
            lines += [f"Run with {settings}.", ""]
        for caption, path in plots.get(name, []):
            lines += [f"![{caption}]({path})", ""]
        lines += table(
            ["figure", "value", "target", "floor", "ratio", "verdict", "note"],
            figure_rows(result),
        )
        lines += ["", outcome(result), ""]
    return "\n".join(lines).rstrip() + "\n"
