"""Campaign sends in real processes against a real SMTP server on loopback: two workers
handed the same campaign at the same instant send each email once, and workers SIGKILLed at
seeded points of a send converge when the next one takes over: nobody gets two copies, and
only emails that may have gone out when the worker died are settled as interrupted."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.segments.segment_factories import Practice, make_connection
from wagtail_xpm.campaigns.send import run_campaign
from wagtail_xpm.models import Campaign, CampaignRecipient, Segment
from wagtail_xpm.sandbox.mail import MailCatcher

from .processes import FORK, SharedDatabase, Worker

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 30


@pytest.fixture
def shared(tmp_path) -> SharedDatabase:
    return SharedDatabase(tmp_path)


@pytest.fixture
def smtp(settings):
    from wagtail_xpm import mailer

    with MailCatcher() as catcher:
        options = {"host": "127.0.0.1", "port": catcher.port, "timeout": 5}
        backend = "django.core.mail.backends.smtp.EmailBackend"
        if mailer.has_mailers():
            settings.MAILERS = {"default": {"BACKEND": backend, "OPTIONS": options}}
        else:
            settings.EMAIL_BACKEND = backend
            settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
                "127.0.0.1",
                catcher.port,
                5,
            )
        yield catcher


@pytest.fixture
def campaign(default_site, settings):
    settings.WAGTAIL_XPM = {
        **settings.WAGTAIL_XPM,
        "CAMPAIGN_BATCH_SIZE": 7,
        "CAMPAIGN_MARK_EVERY": 3,
    }
    practice = Practice(make_connection(default_site))
    client = practice.client("Co", {"balance_month": "June"})
    for i in range(PEOPLE):
        practice.contact(f"Person {i:02d}", f"p{i:02d}@example.com", clients=[client])
    segment = Segment.objects.create(connection=practice.connection, name="All", rules=[])
    # Queued as "Send now" leaves it; the workers, not an on-commit task, send it.
    return Campaign.objects.create(
        connection=practice.connection,
        segment=segment,
        name="News",
        subject="Hi",
        body="<p>x</p>",
        status=Campaign.Status.QUEUED,
    )


def deliveries(catcher) -> list[str]:
    return [address for message in catcher.mailbox.messages() for address in message.rcpt_tos]


def send_in_worker(campaign_id: int, barrier) -> None:
    barrier.wait(timeout=30)
    run_campaign(campaign_id)


def test_two_workers_sending_the_same_campaign_send_each_email_once(
    campaign, smtp, shared, measured
):
    rounds = 3
    for n in range(rounds):
        if n:
            CampaignRecipient.objects.filter(campaign=campaign).delete()
            Campaign.objects.filter(pk=campaign.pk).update(
                status=Campaign.Status.QUEUED, snapshot_at=None, sender_token=""
            )
            smtp.mailbox.clear()
        barrier = FORK.Barrier(2)
        shared.export()
        workers = [Worker(shared, send_in_worker, campaign.pk, barrier) for _ in range(2)]
        try:
            for worker in workers:
                worker.go()
            assert [worker.join(timeout=60) for worker in workers] == [0, 0]
        finally:
            for worker in workers:
                worker.kill()
        shared.import_()
        campaign.refresh_from_db()
        delivered = deliveries(smtp)
        assert campaign.status == Campaign.Status.SENT
        assert sorted(delivered) == sorted(set(delivered)) and len(delivered) == PEOPLE
    measured("two workers at once", f"{rounds} rounds: {PEOPLE} emails, each sent once")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_worker_killed_mid_send_converges_without_a_second_copy(
    campaign, smtp, shared, measured, seed
):
    # A seeded statement of the send (the snapshot and the batches) is the last one.
    at = random.Random(seed).randint(12, 80)
    shared.export()
    worker = Worker(shared, run_campaign, campaign.pk, die_before_query=at)
    worker.go()
    worker.join(timeout=60)
    shared.import_()
    first = deliveries(smtp)

    # The next worker takes over once the dead one's heartbeat is stale.
    stale = timezone.now() - timedelta(hours=1)
    Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=stale, updated_at=stale)
    started = time.monotonic()
    finished = run_campaign(campaign.pk)
    delivered = deliveries(smtp)
    assert finished.status == Campaign.Status.SENT
    assert len(delivered) == len(set(delivered)), "someone got two copies"
    interrupted = CampaignRecipient.objects.filter(campaign=campaign, reason="interrupted")
    assert interrupted.count() <= 3  # at most CAMPAIGN_MARK_EVERY
    sent = set(
        CampaignRecipient.objects.filter(campaign=campaign, status="sent").values_list(
            "email", flat=True
        )
    )
    assert sent <= set(delivered)
    # Every email that went out is either recorded as sent or settled as interrupted.
    assert set(delivered) <= sent | set(interrupted.values_list("email", flat=True))
    assert len(sent) + interrupted.count() == PEOPLE
    measured(
        f"killed before statement {at}",
        f"{len(first)} sent before the kill, {interrupted.count()} interrupted, "
        f"{len(delivered) - len(first)} after the take-over ({time.monotonic() - started:.1f}s)",
    )
