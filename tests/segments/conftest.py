import pytest

from tests.segments.segment_factories import Practice, make_connection
from wagtail_xpm.models import Contact


@pytest.fixture
def practice(default_site):
    """A connected practice with the test mappings and no contacts yet."""
    return Practice(make_connection(default_site))


@pytest.fixture
def world(practice):
    """Clients with typed values (messy ones included) and the people linked to them."""
    acme = practice.client("Acme", {
        "account_manager": "John Smith", "balance_month": "June", "gst_registered": True,
        "plan_level": "Gold", "groups": ["VIP", "Tax Returns"], "fee": 1200,
        "review_date": "2025-07-01", "referral_source": "Google Ads",
    })  # fmt: skip
    bolt = practice.client("Bolt", {
        "account_manager": "Jane Doe", "balance_month": "March", "gst_registered": False,
        "plan_level": "Silver", "groups": ["Payroll"], "fee": 50.5,
        "review_date": "2025-05-20", "referral_source": "  word of mouth ",
    })  # fmt: skip
    cog = practice.client("Cog", {
        "account_manager": "  JOHN SMITH ", "balance_month": "December", "fee": 0,
        "review_date": "2024-12-31",
    })  # fmt: skip
    dry = practice.client("Dry", {}, prospect=True)
    old = practice.client(
        "Old", {"account_manager": "Jane Doe", "balance_month": "June"}, archived=True
    )
    null = practice.client("Null", {"account_manager": None, "plan_level": "", "groups": []})
    people = {
        "ann": practice.contact("Ann", "ann@acme.example", clients=[acme]),
        "bob": practice.contact("Bob", "bob@bolt.example", clients=[bolt, acme]),
        "cy": practice.contact("Cy", "cy@cog.example", clients=[cog]),
        "dee": practice.contact("Dee", "dee@dry.example", clients=[dry]),
        "eve": practice.contact("Eve", "eve@old.example", clients=[old]),
        "fay": practice.contact("Fay", "", clients=[null]),
        "gus": practice.contact("Gus", "gus@form.example", source="form"),
        "hal": practice.contact("Hal", "hal@bolt.example", clients=[bolt, old], subscribed=False),
    }
    Contact.objects.filter(pk=people["dee"].pk).update(is_prospect=True)
    assert Contact.objects.get(pk=people["eve"].pk).is_archived
    assert not Contact.objects.get(pk=people["hal"].pk).is_archived
    return people
