"""Finding clients deleted in XPM: XPM's live client list against the clients known here.

``client.api/paged-list`` has no archived or deleted clients and only base fields, a
fraction of a detailed list. A known live client missing from it is read in detail
afterwards (engine.py ``_reconcile``): XPM still has it archived or flagged deleted, or no
longer has it at all. Clients live in XPM but not known as live here (missed, or back from
the archive) are read in detail too.

A check keeps where it got to in a JSON ``state`` (kept between steps by sync/steps.py): a
practice of 60,000 clients needs 120 pages, more than one minute budget allows, so a check
taken again from the first page would never finish. What the pages read is kept compactly:
the known live clients seen (their row ids as ranges) and the unknown ones (few), never
every UUID.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from ..models import PracticeClient, XpmConnection
from ..xpm.client import XpmClient
from ..xpm.errors import XpmApiError

# paged-list's largest page (docs/sandbox.md, wagtail_xpm/sandbox/api/paging.py).
PAGE_SIZE = 500

# A known client: its row id, and whether it is live here (not archived, deleted or missing).
Known = dict[str, tuple[int, bool]]


def known_clients(connection: XpmConnection) -> Known:
    rows = PracticeClient.objects.filter(connection=connection).values_list(
        "pk", "uuid", "is_archived", "is_deleted", "is_missing"
    )
    return {uuid: (pk, not (a or d or m)) for pk, uuid, a, d, m in rows}


def pages_needed(known: Known) -> int:
    """The calls a check costs at least: one a page of the clients live here."""
    return sum(1 for _pk, is_active in known.values() if is_active) // PAGE_SIZE + 1


def new_state(known: Known) -> dict[str, Any]:
    """A check from its first page: ``token`` of the next page, the known live clients seen
    (``live_pks``, row ids as ranges), the unknown live ones (``back``), then ``queue``, the
    clients left to read in detail once the pages are read.

    Clients added here after the check began (a lead delivered meanwhile) may have been
    created in XPM after the pages that would list them: above ``max_pk``, never called gone.
    """
    return _first_page(max((pk for pk, _active in known.values()), default=0))


def _first_page(max_pk: int) -> dict[str, Any]:
    return {
        "max_pk": max_pk, "token": None, "pages": 0, "live": 0, "live_pks": [], "back": [],
        "queue": None, "details": 0,
    }  # fmt: skip


def set_to_ranges(values: set[int]) -> list[list[int]]:
    """Integers as sorted ``[first, last]`` ranges: the row ids of one practice's clients
    come mostly in runs, so 60,000 of them take a few hundred numbers, not 60,000."""
    ranges: list[list[int]] = []
    for value in sorted(values):
        if ranges and ranges[-1][1] == value - 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ranges


def ranges_to_set(ranges: list[list[int]]) -> set[int]:
    return {value for first, last in ranges for value in range(first, last + 1)}


class LiveListCheck:
    """Reads the live list from the page ``state`` stopped at, then decides which clients to
    read in detail (``state["queue"]``).

    ``listed`` are the clients this run's own list read. ``before_page`` hears the pages
    and clients read so far before each call; ``note`` takes a note for the run's report;
    ``refuse`` an error when the check would flag more known clients as gone than
    ``max_missing_share`` of them (at least ``max_missing_floor``), and then none is.
    """

    def __init__(
        self,
        client: XpmClient,
        state: dict[str, Any],
        known: Known,
        listed: set[str],
        *,
        max_missing_share: float,
        max_missing_floor: int,
        before_page: Callable[[dict[str, Any]], None],
        note: Callable[[str], None],
        refuse: Callable[[str], None],
    ) -> None:
        self.client = client
        self.state = state
        self.known = known
        self.listed = listed
        self.max_missing_share = max_missing_share
        self.max_missing_floor = max_missing_floor
        self.before_page = before_page
        self.note = note
        self.refuse = refuse
        # The known live clients the check can call gone, by UUID.
        self.active = {
            uuid: pk
            for uuid, (pk, is_active) in known.items()
            if is_active and pk <= state["max_pk"]
        }
        self.live_pks = ranges_to_set(state["live_pks"])
        self.back = dict.fromkeys(state["back"])
        self.restarted = False

    def run(self) -> None:
        state = self.state
        while True:
            self.before_page(state)
            page = self._next_page()
            if page is None:
                continue  # started again from the first page
            records, token = page
            self._read(records)
            # The page is done: keep where the next one starts before asking for it, so a
            # pause on the next call never reads this one again.
            state["pages"] += 1
            state["live"] += len(records)
            state["token"] = token
            state["live_pks"] = set_to_ranges(self.live_pks)
            state["back"] = list(self.back)
            if token is None:
                break
        state["queue"] = [*self._gone(), *sorted(self.back)]
        state["details"] = len(state["queue"])
        state["live_pks"] = []  # no longer needed: the queue says what is left

    def _next_page(self) -> tuple[list, str | None] | None:
        state = self.state
        try:
            return self.client.paged_clients_page(page_size=PAGE_SIZE, page_token=state["token"])
        except XpmApiError as exc:
            if exc.status != 400 or not state["token"] or self.restarted:
                raise
        # XPM no longer takes where the check had got to (tokens may expire between
        # steps): start again from the first page, once.
        self.restarted = True
        self.note(
            _(
                "XPM no longer accepted the place where the check for deleted clients "
                "had paused (after %(pages)s pages), so the check started again from "
                "the first page."
            )
            % {"pages": state["pages"]}
        )
        state.update(_first_page(state["max_pk"]))
        self.live_pks, self.back = set(), {}
        return None

    def _read(self, records: list) -> None:
        for record in records:
            entry = self.known.get(record.uuid)
            if entry is not None and entry[1]:
                self.live_pks.add(entry[0])
            elif record.uuid not in self.listed:
                self.back[record.uuid] = None

    def _gone(self) -> list[str]:
        gone = sorted(
            uuid
            for uuid, pk in self.active.items()
            if pk not in self.live_pks and uuid not in self.listed
        )
        limit = max(self.max_missing_floor, int(len(self.active) * self.max_missing_share))
        if len(gone) <= limit:
            return gone
        self.refuse(
            _(
                "XPM's list of live clients no longer has %(missing)s of the %(known)s "
                "clients synced before. Flagging that many at once looks like a fault, "
                "so none were flagged (the limit is %(limit)s). Check the practice, "
                "then run a full sync."
            )
            % {"missing": len(gone), "known": len(self.active), "limit": limit}
        )
        return []
