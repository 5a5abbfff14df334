"""Peak memory of parsing a large `client.api/list?detailed=true` body.

    .venv/bin/python bench/parse_memory.py [--mb 50] [--whole] [--json PATH]

Streams a generated detailed client list (default 50 MB, about 15,900 clients) through
`XpmClient.list_clients(detailed=True)` over a mocked HTTP response, and prints the body
size, the client count, the elapsed time and tracemalloc's peak. With `--whole` it also
parses the same body in one piece, for contrast (needs a lot of memory).
Prints figures; it is not a pass/fail test. ``--json PATH`` also writes them there for
``bench/report.py``.
"""

from __future__ import annotations

import argparse
import gc
import io
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "xpm"))

import responses  # noqa: E402
import xpm_testdata as td  # noqa: E402
from reporting import Figure, write_result  # noqa: E402

from wagtail_xpm.xpm import parsing  # noqa: E402


def _mb(size: float) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def streamed(count: int) -> dict[str, float]:
    raw = td.GeneratedBody(td.client_list_chunks(count, detailed=True))
    client, _ = td.make_client()
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{td.API_URL}client.api/list",
            body=io.BufferedReader(raw, buffer_size=64 * 1024),
            content_type="text/xml; charset=utf-8",
        )
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        seen = sum(1 for _ in client.list_clients(detailed=True))
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(
        f"streamed  body {_mb(raw.bytes_served):>10}  clients {seen:>6}  "
        f"peak {_mb(peak):>10}  ({peak / raw.bytes_served:.2%} of body)  {elapsed:.1f}s "
        "(under tracemalloc)"
    )
    return {"body": raw.bytes_served, "clients": seen, "peak": peak, "seconds": elapsed}


def whole(count: int) -> dict[str, float]:
    body = td.client_list_bytes(count, detailed=True)
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    seen = len(parsing.parse_client_list(body))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"whole     body {_mb(len(body)):>10}  clients {seen:>6}  "
        f"peak {_mb(peak):>10}  ({peak / len(body):.2%} of body, body itself not counted)  "
        f"{elapsed:.1f}s"
    )
    return {"body": len(body), "clients": seen, "peak": peak, "seconds": elapsed}


def write_json(path: str, stream: dict[str, float], in_one_piece: dict[str, float] | None) -> None:
    mib = 1024 * 1024
    figures = [
        Figure("body streamed", stream["body"] / mib, "MiB", note=f"{stream['clients']:,} clients"),
        Figure(
            "streamed parse: allocation peak",
            stream["peak"] / mib,
            "MiB",
            note=f"{stream['peak'] / stream['body']:.2%} of the body (tracemalloc)",
            headline=True,
        ),
        Figure("streamed parse: time under tracemalloc", stream["seconds"], "s"),
    ]
    if in_one_piece:
        figures += [
            Figure(
                "whole-body parse (for contrast): allocation peak",
                in_one_piece["peak"] / mib,
                "MiB",
                note="the body itself not counted",
            ),
            Figure("whole-body parse: time under tracemalloc", in_one_piece["seconds"], "s"),
        ]
    write_result(
        path,
        benchmark="parse_memory",
        title="Parsing a large client list",
        about=(
            f"A generated `client.api/list?detailed=true` body of {stream['body'] / mib:.0f} MiB "
            f"({stream['clients']:,} clients; XPM sends 50 MB and more for 15,000 clients) "
            "streamed through `XpmClient.list_clients(detailed=True)`: the parser's allocation "
            "peak should stay small and about the same however large the body (no numeric "
            "target); the whole-body parse, when run, shows what streaming saves."
        ),
        figures=figures,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="body size in MiB")
    parser.add_argument("--whole", action="store_true", help="also parse the body in one piece")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there as JSON")
    args = parser.parse_args()
    count = td.clients_for_size(int(args.mb * 1024 * 1024), detailed=True)
    stream = streamed(count)
    in_one_piece = whole(count) if args.whole else None
    if args.json:
        write_json(args.json, stream, in_one_piece)


if __name__ == "__main__":
    main()
