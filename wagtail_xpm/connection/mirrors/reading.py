"""One read of an XPM reference list, the same for every mirror."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ...models import XpmConnection
from ...xpm.client import XpmClient
from .. import budget

T = TypeVar("T")


def read_from_xpm(
    connection: XpmConnection,
    client_factory: Callable[[XpmConnection], XpmClient],
    read: Callable[[XpmClient], T],
) -> T:
    """``read`` with a client of ``connection``: the client is closed after it, and the calls
    XPM says are left today are kept (connection/budget.py), even when the read fails."""
    client = client_factory(connection)
    try:
        return read(client)
    finally:
        client.close()
        budget.record(connection.pk, client.day_remaining)
