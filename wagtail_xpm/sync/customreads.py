"""Reading clients' custom-field values from XPM, a few calls in flight at once.

XPM answers ``client.api/get/{uuid}/customfield`` one client at a time and allows five
calls in flight per practice (docs/xpm-api.md), so a run owed hundreds of reads keeps a
small pool busy. What the reads mean for the run (stopped early, queued for the next run)
is the engine's to say (engine.py ``_read_custom_values``); this module only reads, and
says why it stopped.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.utils.translation import gettext as _

from ..xpm.client import XpmClient
from ..xpm.errors import (
    XpmApiError,
    XpmDailyLimitReached,
    XpmError,
    XpmNotFoundError,
    XpmRateLimited,
    XpmTransientError,
)
from ..xpm.ratelimit import is_pacing
from .mapping import stored_custom_values

# A client whose read is still refused after the client's own retries goes to the back of
# the queue this many times before XPM is taken to be unavailable.
REQUEUES = 2


@dataclass
class CustomReads:
    """What one batch of reads got: values by client UUID, and why it stopped early.

    ``stop``: None (every client read or reported), ``"budget"`` (the day's calls reached
    the reserve, or XPM's daily limit), ``"pace"`` (the minute budget is spent: ``unread``
    are left, in order, for ``paused_for`` seconds), ``"unavailable"`` (XPM kept failing).
    """

    fetched: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: str | None = None
    unread: list[str] = field(default_factory=list)
    paused_for: float = 0.0


class CustomFieldReader:
    """Reads ``wanted`` clients' values with up to ``concurrency`` calls in flight; stops
    submitting when the day's calls left reach ``reserve``. ``note_error`` hears each client
    not read, worded with ``name_of``, as it happens; ``on_progress`` hears how many clients
    were read so far."""

    def __init__(
        self,
        client: XpmClient,
        *,
        concurrency: int,
        reserve: int,
        name_of: Callable[[str], str],
        note_error: Callable[[str], None],
        on_progress: Callable[[int], None],
    ) -> None:
        self.client = client
        self.concurrency = concurrency
        self.reserve = reserve
        self.name_of = name_of
        self.note_error = note_error
        self.on_progress = on_progress

    def read(self, wanted: list[str]) -> CustomReads:
        """Raises the first error that is neither XPM's limits nor a refusal about one
        client (an expired connection, say), once the calls in flight are done."""
        result = CustomReads()
        queue = deque(wanted)
        in_flight: dict[Future, str] = {}
        requeued: Counter[str] = Counter()
        fatal: list[XpmError] = []
        workers = max(1, min(self.concurrency, len(wanted)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="xpm-custom") as pool:
            while queue or in_flight:
                self._submit(pool, queue, in_flight, workers, result)
                if not in_flight:
                    break
                done, _pending = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    uuid = in_flight.pop(future)
                    self._collect(future, uuid, queue, requeued, fatal, result)
                self.on_progress(len(result.fetched))
        if fatal:
            raise fatal[0]
        if result.stop == "pace":
            result.unread = list(queue)
        return result

    def _submit(
        self,
        pool: ThreadPoolExecutor,
        queue: deque[str],
        in_flight: dict[Future, str],
        workers: int,
        result: CustomReads,
    ) -> None:
        while result.stop is None and queue and len(in_flight) < workers:
            remaining = self.client.day_remaining
            if remaining is not None and remaining - len(in_flight) <= self.reserve:
                result.stop = "budget"
                return
            uuid = queue.popleft()
            in_flight[pool.submit(self._values_of, uuid)] = uuid

    def _collect(
        self,
        future: Future,
        uuid: str,
        queue: deque[str],
        requeued: Counter[str],
        fatal: list[XpmError],
        result: CustomReads,
    ) -> None:
        try:
            result.fetched[uuid] = stored_custom_values(future.result())
        except XpmDailyLimitReached:
            result.stop = "budget"
        except (XpmRateLimited, XpmTransientError) as exc:
            self._refused_for_now(exc, uuid, queue, requeued, result)
        except XpmNotFoundError as exc:
            self.note_error(
                _("Client %(client)s vanished from XPM during the sync: %(error)s")
                % {"client": self.name_of(uuid), "error": exc}
            )
            result.fetched[uuid] = {}
        except XpmApiError as exc:
            self.note_error(self._failed_read(uuid, exc))
        except XpmError as exc:
            fatal.append(exc)
            result.stop = result.stop or "fatal"

    def _refused_for_now(
        self,
        exc: XpmRateLimited | XpmTransientError,
        uuid: str,
        queue: deque[str],
        requeued: Counter[str],
        result: CustomReads,
    ) -> None:
        if is_pacing(exc):
            # Our limiter would not wait for the minute budget: the client goes back to
            # the front, for the next step.
            queue.appendleft(uuid)
            result.stop = result.stop or "pace"
            result.paused_for = max(result.paused_for, exc.retry_after or 1.0)
        elif requeued[uuid] < REQUEUES:
            requeued[uuid] += 1
            queue.append(uuid)
        else:
            result.stop = result.stop or "unavailable"
            self.note_error(self._failed_read(uuid, exc))

    def _failed_read(self, uuid: str, exc: XpmError) -> str:
        return _("Custom fields of client %(client)s: %(error)s") % {
            "client": self.name_of(uuid),
            "error": exc,
        }

    def _values_of(self, uuid: str) -> list:
        try:
            return self.client.client_custom_fields(uuid)
        finally:
            # A token refresh in this worker thread may have opened a database connection.
            connections.close_all()
