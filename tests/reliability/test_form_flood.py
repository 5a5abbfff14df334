"""A flood of lead form posts from one address, with genuine visitors in between.

The spam gate (``wagtail_xpm/leads/spam.py``) counts submissions per visitor address in the
cache in use (local memory on SQLite runs, Redis when ``REDIS_URL`` is set): the first
``LEAD_RATE_LIMIT`` are accepted, up to ``DISCARD_FACTOR`` times that are stored as spam for
review, and the rest are dropped unstored. The flooder here is the hardest kind: it reads
the forms like a browser, waits long enough, leaves the honeypot empty and forges
X-Forwarded-For on every post, so the rate limit is all that stands in its way.

Huey queues as in production (the visitor's POST only stores and queues; the timings are
what a visitor waits), and the queue is worked off after the flood, like a consumer would.
"""

from __future__ import annotations

import statistics
import time
from contextlib import nullcontext
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from huey.contrib.djhuey import HUEY
from wagtail.models import Site

from example_site.htmlforms import Form, parse_forms
from wagtail_xpm.leads import pagecache, spam
from wagtail_xpm.models import ConsentConfirmation, LeadSubmission

pytestmark = pytest.mark.django_db(transaction=True)

Status = LeadSubmission.Status

POSTS = 2_000
FLOODER = "192.0.2.66"
# Genuine visitors arrive among the flood, on both forms, over IPv4 and IPv6.
GENUINE = [f"198.51.100.{n}" for n in range(101, 117)] + [
    "2001:db8:a::7",
    "2001:db8:b::7",
    "2001:db8:c::7",
    "2001:db8:d::7",
]
PROXY = "10.0.0.2"
# An IPv6 sender owns a /64: rotating the low bits must not make it many senders.
IPV6_FLOODER_NET = "2001:db8:bad:1"


class Clock:
    """The spam gate's clock, moved on while people fill in a form (sleeping for real would
    make a visitor's 20 seconds cost 20 seconds of test)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def wait(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Browser:
    """One visitor's browser: its own cookies (CSRF enforced, as in production)."""

    ip: str
    forwarded_for: str = ""

    def __post_init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)

    def meta(self) -> dict[str, str]:
        meta = {"REMOTE_ADDR": self.ip}
        if self.forwarded_for:
            meta["HTTP_X_FORWARDED_FOR"] = self.forwarded_for
        return meta

    def read_form(self, path: str) -> Form:
        """GET the page and return its lead form (CSRF token and signed stamp included)."""
        response = self.client.get(path, **self.meta())
        assert response.status_code == 200
        forms = parse_forms(response.content.decode(), f"http://testserver{path}")
        return next(f for f in forms if f.method == "post" and "/xpm/leads/" in f.action)

    def send(self, form: Form, who: str, stamp: str = "", **meta: str):
        """POST the form filled in as ``who``: every role either form asks for (a field the
        form does not have is ignored), honeypot left empty as the page rendered it; with
        ``stamp``, the anti-spam stamp of a fresh read of the page (stamps are single-use)."""
        data = {
            **form.fields,
            **({spam.TIMESTAMP_FIELD: stamp} if stamp else {}),
            "name": who.title(),
            "email": f"{who.replace(' ', '.')}@example.com",
            "phone": "+61 400 000 000",
            "company": f"{who.title()} Pty Ltd",
            "message": "Could someone call me about BAS and payroll for my business?",
            "consent": "on",
        }
        return self.client.post(form.action, data, **{**self.meta(), **meta})


@pytest.fixture
def sandbox_options():
    """XPM's 60 calls a minute would make the deliveries after a flood take minutes; what is
    tested here is the form's gate (the client's handling of XPM's limit is tested apart)."""
    return {
        "allowed_redirect_uris": ["http://testserver/admin/xpm/callback/"],
        "minute_limit": 100_000,
    }


