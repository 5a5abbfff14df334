"""A 50 MB detailed client list streams through list_clients with flat memory.

The 50 MB list is ``slow`` (`make test`); `make test-fast` streams a 12 MB one, already more
than the memory allowed, so reading the whole body or parsing it as a tree fails it too."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
import responses
import xpm_testdata as td

MB = 1024 * 1024
PEAK_ALLOWED = 8 * MB


@pytest.mark.slow
def test_fifty_megabyte_list_streams_in_bounded_memory() -> None:
    stream_in_bounded_memory(50 * MB)


def test_a_twelve_megabyte_list_streams_in_bounded_memory() -> None:
    stream_in_bounded_memory(12 * MB)


def stream_in_bounded_memory(body_target: int) -> None:
    count = td.clients_for_size(body_target, detailed=True)
    raw = td.GeneratedBody(td.client_list_chunks(count, detailed=True))
    client, _ = td.make_client()

    with responses.RequestsMock() as rsps:
        # The body is generated while it is read, so the only large allocations would be
        # the client's own: that is what tracemalloc measures here.
        rsps.get(
            f"{td.API_URL}client.api/list",
            body=td.io.BufferedReader(raw, buffer_size=64 * 1024),
            content_type="text/xml; charset=utf-8",
            headers={"X-DayLimit-Remaining": "4000"},
        )
        gc.collect()
        tracemalloc.start()
        try:
            seen = 0
            archived = 0
            last = None
            for record in client.list_clients(detailed=True):
                seen += 1
                archived += bool(record.is_archived)
                last = record
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert raw.bytes_served >= body_target > PEAK_ALLOWED
    assert seen == count
    assert archived == len(range(0, count, 50))
    assert last is not None
    assert last.uuid == td.client_uuid(count - 1)
    assert len(last.contacts) == 2
    # The whole body would be more than the allowed peak (and a parsed tree several times
    # that); streaming must stay within a few MB.
    assert peak < PEAK_ALLOWED, f"peak {peak / 1e6:.1f} MB for {raw.bytes_served / 1e6:.0f} MB"
    assert client.day_remaining == 4000


def _gzip_bomb(inflated_bytes: int) -> bytes:
    """A small gzip body that inflates to an XML text node of ``inflated_bytes``."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    parts = [packer.compress(b'<Response api-method="Get"><Status>OK</Status><Client><Name>')]
    block = b"A" * (1024 * 1024)
    parts += [packer.compress(block) for _ in range(inflated_bytes // len(block))]
    parts.append(packer.compress(b"</Name></Client></Response>") + packer.flush())
    return b"".join(parts)


def test_a_compressed_bomb_is_refused_without_inflating_it() -> None:
    """Asking for gzip must not open a door: the caps count inflated bytes, as they arrive."""
    import pytest

    from wagtail_xpm.xpm.errors import XpmResponseError

    bomb = _gzip_bomb(512 * 1024 * 1024)  # about 500 KB on the wire
    client, _ = td.make_client()
    with responses.RequestsMock() as rsps:
        for path in ("client.api/get/u", "client.api/list"):
            rsps.get(
                f"{td.API_URL}{path}",
                body=bomb,
                content_type="text/xml; charset=utf-8",
                headers={"Content-Encoding": "gzip"},
            )
        gc.collect()
        tracemalloc.start()
        try:
            with pytest.raises(XpmResponseError):
                client.get_client("u")
            with pytest.raises(XpmResponseError):
                list(client.list_clients(detailed=True))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(bomb) < 2 * 1024 * 1024
    # The single-answer cap is 32 MB; nothing near the 512 MB the bomb would inflate to.
    assert peak < 80 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
