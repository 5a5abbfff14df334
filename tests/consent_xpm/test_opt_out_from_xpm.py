"""XPM -> website: a tick in the contact's opt-out checkbox, set by staff in XPM (here on the
sandbox's own contacts page, over HTTP), unsubscribes the person after a sync, within the
custom-field refresh share and never the leads' reserve."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.db.models import F
from django.urls import reverse
from optout_helpers import opt_out_definition, people_with_one_record, sandbox_flag

from wagtail_xpm.consent import xpm_optout
from wagtail_xpm.models import (
    ConsentEvent,
    ContactClientLink,
    PracticeCustomField,
    SyncRun,
    XpmOptOutWrite,
    XpmSiteSettings,
)
from wagtail_xpm.sandbox.generator import OPT_OUT_FIELD
from wagtail_xpm.sync import freshness

pytestmark = pytest.mark.django_db


def opt_out_reads(sandbox) -> int:
    return sum(
        count
        for path, count in sandbox.calls_by_path.items()
        if path.startswith("client.api/contact/") and path.endswith("/customfield")
    )


def tick_in_xpm(running_sandbox, xpm_contact_id: str, on: bool = True) -> None:
    """What staff do in XPM: the sandbox's contacts page, as a browser posts it."""
    definition = opt_out_definition(running_sandbox.sandbox)
    response = requests.post(
        f"{running_sandbox.url}/_sandbox/contacts/{xpm_contact_id}/flag",
        data={"field": definition.uuid, "value": "on" if on else "off", "q": ""},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text


def age_opt_out_reads(by: timedelta) -> None:
    ContactClientLink.objects.exclude(opt_out_read_at=None).update(
        opt_out_read_at=F("opt_out_read_at") - by
    )


def test_the_first_sync_reads_every_opt_out_of_people_who_can_be_emailed(
    opt_out_site, running_sandbox
):
    run = SyncRun.objects.get()
    emailable = xpm_optout.emailable_links(opt_out_site)
    records = set(emailable.values_list("xpm_contact_id", flat=True))
    assert run.report["opt_outs"]["read"] == len(records) > 0
    assert run.usage["opt_outs"]["calls"] == len(records)
    assert not emailable.filter(opt_out_read_at=None).exists()
    state = xpm_optout.read_state(opt_out_site)
    assert state.unread == 0 and state.oldest is not None


def test_a_tick_in_xpm_unsubscribes_the_person_after_a_sync(opt_out_site, running_sandbox, sync):
    sandbox = running_sandbox.sandbox
    person, record = people_with_one_record()[0]
    tick_in_xpm(running_sandbox, record)
    assert sandbox_flag(sandbox, record)

    # XPM does not mark the contact or its client changed, and every read is fresh:
    # nothing is due yet.
    quiet = sync()
    assert quiet.report["opt_outs"]["read"] == 0
    person.refresh_from_db()
    assert person.subscribed is True

    # A week on, the reads fall due (paced by the refresh share) and the tick is seen.
    age_opt_out_reads(timedelta(days=7))
    run = sync()
    assert run.report["opt_outs"]["ticked"] == 1
    assert run.report["opt_outs"]["unsubscribed"] == 1
    person.refresh_from_db()
    assert person.subscribed is False and person.unsubscribed_at is not None
    [event] = ConsentEvent.objects.filter(contact=person, action=ConsentEvent.Action.OPTED_OUT_XPM)
    assert (event.action, event.actor, event.subscribed) == (
        ConsentEvent.Action.OPTED_OUT_XPM,
        ConsentEvent.Actor.SYNC,
        False,
    )
    assert event.detail["xpm_contact_id"] == record
    links = ContactClientLink.objects.filter(contact=person)
    assert {(link.xpm_opted_out, link.opt_out_read_at is not None) for link in links} == {
        (True, True)
    }
    # XPM already holds the tick: nothing is written back to it.
    assert not XpmOptOutWrite.objects.filter(contact=person).exists()

    # Unticked in XPM: nobody is subscribed again (only the person confirming can).
    tick_in_xpm(running_sandbox, record, on=False)
    age_opt_out_reads(timedelta(days=7))
    sync()
    person.refresh_from_db()
    assert person.subscribed is False
    assert not ConsentEvent.objects.filter(contact=person, subscribed=True, pk__gt=event.pk)


def test_contacts_of_changed_clients_are_read_first(opt_out_site, running_sandbox, sync):
    sandbox = running_sandbox.sandbox
    person, record = people_with_one_record()[0]
    tick_in_xpm(running_sandbox, record)
    # The client changes in XPM (a new phone number): the incremental sync lists it, and
    # its contacts' opt-outs are read at once, fresh as they are.
    client_uuid = ContactClientLink.objects.filter(contact=person).first().client.uuid
    with sandbox.lock:
        client = sandbox.state.clients[client_uuid]
        client.phone = "(02) 9555 0000"
        sandbox.state.touch_client(client, sandbox.clock())
    sandbox.reset_stats()

    run = sync()

    assert run.report["opt_outs"]["read"] >= 1
    assert opt_out_reads(sandbox) == run.report["opt_outs"]["read"]
    person.refresh_from_db()
    assert person.subscribed is False


def test_reads_stop_at_the_leads_reserve(opt_out_site, running_sandbox, sync):
    sandbox = running_sandbox.sandbox
    site_settings = XpmSiteSettings.for_site(opt_out_site.site)
    site_settings.daily_call_reserve = 1_000_000
    site_settings.save()
    age_opt_out_reads(timedelta(days=7))
    sandbox.reset_stats()

    run = sync()

    assert run.report["opt_outs"]["stopped"] == "budget"
    assert run.report["opt_outs"]["read"] == 0
    assert opt_out_reads(sandbox) == 0


def test_reads_share_the_custom_field_refresh_allowance(
    opt_out_site, running_sandbox, sync, settings
):
    sandbox = running_sandbox.sandbox
    # A share of 0.1% of 5,000 calls: five calls a day for the refresh and the opt-outs,
    # all of them in a run when the site syncs once a day.
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "CUSTOM_FIELD_REFRESH_SHARE": 0.001}
    site_settings = XpmSiteSettings.for_site(opt_out_site.site)
    site_settings.sync_interval_minutes = 24 * 60
    site_settings.save()
    SyncRun.objects.update(created_at=F("created_at") - timedelta(days=2))
    age_opt_out_reads(timedelta(days=7))
    sandbox.reset_stats()

    run = sync()

    assert run.report["opt_outs"]["read"] == opt_out_reads(sandbox) == 5
    assert run.report["opt_outs"]["stopped"] == "share"
    assert freshness.share_used(opt_out_site, now=run.finished_at + timedelta(seconds=1)) == 5
    # The day's share is used up: the next run reads none.
    assert sync().report["opt_outs"]["read"] == 0


