"""Sending freezes the recipient list and records who was left out and why."""

from __future__ import annotations

import pytest

from wagtail_xpm.campaigns.snapshot import audience, normalised_address, take_snapshot
from wagtail_xpm.models import Campaign, CampaignRecipient, Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(practice):
    june = practice.client("June Co", {"balance_month": "June"})
    archived = practice.client("Gone Co", {"balance_month": "June"}, archived=True)
    return {
        "ok": practice.contact("Olive Ok", "olive@example.com", clients=[june]),
        "unsub": practice.contact("Una Sub", "una@example.com", clients=[june], subscribed=False),
        "noemail": practice.contact("Nemo", "", clients=[june]),
        "invalid": practice.contact("Ivan", "ivan at example", clients=[june]),
        "archived": practice.contact("Archie", "archie@example.com", clients=[archived]),
        # The same mailbox written two ways (the unique email key does not catch it).
        "first": practice.contact("Dup One", "dup@example.com", clients=[june]),
        "second": practice.contact("Dup Two", "Dup Two <DUP@example.com>", clients=[june]),
        "other": practice.contact(
            "Mark March", "mark@example.com", data={"balance_month": "March"}
        ),  # fmt: skip
    }


def recipients(campaign: Campaign) -> dict[str, tuple[str, str]]:
    return {
        r.name: (r.status, r.reason) for r in CampaignRecipient.objects.filter(campaign=campaign)
    }


def test_exclusions_with_reasons(crowd, make_campaign):
    campaign = make_campaign([{"field": "balance_month", "op": "eq", "value": "June"}])
    preview = audience(campaign.segment)
    assert take_snapshot(campaign) is True
    assert recipients(campaign) == {
        "Olive Ok": ("pending", ""),
        "Una Sub": ("excluded", "unsubscribed"),
        "Nemo": ("excluded", "no_email"),
        "Ivan": ("excluded", "invalid_email"),
        "Archie": ("excluded", "archived"),
        "Dup One": ("pending", ""),
        "Dup Two": ("excluded", "duplicate_email"),
    }
    campaign.refresh_from_db()
    assert (campaign.recipients_total, campaign.excluded_count, campaign.pending_count) == (7, 5, 2)
    assert campaign.snapshot_at is not None
    # The confirm page's preview said the same before anything was frozen.
    assert (preview.total, preview.to_send) == (7, 2)
    assert dict(preview.excluded) == {
        "unsubscribed": 1, "no_email": 1, "invalid_email": 1, "archived": 1, "duplicate_email": 1,
    }  # fmt: skip
    # The address is stored as the mailbox to send to.
    second = CampaignRecipient.objects.get(campaign=campaign, name="Dup Two")
    assert second.email == "dup@example.com"


def test_a_segment_that_targets_archived_contacts_sends_to_them(crowd, make_campaign):
    campaign = make_campaign([{"field": "is_archived", "op": "eq", "value": True}])
    take_snapshot(campaign)
    assert recipients(campaign) == {"Archie": ("pending", "")}


def test_the_list_is_frozen(crowd, practice, make_campaign):
    campaign = make_campaign([{"field": "balance_month", "op": "eq", "value": "June"}])
    take_snapshot(campaign)
    before = recipients(campaign)
    # Later changes to the practice do not change who receives it...
    practice.contact("Newcomer", "new@example.com", data={"balance_month": "June"})
    Contact.objects.filter(pk=crowd["ok"].pk).update(data={"balance_month": "March"})
    # ...and a second snapshot is refused (the list is taken once).
    assert take_snapshot(campaign) is False
    assert recipients(campaign) == before
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 7


def test_snapshot_needs_a_segment(practice):
    campaign = Campaign.objects.create(connection=practice.connection, name="x", subject="x")
    with pytest.raises(ValueError, match="no segment"):
        take_snapshot(campaign)
    assert not CampaignRecipient.objects.exists()


@pytest.mark.parametrize(
    ("email", "address"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  Ann@Example.COM ", "ann@example.com"),
        ("Ann Lee <ann@example.com>", "ann@example.com"),
        ("ann at example", None),
        ("", None),
        ("a@b.com; c@d.com", "a@b.com"),  # the first of several
    ],
)
def test_normalised_address(email, address):
    assert normalised_address(email) == address
