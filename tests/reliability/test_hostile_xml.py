"""Hostile XPM replies, end to end: served by the sandbox, read by the real client, inside a
real sync run.

After a good sync, a genuine change waits in XPM and the sandbox answers one call with a
hostile body: entity expansion ("billion laughs"), external entities (a local file and a
loopback URL), an external DTD, or 200 MB streamed without ever being built. Each must be
refused quickly with an `XpmResponseError`, in bounded memory, without fetching anything,
and the run must fail in words an editor understands with the CRM exactly as it was. Once
XPM behaves again, the next run applies the waiting change: the refusal cost nothing.

Both reading paths are covered: the streamed client list and a whole-body custom-field read.
(Parser-level refusals are unit-tested in tests/xpm/test_xpm_parsing.py.)
"""

from __future__ import annotations

import gc
import re
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wagtail_xpm import services
from wagtail_xpm.models import FieldMapping, PracticeClient, SyncRun

from .test_sync_under_faults import crm_snapshot

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
CHUNK = b"A" * (64 * 1024)
BIG = 200 * MB
LIST = "client.api/list"
CUSTOM_FIELDS = "/customfield"
RENAMED = "Renamed While Under Attack Ltd"


def client_list(name: str, doctype: str = "") -> bytes:
    """A plausible one-client list whose name carries the payload."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}<Response api-method="List">'
        "<Status>OK</Status><Clients><Client><UUID>7c0a5a52-0000-4000-8000-000000000001</UUID>"
        f"<Name>{name}</Name><Email>owner@example.test</Email></Client></Clients></Response>"
    ).encode()


# &lol9; would expand to 10**9 "lol"s: 3 GB from a 1 KB body.
BILLION_LAUGHS = (
    '<!DOCTYPE Response [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    + "]>"
)


class Streamed:
    """A 200 MB body yielded in 64 KB chunks (never built), counting what was sent."""

    def __init__(self, head: bytes, tail: bytes, size: int = BIG) -> None:
        self.head, self.tail, self.size = head, tail, size
        self.sent = 0

    def __call__(self) -> Iterator[bytes]:
        yield self.head
        for _ in range(self.size // len(CHUNK)):
            self.sent += len(CHUNK)
            yield CHUNK
        yield self.tail


@dataclass(frozen=True)
class Case:
    path: str
    body: Callable[[str], bytes | Streamed]  # given the canary's URL
    refusal: str  # words of the XpmResponseError, quoted in the run's message
    # Bound on the run's tracemalloc peak and peak RSS growth. tracemalloc also counts the
    # in-process sandbox, whose server takes a 10 MB read buffer when a client hangs up.
    max_peak_mb: int


CASES = {
    "billion-laughs-in-client-list": Case(
        LIST, lambda url: client_list("&lol9;", BILLION_LAUGHS), "hostile XML", 16
    ),
    "billion-laughs-in-custom-fields": Case(
        CUSTOM_FIELDS,
        lambda url: (
            f'{BILLION_LAUGHS}<Response api-method="Get"><Status>OK</Status><CustomFields>'
            "<CustomField><UUID>x</UUID><Name>Plan Level</Name><Text>&lol9;</Text>"
            "</CustomField></CustomFields></Response>"
        ).encode(),
        "hostile XML",
        16,
    ),
    "external-entity-file": Case(
        LIST,
        lambda url: client_list(
            "&xxe;", '<!DOCTYPE Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        ),
        "hostile XML",
        16,
    ),
    "external-entity-url": Case(
        LIST,
        lambda url: client_list("&xxe;", f'<!DOCTYPE Response [<!ENTITY xxe SYSTEM "{url}/xxe">]>'),
        "hostile XML",
        16,
    ),
    "external-dtd": Case(
        LIST,
        lambda url: client_list(
            "&fromdtd;",
            f'<!DOCTYPE Response SYSTEM "{url}/xpm.dtd" '
            f'[<!ENTITY % more SYSTEM "{url}/more.dtd"> %more;]>',
        ),
        "hostile XML",
        16,
    ),
    # One 200 MB text node: the list is streamed (a big practice's list may be hundreds of
    # MB), so it is the per-client cap that must stop it, not the 1 GB stream cap.
    "200mb-client-list": Case(
        LIST,
        lambda url: Streamed(
            client_list("").split(b"</Name>")[0], b"</Name></Client></Clients></Response>"
        ),
        "without completing a client record",
        64,
    ),
    "200mb-custom-fields": Case(
        CUSTOM_FIELDS,
        lambda url: Streamed(
            b'<Response api-method="Get"><Status>OK</Status><CustomFields><CustomField>'
            b"<UUID>x</UUID><Name>Plan Level</Name><Text>",
            b"</Text></CustomField></CustomFields></Response>",
        ),
        "byte limit",
        96,  # the client holds up to its 32 MB cap before refusing
    ),
}


class Canary:
    """A loopback HTTP server that records every request: the parser must never call it."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'<!ENTITY fromdtd "fetched">')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            # A short poll: shutdown() waits up to one interval (0.5 s by default) per test.
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