def test_a_field_deleted_in_xpm_is_a_warning_of_the_sync_not_a_failure(
    opt_out_site, running_sandbox, sync, admin_client
):
    sandbox = running_sandbox.sandbox
    definition = opt_out_definition(sandbox)
    with sandbox.lock:
        del sandbox.state.custom_fields[definition.uuid]
    age_opt_out_reads(timedelta(days=7))

    # "Refresh from XPM" on the settings page finds it gone...
    site = opt_out_site.site
    settings_url = f"/admin/settings/wagtail_xpm/xpmsitesettings/{site.pk}/"
    refresh = admin_client.post(
        reverse("wagtail_xpm_leadsubmission:refresh_reference", args=[site.pk])
    )
    assert refresh.status_code == 302
    assert not PracticeCustomField.objects.get(uuid=definition.uuid).is_current
    page = admin_client.get(settings_url).content.decode()
    assert "data-xpm-optout-problem" in page and "no longer exists in XPM" in page
    assert f"{OPT_OUT_FIELD} (no longer in XPM)" in page

    # ...and the sync says so, reads nothing, and succeeds.
    sandbox.reset_stats()
    run = sync()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert "no longer exists in XPM" in run.report["opt_outs"]["warning"]
    assert any("no longer exists in XPM" in error for error in run.errors)
    assert opt_out_reads(sandbox) == 0
    run_page = admin_client.get(reverse("wagtail_xpm_syncrun:inspect", args=[run.pk]))
    assert "data-xpm-run-opt-outs" in run_page.content.decode()
    assert "no longer exists in XPM" in run_page.content.decode()


