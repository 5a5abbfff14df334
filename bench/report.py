"""Run every benchmark and write docs/benchmarks.md: the figures, the machine, the plots.

    .venv/bin/python bench/report.py            # all of them, full sizes (`make bench`)
    .venv/bin/python bench/report.py --quick    # small sizes, in minutes; var/bench/report/
    .venv/bin/python bench/report.py --only sync,form
    .venv/bin/python bench/report.py --from-json var/bench/report/results

Each ``bench/*.py`` script runs in a fresh process with ``--json``; its printout goes to the
terminal and to ``<results>/<name>.log``. The report is written only when every script
succeeded: a failure stops the run with the script's name and log, and leaves the previous
report as it was. Only a full run of every script writes ``docs/benchmarks.md`` (and
``docs/benchmarks/*.png``) by default; ``--quick`` and ``--only`` write under
``var/bench/report/`` unless ``--output`` says otherwise.

With ``DATABASE_URL`` set (PostgreSQL), sync, segments and admin use a throwaway ``test_<name>``
database on that server, form a fresh ``<name>_bench_form`` one (and ``REDIS_URL``, when
set, for its cache and queue); slack always runs on SQLite, since it would otherwise migrate
the configured database itself. Point ``DATABASE_URL`` at a database name, and ``REDIS_URL``
at a Redis database, that no test run is using at the same time.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporting import machine, markdown
from reporting.figures import redact

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "benchmarks.md"
SCRATCH = ROOT / "var" / "bench" / "report"
# A script running longer than this is stuck, not slow.
TIMEOUT_SECONDS = 3 * 3600


@dataclass(frozen=True)
class Bench:
    name: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    # How the script gets DATABASE_URL and REDIS_URL: "env" (it reads them itself), "options"
    # (--postgres/--redis), or "sqlite" (never: it would migrate the configured database).
    services: str = "env"


# In the order they run; every bench/*.py script but this one must be listed.
BENCHES = (
    Bench(
        "sync",
        ("--sizes", "1000,5000,10000,25000,50000", "--engine-sizes", "10000,50000"),
        ("--sizes", "300,1000", "--engine-sizes", "1000"),
    ),
    Bench("egress", (), ("--quick",)),
    # Real minutes (about 8 at 20 practices); skipped without PostgreSQL and Redis.
    Bench("tenants", (), ("--quick",)),
    Bench("parse_memory", ("--whole",), ("--mb", "5", "--whole")),
    Bench("segments", (), ("--contacts", "10000", "--recipients", "1000", "--repeat", "3")),
    Bench("admin", (), ("--contacts", "10000", "--clients", "6000", "--repeat", "3")),
    Bench("form", (), ("--requests", "200"), services="options"),
    Bench("slack", (), ("--requests", "20", "--xpm-delay", "0.5"), services="sqlite"),
)


class BenchFailed(Exception):
    pass


def unlisted_scripts() -> list[str]:
    listed = {bench.name for bench in BENCHES}
    return sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in listed | {"report"})


def environment(bench: Bench, base: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The script's environment and its database options (see the module's docstring)."""
    env = dict(base)
    args: list[str] = []
    if bench.services == "options":
        if env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
            args += ["--postgres", env["DATABASE_URL"]]
        if env.get("REDIS_URL"):
            args += ["--redis", env["REDIS_URL"]]
    elif bench.services == "sqlite":
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
    return env, args


