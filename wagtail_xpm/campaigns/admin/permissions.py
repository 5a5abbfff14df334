"""Who may see and send campaigns (the policies of wagtail_xpm/policies.py, docs/permissions.md)."""

from __future__ import annotations

from wagtail.permissions import policy_registry

from ... import access
from ...models import Campaign

SEND_PERMISSION = "wagtail_xpm.send_campaign"


def campaign_policy():
    return policy_registry.get_by_type(Campaign)


def can_view_campaigns(user) -> bool:
    return campaign_policy().user_has_any_permission(user, ["add", "change", "view"])


def can_send_campaign(user, campaign: Campaign | None = None) -> bool:
    """Send campaigns: on some site, or on ``campaign``'s site (docs/permissions.md)."""
    return access.holds(user, access.SEND_CAMPAIGN, campaign)
