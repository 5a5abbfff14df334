"""What must hold before a delivery calls XPM: a connection, leads on, a lead owner.

Nothing here calls XPM for the lead itself; a missing piece is raised for ``delivery.py``
to sort: ``KeepLocal`` (the site keeps its enquiries) or ``Blocked`` (a person must fix
it; the sweeper re-queues the row once they have, see ``sweeper.SELF_HEALING``).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from ...models import LeadSubmission, XpmConnection, XpmSiteSettings
from .. import configsection
from ..configsection import ClientFactory
from .row import DeliveryRow
from .site_connection import connection_of


class KeepLocal(Exception):
    """The site does not send leads to XPM (switched off): the enquiry stays on the website."""


class Blocked(Exception):
    """Delivery cannot start until a person fixes something (no XPM call was made)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def require_connection(row: DeliveryRow) -> XpmConnection:
    """The connection the row goes to, stored on the row (a site connected after the
    enquiry was made gives its connection now)."""
    connection = connection_of(row.sub)
    if connection is None:
        raise Blocked(
            LeadSubmission.ERROR_NOT_CONNECTED,
            _(
                "This website is not connected to Xero Practice Manager yet. Connect it on "
                "the Xero Practice Manager page; waiting enquiries are then sent."
            ),
        )
    if row.sub.connection_id is None:
        row.save(connection=connection)
    return connection


def require_lead_settings(
    submission: LeadSubmission, connection: XpmConnection, client_factory: ClientFactory
) -> tuple[str, str]:
    """The lead owner's and the lead category's UUIDs ("" for no category) from the site
    settings, once leads are switched on, the connection is usable and an owner chosen."""
    site = submission.site or connection.site
    site_settings = XpmSiteSettings.for_site(site)
    if not site_settings.leads_enabled:
        raise KeepLocal()
    if not connection.is_usable:
        raise Blocked(
            LeadSubmission.ERROR_NOT_CONNECTED,
            _(
                "The website's connection to Xero Practice Manager is %(status)s. Reconnect "
                "it on the Xero Practice Manager page; waiting enquiries are then sent."
            )
            % {"status": connection.get_status_display().lower()},
        )
    owner = site_settings.lead_owner_uuid
    # The config document named an owner before the site was connected: resolve it now,
    # reading XPM's staff through the factory this delivery was given (no other client).
    if not owner and configsection.apply_pending(connection, client_factory=client_factory):
        site_settings = XpmSiteSettings.for_site(site)
        owner = site_settings.lead_owner_uuid
    if not owner:
        raise Blocked(
            LeadSubmission.ERROR_NO_OWNER,
            _(
                "No lead owner is chosen, and XPM needs one for every lead. Pick the staff "
                "member who looks after website leads in Settings, Xero Practice Manager "
                "settings; waiting enquiries are then sent."
            ),
        )
    return owner, site_settings.lead_category_uuid
