"""A 5,000-client sync against a misbehaving XPM ends with the same CRM data as a clean one.

Two identical practices are generated from one seed. The clean one is synced first; its
data is the reference. A second site's fresh connection then syncs the twin, which
throttles every third API call (429) and goes down in recurring bursts of 503s long enough
to use up the client's own retries, so the engine has to requeue reads. Near the end of the
custom-field reads it goes down for good, so the run stops early with clients queued; once
XPM is back (still throttling), reruns must finish the job, and the final data must equal
the clean run's: contacts, practice clients, links, mapped values.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from wagtail_xpm import services
from wagtail_xpm.models import Contact, ContactClientLink, FieldMapping, PracticeClient, SyncRun
from wagtail_xpm.sandbox import Sandbox
from wagtail_xpm.sandbox.apiapp import API_PREFIX
from wagtail_xpm.sandbox.server import ServerHandle

pytestmark = pytest.mark.django_db

CLIENTS = 5_000
SEED = 4242
# The faulty practice's misbehaviour: a 429 on every third call, and 25 calls in a row
# answered 503 out of every 500 (a burst costs the calls in flight all four attempts).
THROTTLE_EVERY = 3
BURST, BURST_EVERY = 25, 500
# XPM goes down for good this many custom-field reads before the last one (archived and
# deleted clients' custom fields are not read: their contacts are archived).
DOWN_BEFORE_THE_END = 50
# Reruns allowed after XPM is back (each one only does what is left).
MAX_RERUNS = 3


class StatusTally:
    """WSGI middleware counting the statuses of the API calls the sandbox answered; it can
    also take XPM down for good after a number of answered custom-field reads."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.statuses: Counter[int] = Counter()
        # The statuses served once XPM went down for good (included in ``statuses``).
        self.while_down: Counter[int] = Counter()
        self.custom_reads = 0
        self.down_after: int | None = None
        self.down = False
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(API_PREFIX):
            return self.sandbox(environ, start_response)

        def tally(status, headers, exc_info=None):
            code = int(status.split()[0])
            with self._lock:
                self.statuses[code] += 1
                if self.down:
                    self.while_down[code] += 1
                elif code == 200 and path.endswith("/customfield"):
                    self.custom_reads += 1
                    if self.custom_reads == self.down_after:
                        self.down = True
                        self.sandbox.faults.outage(10**9, path="/customfield")
            return start_response(status, headers, exc_info)

        return self.sandbox(environ, tally)


@dataclass
class Practice:
    sandbox: Sandbox
    tally: StatusTally


@contextmanager
def served(settings) -> Iterator[Practice]:
    """A freshly generated 5,000-client practice on loopback, with the site pointed at it."""
    # No sandbox rate limits: the injected faults are the only refusals.
    sandbox = Sandbox.generate(clients=CLIENTS, seed=SEED, rate_limits=False)
    tally = StatusTally(sandbox)
    with ServerHandle(tally) as server:
        api = f"{server.url}/practicemanager/3.1/"
        settings.WAGTAIL_XPM = {
            **settings.WAGTAIL_XPM,
            "CLIENT_ID": sandbox.client_id,
            "CLIENT_SECRET": sandbox.client_secret,
            "TOKEN_URL": f"{server.url}/connect/token",
            "REVOKE_URL": f"{server.url}/connect/revocation",
            "CONNECTIONS_URL": f"{server.url}/connections",
            "API_URL": api,
        }
        yield Practice(sandbox, tally)


def connect(site, practice: Practice):
    """Connect ``site`` to the practice, with one custom field mapped: one custom-field call
    per client, 5,000 calls for the faults to disturb."""
    tokens = practice.sandbox.issue_tokens()
    connection = services.connect_with_refresh_token(
        site=site, refresh_token=tokens["refresh_token"]
    )
    FieldMapping.objects.create(
        connection=connection, source="custom:Plan Level", key="plan_level", label="Plan"
    )
    return connection


# What a sync writes, by XPM identifiers (never database ids); JSON fields are listed last.
CONTACT_FIELDS = (
    "xpm_contact_id", "xpm_client_id", "name", "email", "phone", "mobile", "position",
    "client_name", "primary_client__uuid", "source", "is_archived", "is_prospect",
    "xpm_removed", "subscribed", "data",
)  # fmt: skip
CLIENT_FIELDS = (
    "uuid", "name", "email", "is_archived", "is_deleted", "is_prospect", "is_missing",
    "web_url", "content_hash", "custom_fields_pending", "data", "custom_values",
)  # fmt: skip
LINK_FIELDS = (
    "contact__xpm_contact_id", "client__uuid", "xpm_contact_id", "position", "is_primary",
)  # fmt: skip


def crm_snapshot(connection) -> dict[str, list[tuple]]:
    """The connection's CRM data, comparable across runs that wrote different rows."""

    def rows(queryset, fields, json_fields=0):
        cut = len(fields) - json_fields
        return sorted(
            (*row[:cut], *(json.dumps(value, sort_keys=True) for value in row[cut:]))
            for row in queryset.values_list(*fields)
        )

    return {
        "contacts": rows(Contact.objects.filter(connection=connection), CONTACT_FIELDS, 1),
        "clients": rows(PracticeClient.objects.filter(connection=connection), CLIENT_FIELDS, 2),
        "links": rows(
            ContactClientLink.objects.filter(contact__connection=connection), LINK_FIELDS
        ),
    }