@pytest.fixture
def consumer():
    """Huey queueing for real instead of running tasks inside the request; call the result
    to work off the queue. Returns how many tasks ran."""
    HUEY.immediate = False  # MemoryHuey: a fresh, empty in-memory queue

    def work_off(most: int = 1_000) -> int:
        for ran in range(most):
            task = HUEY.dequeue()
            if task is None:
                return ran
            HUEY.execute(task)
        raise AssertionError(f"more than {most} queued tasks")

    yield work_off
    HUEY.immediate = True


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    # spam reads the time for the stamp it signs and for the stamp it checks.
    monkeypatch.setattr(spam, "time", clock)
    return clock


@pytest.fixture
def fresh_cache():
    """Forget what this file relies on, and only that: the cache may be a Redis shared with
    other runs (clearing it would reset their counters too), and it outlives the test
    database, whose page and site ids a new database hands out again."""
    addresses = [FLOODER, PROXY, *GENUINE, f"{IPV6_FLOODER_NET}::1"]

    def forget():
        cache.delete_many([spam._rate_key(ip) for ip in addresses])
        pagecache.forget()
        Site.clear_site_root_paths_cache()

    forget()
    yield
    forget()


@pytest.fixture
def lead_site(connected_site, lead_owner, fresh_cache, consumer):
    """The example site connected to the sandbox, with a lead owner: leads can be delivered."""
    return connected_site


def genuine_visit(browser: Browser, path: str, clock: Clock, who: str) -> float:
    """A person reads the form, takes 20 s over it and sends it; returns the POST's time."""
    form = browser.read_form(path)
    clock.wait(20)
    started = time.perf_counter()
    response = browser.send(form, who)
    elapsed = time.perf_counter() - started
    # The thank-you redirect (spam gets it too, so it proves nothing on its own).
    assert response.status_code == 302
    return elapsed


