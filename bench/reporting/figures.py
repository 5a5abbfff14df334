"""One benchmark's figures as JSON: each value with its unit, target, floor, ratio and verdict.

A bench script builds a list of ``Figure`` and passes it to ``write_result`` when run with
``--json PATH``; ``bench/report.py`` reads those files back.
"""

from __future__ import annotations

import json
import operator
import re
import shlex
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = 1
PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
COMPARISONS = {"<": operator.lt, "<=": operator.le, "==": operator.eq, ">=": operator.ge}


@dataclass(frozen=True)
class Figure:
    """One measured value, with what it is held against (all optional).

    ``target`` is compared with ``target_op`` (``value < target`` by default); ``floor`` is
    the least the same work could cost, in the same unit, and ``ratio_target`` the most
    ``value / floor`` may be. A figure with neither target is reported without a verdict.
    """

    name: str
    value: float
    unit: str = ""
    target: float | None = None
    target_op: str = "<"
    floor: float | None = None
    floor_name: str = ""
    ratio_target: float | None = None
    note: str = ""
    # Shown in the report's "targets at a glance" table.
    headline: bool = False

    def __post_init__(self) -> None:
        if self.target_op not in COMPARISONS:
            raise ValueError(f"unknown target_op {self.target_op!r}")
        if self.ratio_target is not None and self.floor is None:
            raise ValueError(f"{self.name}: a ratio target needs a floor")

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor if self.floor else None

    @property
    def met(self) -> bool | None:
        """True when every target is met, False when one is missed, None without targets."""
        checks = []
        if self.target is not None:
            checks.append(COMPARISONS[self.target_op](self.value, self.target))
        if self.ratio_target is not None:
            checks.append(self.ratio is not None and self.ratio <= self.ratio_target)
        return all(checks) if checks else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def redact(text: str) -> str:
    """``postgres://user:secret@host`` -> ``postgres://user:***@host``: reports get published."""
    return PASSWORD_IN_URL.sub(r"\1***@", text)


def command_line() -> str:
    """How the script was run, less the ``--json`` output option and any password."""
    script = Path(sys.argv[0]).resolve()
    if script.is_relative_to(Path.cwd()):
        script = script.relative_to(Path.cwd())
    args, skip = [str(script)], False
    for arg in sys.argv[1:]:
        if skip or arg == "--json" or arg.startswith("--json="):
            skip = arg == "--json"
            continue
        args.append(redact(arg))
    return shlex.join(["python", *args])


def write_result(
    path: str | Path,
    *,
    benchmark: str,
    title: str,
    about: str,
    figures: Iterable[Figure],
    context: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Write one run's figures; ``data`` holds anything else the report plots."""
    result = {
        "schema": SCHEMA,
        "benchmark": benchmark,
        "title": title,
        "about": about,
        "command": command_line(),
        "context": context or {},
        "figures": [figure.as_dict() for figure in figures],
        "data": data or {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