def another_site(site):
    """A second site on the same pages: its own, fresh XPM connection and CRM."""
    from wagtail.models import Site

    return Site.objects.create(hostname="faulty.example.test", root_page=site.root_page)


def timed_sync(connection) -> tuple[SyncRun, float]:
    started = time.perf_counter()
    run = services.run_sync(connection, trigger="cli")
    return run, time.perf_counter() - started


def misbehave(sandbox: Sandbox) -> None:
    """Throttle every third call and fail in bursts, until reset.

    The 429 names the per-call "concurrent" problem: a "minute" 429 (rightly) holds every
    thread back for its whole Retry-After, so one on every third call would take most of an
    hour. Its Retry-After of 1 s is capped by MAX_RETRY_SLEEP like any other wait.
    """
    sandbox.faults.fail_every(THROTTLE_EVERY, status=429, problem="concurrent", retry_after=1)
    sandbox.faults.burst(BURST, every=BURST_EVERY, status=503)


@pytest.fixture
def fast_retries(settings):
    """Sleep 1 ms, not the suite's 200 ms, before a retry. Some 3,000 refused calls
    sleeping 0.2 s each across 5 threads would add two minutes of sleeping that prove
    nothing; what is tested is that every refused call is retried or requeued. (This is how
    the 5,000-client run is kept to about a minute; the client count is not reduced.)"""
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "MAX_RETRY_SLEEP": 0.001}


def test_5000_clients_under_429s_and_503_bursts_sync_to_the_clean_data(
    settings, default_site, fast_retries, measured
):
    with served(settings) as clean:
        reference_connection = connect(default_site, clean)
        clean_run, clean_seconds = timed_sync(reference_connection)
        clean_calls = clean.tally.statuses.total()
    assert clean_run.status == SyncRun.Status.SUCCEEDED, clean_run.message
    # Every client's custom fields but the archived and deleted ones' (contacts archived).
    live = sum(not (c.is_archived or c.is_deleted) for c in clean.sandbox.state.clients.values())
    assert clean_run.custom_fields_fetched == live
    assert clean.tally.statuses == {200: clean_calls}
    reference = crm_snapshot(reference_connection)
    assert len(reference["clients"]) == CLIENTS
    assert any('"plan_level"' in contact[-1] for contact in reference["contacts"])

    with served(settings) as faulty:
        connection = connect(another_site(default_site), faulty)
        assert faulty.sandbox.tenant_id == clean.sandbox.tenant_id  # the same practice
        misbehave(faulty.sandbox)
        faulty.tally.down_after = live - DOWN_BEFORE_THE_END
        first, seconds = timed_sync(connection)
        # Stopped early, in words an editor understands, with the unread clients queued
        # and everything else already applied. (Rarely, a client refused three times over
        # by the throttling alone stops the run before the outage: just as legitimate.)
        assert first.status == SyncRun.Status.PARTIAL, first.message
        assert "queued for the next sync" in first.message
        assert first.custom_fields_pending > 0
        assert first.created == clean_run.created
        pending = PracticeClient.objects.filter(connection=connection, custom_fields_pending=True)
        assert pending.count() == first.custom_fields_pending
        assert crm_snapshot(connection) != reference  # their mapped data is still missing

        # XPM is back, still throttling and flickering: rerun until a run succeeds.
        faulty.tally.down, faulty.tally.down_after = False, None
        faulty.sandbox.faults.reset()
        misbehave(faulty.sandbox)
        runs = [first]
        while runs[-1].status != SyncRun.Status.SUCCEEDED and len(runs) <= MAX_RERUNS:
            run, run_seconds = timed_sync(connection)
            runs.append(run)
            seconds += run_seconds
        statuses = faulty.tally.statuses

    assert runs[-1].status == SyncRun.Status.SUCCEEDED, [(r.status, r.message) for r in runs]
    assert crm_snapshot(connection) == reference
    # The faults really happened, and every refused call was made good by a retry.
    down = faulty.tally.while_down
    assert statuses[429] >= clean_calls // THROTTLE_EVERY
    assert statuses[503] - down[503] >= (clean_calls // BURST_EVERY) * BURST // 2
    # Every client's custom fields read once, besides the rolling refresh of the reruns
    # (wagtail_xpm/sync/freshness.py), which re-reads a paced few of the oldest values.
    refreshed = sum(r.report.get("custom_fields", {}).get("refreshed", 0) for r in runs)
    assert sum(r.custom_fields_fetched for r in runs) - refreshed == live
    assert sum(r.created for r in runs) == clean_run.created

    measured("clients", CLIENTS)
    measured("contacts created (clean / faulty)", f"{clean_run.created} / {first.created}")
    measured("wall time clean", f"{clean_seconds:.1f} s")
    measured("wall time faulty", f"{seconds:.1f} s over {len(runs)} runs")
    measured("faulty runs", "; ".join(f"{r.status}: {r.message or 'ok'}" for r in runs))
    measured("custom fields queued by the first faulty run", first.custom_fields_pending)
    measured("API calls clean", clean_calls)
    measured("API calls faulty (incl. refused)", statuses.total())
    measured("429s served", statuses[429])
    measured("503s served (bursts / while down)", f"{statuses[503] - down[503]} / {down[503]}")
    measured("refused calls, each retried or requeued", statuses[429] + statuses[503])
    measured("retries (calls beyond the clean run's)", statuses.total() - clean_calls)
    measured("data equal to the clean run", "yes (contacts, clients, links, mapped data)")
