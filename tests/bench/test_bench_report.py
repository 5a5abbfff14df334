"""`make bench`'s report: JSON results in, docs/benchmarks.md and its PNG plots out.

The benchmarks themselves take most of an hour; these tests feed the report fixture results
and stand-in scripts, and run one real script (parse_memory) on a tiny body.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
# Appended, not prepended: the bench scripts' names must never shadow anything else.
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))

from reporting import Figure, write_result  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
report = sys.modules["bench_report"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def curve_pixels(png: Path, colour: tuple[int, int, int] = (31, 119, 180)) -> int:
    """Pixels near matplotlib's first line colour (the "first sync" curves)."""
    from PIL import Image

    with Image.open(png) as image:
        counts = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return sum(n for n, rgb in counts if all(abs(a - b) < 30 for a, b in zip(rgb, colour)))


def sync_run(clients: int, seconds: float, floor: float, rss: float) -> dict:
    return {
        "clients": clients,
        "sync": {"seconds": seconds, "rss_peak_mb": rss, "rss_growth_mb": rss - 150},
        "floor": {"seconds": floor, "custom_seconds": clients / 400, "custom_calls": clients},
    }


def write_fixture_run(results: Path) -> None:
    """A run.json and one result per benchmark, shaped as the scripts write them."""
    results.mkdir(parents=True)
    runs = [sync_run(1000, 2.6, 1.4, 158), sync_run(10_000, 25.4, 6.4, 216),
            sync_run(50_000, 140.0, 33.0, 420)]  # fmt: skip
    write_result(
        results / "sync.json",
        benchmark="sync",
        title="Client sync",
        about="A first sync against the sandbox.",
        figures=[
            Figure(
                "10,000 clients: first sync",
                25.4,
                "s",
                target=20,
                floor=6.4,
                floor_name="list + parse + one bulk insert",
                ratio_target=1.5,
                headline=True,
            ),
            Figure("10,000 clients: peak RSS", 216.0, "MB", target=250, headline=True),
            Figure("10,000 clients: API calls", 10_001, "calls", target=10_001, target_op="<="),
        ],  # fmt: skip
        context={"db": "sqlite 3.40.1", "sandbox": "own process"},
        data={
            "runs": runs,
            "targets": {"clients": 10_000, "seconds": 20, "mb": 250, "floor_ratio": 1.5},
        },
    )
    write_result(
        results / "form.json",
        benchmark="form",
        title="Contact form with XPM down",
        about="Visitors post enquiries while XPM is down.",
        figures=[Figure("POST latency p95", 42.5, "ms", target=100, headline=True)],
    )
    machine = report.machine.describe(ROOT, {})
    machine["load_after"] = [1.0, 0.5, 0.25]
    run = {
        "machine": machine,
        "runs": {
            "sync": {"seconds": 600.0, "load": [1.5, 0.75]},
            "form": {"seconds": 45.0, "load": []},
        },
        "quick": False,
        "command": "make bench",
    }
    (results / "run.json").write_text(json.dumps(run))


def test_figure_verdicts() -> None:
    assert Figure("t", 19.0, "s", target=20).met is True
    assert Figure("t", 21.0, "s", target=20).met is False
    assert Figure("writes", 0, target=0, target_op="==").met is True
    # A target met but the floor ratio missed is a miss.
    slow = Figure("t", 19.0, "s", target=20, floor=10.0, ratio_target=1.5)
    assert (slow.ratio, slow.met) == (1.9, False)
    assert Figure("t", 14.0, "s", floor=10.0, ratio_target=1.5).met is True
    assert Figure("peak", 0.4, "MiB").met is None
    with pytest.raises(ValueError):
        Figure("t", 1.0, ratio_target=1.5)


def test_passwords_in_urls_never_reach_the_report() -> None:
    redact = report.redact
    url = "postgres://postgres:s3cret@127.0.0.1:5432/wagtail_xpm_bench"
    assert redact(url) == "postgres://postgres:***@127.0.0.1:5432/wagtail_xpm_bench"
    assert redact("--redis redis://127.0.0.1:6379/13") == "--redis redis://127.0.0.1:6379/13"