def flood(flooder: Browser, clock: Clock, posts: int, visitors: list[Browser], forge) -> dict:
    """``posts`` flood posts alternating between /contact/ and the home page's form block,
    with one genuine visitor every ``posts / (len(visitors) + 1)`` posts. ``forge(n)`` gives
    the request's extra META (forged headers, rotated addresses)."""
    forms = [flooder.read_form("/contact/"), flooder.read_form("/")]
    clock.wait(30)  # a patient bot: its stamps are older than the minimum fill time
    arrivals = {posts * (k + 1) // (len(visitors) + 1): v for k, v in enumerate(visitors)}
    flood_times, genuine_times, last_posts = [], [], []
    for n in range(posts):
        visitor = arrivals.get(n)
        if visitor is not None:
            path = "/contact/" if len(genuine_times) % 2 == 0 else "/"
            genuine_times.append(
                genuine_visit(visitor, path, clock, f"visitor {len(genuine_times)}")
            )
        # The last post to each form is far beyond the discard threshold: record its queries.
        watch = CaptureQueriesContext(connection) if n >= posts - 2 else nullcontext()
        started = time.perf_counter()
        with watch:
            # Stamps are single-use: the flooder reads the page again for each post (a fresh,
            # patient stamp each time), so the rate limit is all that stands in its way.
            stamp = spam.form_started_token(clock.time() - 30)
            response = flooder.send(forms[n % 2], f"bulk offer {n}", stamp, **forge(n))
        flood_times.append(time.perf_counter() - started)
        assert response.status_code == 302
        if n >= posts - 2:
            last_posts.append([q["sql"].split()[0].upper() for q in watch.captured_queries])
    return {"flood": flood_times, "genuine": genuine_times, "last_posts": last_posts}


def percentiles_ms(times: list[float]) -> str:
    cuts = statistics.quantiles(times, n=100)
    return f"p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms"


def spread(figures: dict) -> str:
    return f"{figures['accepted']} / {figures['spam']} / {figures['discarded']}"


def sandbox_leads(running_sandbox, name_part: str) -> list:
    return [
        lead
        for lead in running_sandbox.sandbox.state.leads.values()
        if lead.created_via_api and name_part in lead.name
    ]


def assert_flood_held(flood_rows, posts: int, running_sandbox) -> dict:
    """The documented policy for one sender: ``limit`` accepted and delivered, up to
    ``DISCARD_FACTOR`` times the limit stored, nothing more."""
    limit, window = spam.rate_limit()
    assert limit * spam.DISCARD_FACTOR < posts  # the test must reach the discard stage
    accepted = flood_rows.exclude(status=Status.SPAM)
    spam_rows = flood_rows.filter(status=Status.SPAM)
    assert accepted.count() == limit
    assert set(accepted.values_list("status", flat=True)) == {Status.SENT}
    assert spam_rows.count() == limit * (spam.DISCARD_FACTOR - 1)
    assert set(spam_rows.values_list("spam_reason", flat=True)) == {
        spam._flood_reason(limit, window)
    }
    flood_leads = sandbox_leads(running_sandbox, "Bulk Offer")
    assert len(flood_leads) == limit
    return {
        "accepted": accepted.count(),
        "spam": spam_rows.count(),
        "discarded": posts - flood_rows.count(),
        "leads": len(flood_leads),
    }


def assert_everyone_delivered(visitors: list[Browser], running_sandbox) -> int:
    """Each genuine visitor: one stored submission, sent, and its lead in XPM."""
    leads = {lead.uuid: lead for lead in sandbox_leads(running_sandbox, "Visitor")}
    for index, visitor in enumerate(visitors):
        submission = LeadSubmission.objects.get(name=f"Visitor {index}")
        assert submission.status == Status.SENT, (visitor.ip, submission.spam_reason)
        assert submission.xpm_lead_uuid in leads
    assert len(leads) == len(visitors)
    return len(leads)


def test_a_flood_from_one_address_is_held_to_the_rate_limit(
    lead_site, running_sandbox, clock, consumer, settings, measured, mailoutbox
):
    flooder = Browser(FLOODER)
    visitors = [Browser(ip) for ip in GENUINE]
    started = time.perf_counter()
    # Every flood post forges a different X-Forwarded-For: with no trusted proxy
    # (TRUSTED_PROXY_COUNT 0, the default) only REMOTE_ADDR counts.
    times = flood(
        flooder,
        clock,
        POSTS,
        visitors,
        lambda n: {"HTTP_X_FORWARDED_FOR": f"10.{n // 256 % 256}.{n % 256}.1"},
    )
    flood_seconds = time.perf_counter() - started
    # Only what was accepted was queued: spam and dropped posts cost the queue nothing.
    queued = HUEY.pending_count()
    started = time.perf_counter()
    ran = consumer()
    delivery_seconds = time.perf_counter() - started
    # Every post ticks marketing consent, with its own address: delivering an accepted
    # submission also queues the double opt-in email to that address (consent/optin.py),
    # one more task each. The flood limit holds for those as for the deliveries.
    assert ran == 2 * queued
    assert len(mailoutbox) == queued
    assert len({message.to[0] for message in mailoutbox}) == queued

    flood_rows = LeadSubmission.objects.filter(remote_addr=FLOODER)
    figures = assert_flood_held(flood_rows, POSTS, running_sandbox)
    assert queued == figures["accepted"] + len(visitors)
    delivered = assert_everyone_delivered(visitors, running_sandbox)
    rows = LeadSubmission.objects.count()
    # Nothing stored under a forged address: the table holds the flood's capped rows and the
    # visitors', however long the flood goes on.
    assert rows == flood_rows.count() + len(visitors)
    add_calls = running_sandbox.sandbox.calls_by_path["lead.api/add"]
    assert add_calls == figures["accepted"] + len(visitors)
    # A dropped post writes nothing (at most it reads the page and site).
    contact_post, block_post = times["last_posts"]
    assert set(contact_post + block_post) <= {"SELECT"}, times["last_posts"]

    measured("cache backend", settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1])
    measured("flood posts (one address, forged X-Forwarded-For)", POSTS)
    measured("accepted for XPM from the flood", figures["accepted"])
    measured("stored as spam", figures["spam"])
    measured("discarded unstored", figures["discarded"])
    measured("rows stored (flood + visitors)", rows)
    measured("genuine visitors delivered", f"{delivered}/{len(visitors)}")
    measured("leads created in XPM (lead.api/add)", add_calls)
    measured("time per flood post", percentiles_ms(times["flood"]))
    measured(
        "database queries of a dropped post",
        f"/contact/ {len(contact_post)}, home page block {len(block_post)} (no writes)",
    )
    measured("time per genuine post", percentiles_ms(times["genuine"]))
    measured("flood (posts and visits)", f"{flood_seconds:.1f} s")
    measured("deliveries queued, then worked off", f"{queued} in {delivery_seconds:.1f} s")
    measured("confirmation emails (one per accepted address)", len(mailoutbox))


