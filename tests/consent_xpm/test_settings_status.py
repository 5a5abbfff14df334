"""The settings page tells staff about opt-outs that are waiting for XPM or that failed."""

from __future__ import annotations

import pytest
from optout_helpers import people_with_one_record

from wagtail_xpm.consent import xpm_optout
from wagtail_xpm.models import XpmOptOutWrite

pytestmark = pytest.mark.django_db

Status = XpmOptOutWrite.Status


def settings_page(admin_client, site) -> str:
    response = admin_client.get(f"/admin/settings/wagtail_xpm/xpmsitesettings/{site.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_waiting_and_failed_writes_are_counted_on_the_settings_page(
    opt_out_site, running_sandbox, admin_client
):
    (first, first_id), (second, second_id), (third, third_id) = people_with_one_record()[:3]
    assert "data-xpm-optout-outbox" not in settings_page(admin_client, opt_out_site.site)
    for contact, xpm_id, status in (
        (first, first_id, Status.PENDING),
        (second, second_id, Status.SENDING),
        (third, third_id, Status.FAILED),
    ):
        XpmOptOutWrite.objects.create(
            connection=opt_out_site, contact=contact, xpm_contact_id=xpm_id, status=status
        )

    assert xpm_optout.outbox_counts(opt_out_site) == xpm_optout.OutboxCounts(2, 1)
    html = settings_page(admin_client, opt_out_site.site)
    assert "2 opt-outs are waiting to be written to XPM." in html
    assert "1 opt-out could not be written to XPM after many tries" in html


def test_without_a_field_the_page_says_nothing_is_shared(
    connected_site, running_sandbox, admin_client
):
    html = settings_page(admin_client, connected_site.site)
    assert "Opt-outs are not shared with XPM" in html
    assert "Marketing opt-out" in html  # offered, not chosen