def run_one(
    bench: Bench, *, quick: bool, results: Path, base_env: dict[str, str]
) -> dict[str, Any]:
    """Run one script to ``<results>/<name>.json``; its printout is shown and logged.

    Returns how long it took and the 1-minute load average before and after it.
    """
    env, db_args = environment(bench, base_env)
    output = results / f"{bench.name}.json"
    log_path = results / f"{bench.name}.log"
    output.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(BENCH / f"{bench.name}.py"),
        *(bench.quick if quick else bench.full),
        *db_args,
        "--json",
        str(output),
    ]
    shown = shlex.join(["python", f"bench/{bench.name}.py", *map(redact, command[2:-2])])
    print(f"\n== {shown}", flush=True)
    load_before = machine.load_average()[:1]
    started = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1,
        )  # fmt: skip
        watchdog = threading.Timer(TIMEOUT_SECONDS, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                log.write(line)
            returncode = process.wait()
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
    took = {
        "seconds": time.perf_counter() - started,
        "load": load_before + machine.load_average()[:1],
    }
    if returncode != 0:
        how = f"exit code {returncode}" if returncode > 0 else f"killed by signal {-returncode}"
        raise BenchFailed(f"bench/{bench.name}.py failed ({how}); see {log_path}")
    try:
        json.loads(output.read_text())
    except (OSError, ValueError) as exc:
        raise BenchFailed(f"bench/{bench.name}.py wrote no usable {output}: {exc}") from exc
    return took


def load_run(results: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A run's facts (``run.json``) and the result of every benchmark it ran."""
    try:
        run = json.loads((results / "run.json").read_text())
        loaded = [json.loads((results / f"{name}.json").read_text()) for name in run["runs"]]
    except (OSError, ValueError, KeyError) as exc:
        raise BenchFailed(f"no complete run in {results}: {exc}") from exc
    return run, loaded


def default_output(run: dict[str, Any]) -> Path:
    """docs/benchmarks.md for a full run of every benchmark only."""
    complete = list(run["runs"]) == [bench.name for bench in BENCHES]
    return DOC if complete and not run["quick"] else SCRATCH / "benchmarks.md"


def write_report(results: Path, output: Path, plots_dir: Path) -> None:
    """Render a run's JSON into ``output`` and ``plots_dir``."""
    from reporting import plots  # matplotlib: only when there is something to draw

    run, loaded = load_run(results)
    drawn = plots.draw(loaded, plots_dir)
    relative = {
        name: [(caption, os.path.relpath(path, output.parent)) for caption, path in images]
        for name, images in drawn.items()
    }
    text = markdown.document(
        run["machine"],
        loaded,
        plots=relative,
        runs=run["runs"],
        command=run["command"],
        quick=run["quick"],
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    # Replace the old report in one step: never half of one.
    partial = output.with_suffix(".md.partial")
    partial.write_text(text)
    partial.replace(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (minutes, not an hour)")
    parser.add_argument("--only", help="comma-separated benchmarks to run (default: all)")
    parser.add_argument("--output", type=Path, help="the report (default: see above)")
    parser.add_argument("--plots", type=Path, help="where the PNGs go (default: beside it)")
    parser.add_argument(
        "--from-json", type=Path, metavar="DIR", help="render an earlier run's results only"
    )
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    results = args.from_json or SCRATCH / "results"
    if not args.from_json:
        names = [bench.name for bench in BENCHES]
        if args.only:
            wanted = {n.strip() for n in args.only.split(",") if n.strip()}
            if unknown := sorted(wanted - set(names)):
                parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {names}")
            names = [n for n in names if n in wanted]
        if unlisted := unlisted_scripts():
            print(
                f"bench/report.py: {', '.join(f'bench/{n}.py' for n in unlisted)} not in "
                "BENCHES (add it, with its full and quick arguments)",
                file=sys.stderr,
            )
            return 1
        command = "make bench" + (f" BENCH_ARGS='{shlex.join(argv)}'" if argv else "")
        try:
            run_all(names, results, quick=args.quick, command=command)
        except BenchFailed as exc:
            print(f"\nbench/report.py: {exc}; no report written.", file=sys.stderr)
            return 1
    try:
        output = args.output or default_output(load_run(results)[0])
        plots_dir = args.plots or output.parent / output.stem
        write_report(results, output, plots_dir)
    except BenchFailed as exc:
        print(f"bench/report.py: {exc}", file=sys.stderr)
        return 1
    print(f"\nWrote {output} and {plots_dir}/ (from {results})")
    return 0


def run_all(names: list[str], results: Path, *, quick: bool, command: str) -> None:
    """Run the named benchmarks into ``results``, then record the run in ``run.json``."""
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True)
    base_env = dict(os.environ)
    facts = machine.describe(ROOT, base_env)
    runs = {}
    for bench in BENCHES:
        if bench.name in names:
            runs[bench.name] = run_one(bench, quick=quick, results=results, base_env=base_env)
    facts["load_after"] = machine.load_average()
    run = {"machine": facts, "runs": runs, "quick": quick, "command": command}
    (results / "run.json").write_text(json.dumps(run, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