def test_forms_from_many_addresses_naming_one_person_send_them_one_email(
    lead_site, running_sandbox, clock, consumer, mailoutbox
):
    """The spam vector of double opt-in: many senders, each under the rate limit, put one
    victim's address on the form with consent ticked. The victim gets one confirmation
    email (consent/optin.py ``RESEND_AFTER``), and while it waits in the queue the later
    forms queue no more emails (``QUEUED_FOR``)."""
    senders = [Browser(f"198.18.0.{n}") for n in range(1, 31)]
    cache.delete_many([spam._rate_key(browser.ip) for browser in senders])
    for browser in senders:
        genuine_visit(browser, "/contact/", clock, "jo victim")
    queued = HUEY.pending_count()
    assert queued == len(senders)  # each form accepted: one delivery each

    ran = consumer()
    cache.delete_many([spam._rate_key(browser.ip) for browser in senders])
    assert LeadSubmission.objects.filter(status=Status.SENT).count() == len(senders)
    # The deliveries, and one confirmation email: not one per form.
    assert ran == queued + 1
    assert [message.to for message in mailoutbox] == [["jo.victim@example.com"]]
    assert ConsentConfirmation.objects.count() == 1


def test_behind_a_trusted_proxy_the_forwarded_visitor_is_limited_not_the_proxy(
    lead_site, running_sandbox, clock, consumer, settings, measured
):
    """With one trusted proxy every request comes from the proxy's address; the limit must
    apply to the address the proxy appended, not to a forged entry nor to the proxy."""
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "TRUSTED_PROXY_COUNT": 1}
    posts = 100
    # The flooder writes its own entry; the proxy appends the address it really saw.
    flooder = Browser(PROXY, forwarded_for=f"6.6.6.6, {FLOODER}")
    visitors = [Browser(PROXY, forwarded_for=ip) for ip in GENUINE[:6]]
    times = flood(
        flooder,
        clock,
        posts,
        visitors,
        lambda n: {"HTTP_X_FORWARDED_FOR": f"6.6.{n // 250}.{n % 250}, {FLOODER}"},
    )
    consumer()

    flood_rows = LeadSubmission.objects.filter(remote_addr=FLOODER)
    figures = assert_flood_held(flood_rows, posts, running_sandbox)
    delivered = assert_everyone_delivered(visitors, running_sandbox)
    assert LeadSubmission.objects.count() == flood_rows.count() + len(visitors)

    measured("flood posts (through one trusted proxy)", posts)
    measured("accepted / spam / discarded", spread(figures))
    measured("genuine visitors behind the same proxy delivered", f"{delivered}/{len(visitors)}")
    measured("time per flood post", percentiles_ms(times["flood"]))


def test_an_ipv6_flooder_rotating_within_its_64_is_one_sender(
    lead_site, running_sandbox, clock, consumer, measured
):
    posts = 100
    flooder = Browser(f"{IPV6_FLOODER_NET}::1")
    visitors = [Browser(ip) for ip in GENUINE[-4:]]
    times = flood(
        flooder,
        clock,
        posts,
        visitors,
        lambda n: {"REMOTE_ADDR": f"{IPV6_FLOODER_NET}:{n:x}::{n + 1:x}"},
    )
    consumer()

    flood_rows = LeadSubmission.objects.filter(name__startswith="Bulk Offer")
    figures = assert_flood_held(flood_rows, posts, running_sandbox)
    delivered = assert_everyone_delivered(visitors, running_sandbox)
    # Every stored post came from a different address, yet they were counted as one.
    assert flood_rows.values("remote_addr").distinct().count() == flood_rows.count()

    measured("flood posts (a new address in one /64 each time)", posts)
    measured("accepted / spam / discarded", spread(figures))
    measured("genuine IPv6 visitors delivered", f"{delivered}/{len(visitors)}")
    measured("time per flood post", percentiles_ms(times["flood"]))