def test_the_run_page_says_who_was_unsubscribed(opt_out_site, running_sandbox, sync, admin_client):
    _person, record = people_with_one_record()[0]
    tick_in_xpm(running_sandbox, record)
    age_opt_out_reads(timedelta(days=7))
    run = sync()
    html = admin_client.get(reverse("wagtail_xpm_syncrun:inspect", args=[run.pk])).content.decode()
    assert f"{run.report['opt_outs']['read']} contacts read" in html
    assert "1 person unsubscribed (opted out in XPM)" in html


def test_the_settings_page_offers_contact_checkboxes_and_shows_freshness(
    opt_out_site, running_sandbox, admin_client
):
    site = opt_out_site.site
    page = admin_client.get(f"/admin/settings/wagtail_xpm/xpmsitesettings/{site.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    definitions = {d.name: d for d in running_sandbox.sandbox.state.custom_fields.values()}
    # Contact checkboxes are offered; client-only fields and other types are not.
    assert f'value="{definitions[OPT_OUT_FIELD].uuid}" selected' in html
    assert f'value="{definitions["Newsletter"].uuid}"' in html
    assert f'value="{definitions["Industry"].uuid}"' not in html
    assert f'value="{definitions["Annual Fee"].uuid}"' not in html
    assert "XPM opt-outs known here are at most" in html


def test_the_settings_form_keeps_the_field_name(opt_out_site, running_sandbox):
    from wagtail_xpm.leads.admin.site_settings import XpmSiteSettingsForm

    site_settings = XpmSiteSettings.for_site(opt_out_site.site)
    newsletter = next(
        d for d in running_sandbox.sandbox.state.custom_fields.values() if d.name == "Newsletter"
    )
    form_class = type(
        "Form", (XpmSiteSettingsForm,), {"Meta": type("Meta", (), {
            "model": XpmSiteSettings, "fields": ["xpm_opt_out_field_uuid"]})},
    )  # fmt: skip
    form = form_class(data={"xpm_opt_out_field_uuid": newsletter.uuid}, instance=site_settings)
    assert form.is_valid(), form.errors
    form.save()
    site_settings.refresh_from_db()
    assert site_settings.xpm_opt_out_field_name == "Newsletter"
    # A value XPM does not offer is refused.
    form = form_class(data={"xpm_opt_out_field_uuid": "not-a-field"}, instance=site_settings)
    assert not form.is_valid()


def test_the_sandbox_contacts_page_shows_and_sets_the_opt_out(running_sandbox):
    sandbox = running_sandbox.sandbox
    contact = next(c for c in sandbox.state.contacts.values() if c.email and not c.is_deleted)
    query = contact.email
    page = requests.get(f"{running_sandbox.url}/_sandbox/contacts", params={"q": query}, timeout=10)
    assert page.status_code == 200
    assert OPT_OUT_FIELD in page.text and contact.name in page.text
    assert ">Tick</button>" in page.text

    tick_in_xpm(running_sandbox, contact.uuid)
    rows = requests.get(
        f"{running_sandbox.url}/_sandbox/contacts.json", params={"q": query}, timeout=10
    ).json()
    [row] = [r for r in rows if r["uuid"] == contact.uuid]
    assert row["checkboxes"][OPT_OUT_FIELD] is True
    # A field that is not a contact checkbox cannot be set there.
    industry = next(d for d in sandbox.state.custom_fields.values() if d.name == "Industry")
    refused = requests.post(
        f"{running_sandbox.url}/_sandbox/contacts/{contact.uuid}/flag",
        data={"field": industry.uuid, "value": "on"},
        timeout=10,
    )
    assert refused.status_code == 400