def test_the_report_renders_results_into_markdown_and_png(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_fixture_run(results)
    output = tmp_path / "docs" / "benchmarks.md"

    assert report.main(["--from-json", str(results), "--output", str(output)]) == 0

    text = output.read_text()
    assert text.startswith("# Benchmarks\n")
    assert "Written by `make bench`" in text and "Quick run" not in text
    # The machine, with the load average before and after.
    assert "## The machine" in text
    assert "| Python | " in text and "wagtail " in text and "Django " in text
    assert "before, 1.00 / 0.50 / 0.25 after" in text
    # Each benchmark: its sentence, its table, its ratio to the floor and its verdict.
    assert "## Client sync" in text and "A first sync against the sandbox." in text
    assert (
        "| 10,000 clients: first sync | 25.4 s | < 20 s | 6.40 s (list + parse + one bulk "
        "insert) | 3.97× (target ≤ 1.5×) | **missed** |"
    ) in text
    assert "| 10,000 clients: peak RSS | 216 MB | < 250 MB |" in text
    assert "| POST latency p95 | 42.5 ms | < 100 ms |  |  | met |" in text
    assert "2 of 3 figures with a target met it; missed: 10,000 clients: first sync." in text
    assert "took 10.0 min (load average 1.50, then 0.75)." in text and "took 45 s." in text
    # The plots, linked relative to the document.
    for name in ("sync-time.png", "sync-memory.png"):
        assert f"](benchmarks/{name})" in text
        png = output.parent / "benchmarks" / name
        assert png.read_bytes()[:8] == PNG_MAGIC
        # The first-sync curve is drawn, not only its legend entry (~150 pixels).
        assert curve_pixels(png) > 1000


def test_a_full_run_writes_the_doc_and_a_failing_script_leaves_it_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    scripts = tmp_path / "bench"
    scripts.mkdir()
    (scripts / "good.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BENCH)!r})\n"
        "from reporting import Figure, write_result\n"
        "print('measuring', sys.argv[1:])\n"
        "write_result(sys.argv[-1], benchmark='good', title='Good', about='Works.',\n"
        "             figures=[Figure('t', 1.5, 's', target=2)])\n"
    )
    (scripts / "broken.py").write_text("import sys\nprint('boom')\nsys.exit(3)\n")
    doc = tmp_path / "docs" / "benchmarks.md"
    monkeypatch.setattr(report, "BENCH", scripts)
    monkeypatch.setattr(report, "DOC", doc)
    monkeypatch.setattr(report, "SCRATCH", tmp_path / "scratch")

    monkeypatch.setattr(report, "BENCHES", (report.Bench("good", ("--full",), ("--small",)),))
    monkeypatch.setattr(report, "unlisted_scripts", lambda: [])
    assert report.main([]) == 0
    text = doc.read_text()
    assert "## Good" in text and "| t | 1.50 s | < 2 s |  |  | met |" in text
    assert "good.py --full`" in text and "--json" not in text  # how it was run
    assert (tmp_path / "scratch" / "results" / "good.log").read_text().startswith("measuring")

    # A quick run never replaces the published figures.
    assert report.main(["--quick"]) == 0
    assert "Quick run" in (tmp_path / "scratch" / "benchmarks.md").read_text()
    assert "Quick run" not in doc.read_text()

    monkeypatch.setattr(report, "BENCHES", (report.Bench("broken"), report.Bench("good")))
    capsys.readouterr()
    assert report.main([]) == 1
    error = capsys.readouterr().err
    assert "bench/broken.py failed (exit code 3)" in error and "no report written" in error
    assert doc.read_text() == text
    # It stopped at the failure: the next script never ran.
    assert not (tmp_path / "scratch" / "results" / "good.json").exists()


def test_every_bench_script_is_run_by_the_report_and_takes_json() -> None:
    assert report.unlisted_scripts() == []
    for bench in report.BENCHES:
        done = subprocess.run(
            [sys.executable, str(BENCH / f"{bench.name}.py"), "--help"],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "--json PATH" in done.stdout, bench.name


def test_a_real_script_writes_its_figures_as_json(tmp_path: Path) -> None:
    path = tmp_path / "parse_memory.json"
    subprocess.run(
        [sys.executable, str(BENCH / "parse_memory.py"), "--mb", "0.2", "--json", str(path)],
        cwd=ROOT, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    result = json.loads(path.read_text())
    assert result["benchmark"] == "parse_memory"
    assert result["command"] == "python bench/parse_memory.py --mb 0.2"
    figures = {f["name"]: f for f in result["figures"]}
    peak = figures["streamed parse: allocation peak"]
    assert peak["unit"] == "MiB" and 0 < peak["value"] < 50
    assert figures["body streamed"]["value"] == pytest.approx(0.2, rel=0.1)