def peak_rss_reset() -> bool:
    """Reset this process's peak RSS (Linux); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"{field}:\s+(\d+)", f.read()).group(1))


@pytest.mark.parametrize("name", CASES)
def test_hostile_reply_is_refused_quickly_in_bounded_memory_and_changes_nothing(
    name, connected_site, running_sandbox, canary, measured
):
    case = CASES[name]
    sandbox = running_sandbox.sandbox
    FieldMapping.objects.create(
        connection=connected_site, source="custom:Plan Level", key="plan_level", label="Plan"
    )
    good = services.run_sync(connected_site, trigger="cli")
    assert good.status == SyncRun.Status.SUCCEEDED, good.message
    before = crm_snapshot(connected_site)

    # A real change waits in XPM; the hostile reply is to the call that would bring it in.
    changed = next(c for c in sandbox.state.clients.values() if not c.is_deleted)
    changed.name = RENAMED
    sandbox.state.touch_client(changed, sandbox.clock())
    body = case.body(canary.url)
    sandbox.faults.replace_body(body, path=case.path)

    gc.collect()
    can_track_rss = peak_rss_reset()
    rss_before = rss_kb("VmRSS")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        run = services.run_sync(connected_site, trigger="cli")
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth_mb = max(0, rss_kb("VmHWM") - rss_before) / 1024 if can_track_rss else None

    assert not sandbox.faults.active  # the hostile body really was served
    # Refused, in words an editor understands, quoting the client's error for support.
    assert run.status == SyncRun.Status.FAILED
    assert run.message.startswith("XPM sent a reply the website could not safely read")
    assert "before changing anything" in run.message
    assert case.refusal in run.message
    assert "root:" not in run.message and "fetched" not in run.message
    assert run.errors and case.refusal in run.errors[-1]
    # Nothing was applied, not even the genuine change, and nothing was fetched.
    assert crm_snapshot(connected_site) == before
    assert not PracticeClient.objects.filter(name=RENAMED).exists()
    assert canary.hits == []
    # Quick, and in memory far below what expanding or buffering the reply would take.
    assert seconds < 5, f"{seconds:.1f} s to refuse"
    assert peak < case.max_peak_mb * MB, f"peak {peak / MB:.1f} MB"
    if rss_growth_mb is not None:
        assert rss_growth_mb < case.max_peak_mb, f"peak RSS grew {rss_growth_mb:.1f} MB"
    if isinstance(body, Streamed):
        assert body.sent < BIG // 2  # the client hung up early; the sandbox stopped sending

    measured("refused with", run.errors[-1])
    measured("time to refusal (whole sync run)", f"{seconds * 1000:.0f} ms")
    measured("tracemalloc peak", f"{peak / MB:.1f} MB (bound {case.max_peak_mb} MB)")
    if rss_growth_mb is not None:
        measured("peak RSS growth", f"{rss_growth_mb:.1f} MB")
    if isinstance(body, Streamed):
        measured("body bytes sent before the client hung up", f"{body.sent / MB:.0f} of 200 MB")
    measured("canary URL fetches", len(canary.hits))
    measured("CRM unchanged", "yes (contacts, clients, links; pending change not applied)")

    # XPM behaves again: the next run brings the waiting change in.
    after = services.run_sync(connected_site, trigger="cli")
    assert after.status == SyncRun.Status.SUCCEEDED, after.message
    assert PracticeClient.objects.get(connection=connected_site, uuid=changed.uuid).name == RENAMED
