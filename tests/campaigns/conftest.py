import pytest

from tests.segments.segment_factories import Practice, make_connection
from wagtail_xpm.models import Campaign, Segment


@pytest.fixture
def practice(default_site):
    """A connected practice with the test mappings and no contacts yet."""
    return Practice(make_connection(default_site))


@pytest.fixture
def make_campaign(practice):
    """A campaign to a segment of ``practice`` (everyone by default)."""

    def make(rules=None, **fields) -> Campaign:
        segment = fields.pop("segment", None) or Segment.objects.create(
            connection=practice.connection,
            name=f"Segment {Segment.objects.count() + 1}",
            rules=rules or [],
        )
        values = {
            "name": "June newsletter",
            "subject": "Hello {{ first_name|there }}",
            "from_email": "Example Accounting <news@example.com>",
            "body": "<p>Dear {{ first_name|client }},</p><p>Your balance month is "
            "{{ balance_month }}.</p>",
            **fields,
        }
        return Campaign.objects.create(connection=practice.connection, segment=segment, **values)

    return make
