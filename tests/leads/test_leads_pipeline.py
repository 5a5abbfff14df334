"""Delivery over the sandbox: known and unknown visitors, outages, 429s, lost answers, dead
workers and XPM refusing the data. "Exactly one client and one lead" is checked in XPM."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from leads_helpers import (
    WorkerKilled,
    api_clients,
    api_leads,
    dying_client_factory,
    make_due,
    make_submission,
    sandbox_client_named,
)

from wagtail_xpm import services
from wagtail_xpm.leads import pipeline
from wagtail_xpm.models import Contact, LeadSubmission, XpmSiteSettings
from wagtail_xpm.xpm.errors import XpmRateLimited

pytestmark = pytest.mark.django_db

Status = LeadSubmission.Status


def stored(submission: LeadSubmission) -> LeadSubmission:
    return LeadSubmission.objects.get(pk=submission.pk)


# --- Who the lead is attached to -----------------------------------------------------------


def test_unknown_visitor_becomes_a_prospect_client_with_one_lead(
    lead_site, owner, running_sandbox, deliver
):
    sb = running_sandbox.sandbox
    sub = make_submission(
        lead_site,
        name="Hana Kowalski",
        email="hana@kowalski-studio.example",
        phone="021 555 0101",
        company="Kowalski Studio Ltd",
        message="Looking for an accountant for my new company.",
    )

    outcome = deliver(sub)

    sub = stored(sub)
    assert outcome.status == Status.SENT and sub.status == Status.SENT
    assert sub.client_matched_by == LeadSubmission.MatchedBy.CREATED and sub.client_created
    [client] = api_clients(sb, "hana@kowalski-studio.example")
    assert client.uuid == sub.xpm_client_uuid
    assert client.name == "Kowalski Studio Ltd" and client.is_prospect
    [link] = client.contacts
    contact = sb.state.contacts[link.contact_uuid]
    assert (contact.name, contact.phone, link.is_primary) == ("Hana Kowalski", "021 555 0101", True)
    assert sub.xpm_contact_uuid == contact.uuid
    [lead] = api_leads(sb)
    assert lead.uuid == sub.xpm_lead_uuid
    assert lead.name == "Website enquiry: Hana Kowalski"
    assert (lead.client_uuid, lead.contact_uuid, lead.owner_uuid) == (
        client.uuid,
        contact.uuid,
        owner.uuid,
    )
    assert lead.description.startswith("Looking for an accountant for my new company.")
    for line in (
        "Company: Kowalski Studio Ltd",
        "Phone: 021 555 0101",
        "Page: http://localhost/contact/",
        f"Website reference: localhost-{sub.pk}",
    ):
        assert line in lead.description


def test_visitor_known_to_the_website_crm_uses_their_xpm_client_in_another_case(
    lead_site, running_sandbox, deliver
):
    services.run_sync(lead_site, trigger="cli")
    known = Contact.objects.get(connection=lead_site, email_key="wiremu.thompson23@xtra.example")
    sb = running_sandbox.sandbox
    sb.reset_stats()
    sub = make_submission(lead_site, name="Wiremu T", email="  WIREMU.Thompson23@XTRA.example ")

    deliver(sub)

    sub = stored(sub)
    assert sub.status == Status.SENT
    assert sub.client_matched_by == LeadSubmission.MatchedBy.CRM
    assert (sub.xpm_client_uuid, sub.xpm_contact_uuid) == (
        known.xpm_client_id,
        known.xpm_contact_id,
    )
    assert api_clients(sb) == []
    [lead] = api_leads(sb)
    assert (lead.client_uuid, lead.contact_uuid) == (known.xpm_client_id, known.xpm_contact_id)
    # Found locally: XPM was asked only to add the lead.
    assert sb.calls_by_path["client.api/search"] == 0
    assert sb.calls_by_path["lead.api/add"] == 1
    # The CRM contact is the synced one, not a second "form" contact.
    assert Contact.objects.filter(connection=lead_site, email_key=known.email_key).count() == 1
    assert sub.contact_id == known.pk


def test_visitor_in_xpm_but_not_yet_synced_is_found_by_search(lead_site, running_sandbox, deliver):
    sb = running_sandbox.sandbox
    existing = sandbox_client_named(sb, "Lucas Chen")
    sub = make_submission(lead_site, name="Lucas Chen", email="Lucas.Chen59@Gmail.EXAMPLE")

    deliver(sub)

    sub = stored(sub)
    assert sub.status == Status.SENT
    assert sub.client_matched_by == LeadSubmission.MatchedBy.SEARCH and not sub.client_created
    assert sub.xpm_client_uuid == existing.uuid
    assert sub.xpm_contact_uuid == existing.contacts[0].contact_uuid
    assert api_clients(sb) == []
    assert [lead.client_uuid for lead in api_leads(sb)] == [existing.uuid]


def test_company_name_finds_the_business_client_of_a_contact(lead_site, running_sandbox, deliver):
    sb = running_sandbox.sandbox
    business = sandbox_client_named(sb, "Totara Plumbing Ltd")
    sub = make_submission(
        lead_site,
        name="Arjun Wilson",
        email="arjun.wilson79@xtra.example",
        company="Totara Plumbing",
    )

    deliver(sub)

    sub = stored(sub)
    assert sub.xpm_client_uuid == business.uuid
    assert sub.xpm_client_name == "Totara Plumbing Ltd"
    assert api_clients(sb) == []


def test_same_name_but_different_email_is_not_taken_for_the_visitor(
    lead_site, running_sandbox, deliver
):
    sb = running_sandbox.sandbox
    namesake = sandbox_client_named(sb, "Lucas Chen")
    sub = make_submission(lead_site, name="Lucas Chen", email="lucas@another-lucas.example")

    deliver(sub)

    sub = stored(sub)
    assert sub.client_created and sub.xpm_client_uuid != namesake.uuid
    assert len(api_clients(sb, "lucas@another-lucas.example")) == 1


def test_a_second_enquiry_from_the_same_person_reuses_their_new_client(
    lead_site, running_sandbox, deliver
):
    sb = running_sandbox.sandbox
    first = make_submission(lead_site, name="Ana Lima", email="ana@lima.example")
    deliver(first)
    second = make_submission(lead_site, name="Ana Lima", email="ANA@lima.example")
    deliver(second)

    first, second = stored(first), stored(second)
    assert second.xpm_client_uuid == first.xpm_client_uuid
    # The first delivery linked the website contact to XPM, so no search was needed.
    assert second.client_matched_by == LeadSubmission.MatchedBy.CRM
    assert len(api_clients(sb)) == 1
    assert len(api_leads(sb, first.xpm_client_uuid)) == 2


# --- XPM down, slow or busy ------------------------------------------------------------------


def test_xpm_down_for_the_first_attempts_then_delivered_once(lead_site, running_sandbox, deliver):
    sb = running_sandbox.sandbox
    # Eight answers of 503: the client's own read retries (4 a call) are used up twice.
    sb.faults.outage(8)
    sub = make_submission(lead_site, name="Mere Tane", email="mere@tane.example")

    first = deliver(sub)
    assert first.status == Status.PENDING and first.retry_in == 60
    sub = stored(sub)
    assert sub.attempts == 1 and sub.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert "could not be reached" in sub.last_error
    # Not due yet: a duplicate task does nothing.
    assert deliver(sub).status == Status.PENDING and stored(sub).attempts == 1

    make_due(sub)
    second = deliver(sub)
    assert second.status == Status.PENDING and second.retry_in == 120  # backoff doubles
    make_due(sub)
    assert deliver(sub).status == Status.SENT

    sub = stored(sub)
    assert (sub.attempts, sub.last_error, sub.error_code) == (3, "", "")
    assert len(api_clients(sb, "mere@tane.example")) == 1
    assert len(api_leads(sb)) == 1


def test_after_a_failure_other_deliveries_wait_instead_of_knocking(
    lead_site, running_sandbox, deliver
):
    sb = running_sandbox.sandbox
    sb.faults.outage(100)
    first = make_submission(lead_site, name="Mere Tane", email="mere@tane.example")
    second = make_submission(lead_site, name="Tui Rangi", email="tui@rangi.example")
    assert deliver(first).status == Status.PENDING
    calls = sb.api_calls

    outcome = deliver(second)

    # XPM was failing a moment ago: the second enquiry waits without calling it.
    assert outcome.status == Status.PENDING and 0 < outcome.retry_in <= 30
    assert sb.api_calls == calls
    second = stored(second)
    assert second.attempts == 0 and second.next_attempt_at is not None
    assert "could not be reached" in second.last_error
    # Once XPM is back and the pause is over, it goes through.
    sb.faults.reset()
    make_due(second)
    assert deliver(second).status == Status.SENT


def test_unreachable_api_is_retried_not_failed(lead_site, settings, deliver):
    settings.WAGTAIL_XPM = {
        **settings.WAGTAIL_XPM,
        "API_URL": "http://127.0.0.1:9/practicemanager/3.1/",
        "TIMEOUT": (0.5, 1.0),
    }
    sub = make_submission(lead_site, name="Tui Rangi", email="tui@rangi.example")

    outcome = deliver(sub)

    assert outcome.status == Status.PENDING
    assert stored(sub).error_code == "" and "could not be reached" in stored(sub).last_error


def test_gives_up_after_the_attempt_limit_and_tells_the_admins(
    lead_site, running_sandbox, settings, deliver, admin_user
):
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "LEAD_MAX_ATTEMPTS": 2}
    running_sandbox.sandbox.faults.outage(100)
    sub = make_submission(lead_site, name="Sam Reid", email="sam@reid.example")

    assert deliver(sub).status == Status.PENDING
    make_due(sub)
    assert deliver(sub).status == Status.FAILED

    sub = stored(sub)
    assert sub.error_code == LeadSubmission.ERROR_UNREACHABLE
    assert sub.last_error.startswith("Gave up after 2 attempts.")
    [message] = mail.outbox
    assert message.to == [admin_user.email]
    assert "Sam Reid" in message.subject and "Gave up after 2 attempts" in message.body


def test_429s_are_retried_later_and_never_duplicate(lead_site, running_sandbox, deliver):
    sb = running_sandbox.sandbox
    # More 429s than the client's own attempts (it honours Retry-After between them): the
    # delivery itself must wait. A short Retry-After keeps the test quick.
    sb.faults.throttle(6, problem="minute", retry_after=1)
    sub = make_submission(lead_site, name="Olivia Park", email="olivia@park.example")

    outcome = deliver(sub)

    assert outcome.status == Status.PENDING and outcome.retry_in == 60
    assert "slow down" in stored(sub).last_error
    make_due(sub)
    assert deliver(sub).status == Status.SENT
    assert len(api_clients(sb, "olivia@park.example")) == 1
    assert len(api_leads(sb)) == 1
    assert sb.calls_by_path["client.api/add"] == 1


def test_a_long_retry_after_outlasts_the_backoff(lead_site, deliver):
    def factory(connection):
        client = services.client_for(connection)

        def busy(*args, **kwargs):
            raise XpmRateLimited("XPM rate limit hit (minute)", problem="minute", retry_after=300)

        client.search_clients = busy
        return client

    sub = make_submission(lead_site, name="Olivia Park", email="olivia@park.example")

    outcome = pipeline.deliver(sub.pk, client_factory=factory)

    assert outcome.status == Status.PENDING and outcome.retry_in == 300


def test_daily_limit_waits_for_the_reset(lead_site, running_sandbox, deliver):
    running_sandbox.sandbox.faults.throttle(1, problem="day", retry_after=7200)
    sub = make_submission(lead_site, name="Noah Ward", email="noah@ward.example")

    outcome = deliver(sub)

    assert outcome.status == Status.PENDING and outcome.retry_in == 7200
    sub = stored(sub)
    assert "daily reset" in sub.last_error
    assert sub.next_attempt_at > timezone.now() + timedelta(hours=1, minutes=59)


# --- Never create twice ----------------------------------------------------------------------


def test_worker_killed_between_client_and_lead_leaves_one_client_and_one_lead(
    lead_site, running_sandbox, deliver
):
    sb = running_sandbox.sandbox
    sub = make_submission(lead_site, name="Kiri Walker", email="kiri@walker.example")
    factory = dying_client_factory("add_lead")
    # The client step is stored; the worker dies right after XPM created the lead.
    with pytest.raises(WorkerKilled):
        pipeline.deliver(sub.pk, client_factory=factory)
    sub = stored(sub)
    assert sub.status == Status.SENDING and sub.xpm_client_uuid and not sub.xpm_lead_uuid

    # Later, the sweeper notices the abandoned delivery and queues it again.
    later = timezone.now() + timedelta(minutes=11)
    result = pipeline.sweep(now=later)
    assert result.requeued_stuck == [sub.pk] and sub.pk in result.due
    assert deliver(sub, now=later).status == Status.SENT

    sub = stored(sub)
    assert len(api_clients(sb, "kiri@walker.example")) == 1
    [lead] = api_leads(sb)
    assert lead.uuid == sub.xpm_lead_uuid
    assert sb.calls_by_path["lead.api/add"] == 1
    assert sb.calls_by_path["lead.api/current"] == 1


def test_worker_killed_after_xpm_created_the_client_finds_it_instead_of_adding(
    lead_site, running_sandbox, deliver
):
    sb = running_sandbox.sandbox
    sub = make_submission(lead_site, name="Ben Foster", email="ben@foster.example")
    with pytest.raises(WorkerKilled):
        pipeline.deliver(sub.pk, client_factory=dying_client_factory("add_client"))
    sub = stored(sub)
    assert sub.client_add_started_at is not None and not sub.xpm_client_uuid
    assert len(api_clients(sb)) == 1  # XPM did create it

    later = timezone.now() + timedelta(minutes=11)
    pipeline.sweep(now=later)
    assert deliver(sub, now=later).status == Status.SENT

    sub = stored(sub)
    [client] = api_clients(sb, "ben@foster.example")
    assert sub.xpm_client_uuid == client.uuid and sub.client_created
    assert sb.calls_by_path["client.api/add"] == 1
    assert len(api_leads(sb, client.uuid)) == 1


def test_lost_answer_to_client_add_is_looked_up_not_repeated(lead_site, running_sandbox, deliver):
    sb = running_sandbox.sandbox
    sb.faults.drop(1, path="client.api/add")
    sub = make_submission(lead_site, name="Ella Hart", email="ella@hart.example")

    outcome = deliver(sub)

    assert outcome.status == Status.PENDING
    assert "checks whether it was created" in stored(sub).last_error
    make_due(sub)
    assert deliver(sub).status == Status.SENT
    assert len(api_clients(sb, "ella@hart.example")) == 1
    assert sb.calls_by_path["client.api/add"] == 1
    assert len(api_leads(sb)) == 1


def test_lost_answer_to_lead_add_is_found_among_current_leads(lead_site, running_sandbox, deliver):
    sb = running_sandbox.sandbox
    sb.faults.drop(1, path="lead.api/add")
    sub = make_submission(lead_site, name="Finn Doyle", email="finn@doyle.example")

    assert deliver(sub).status == Status.PENDING
    make_due(sub)
    assert deliver(sub).status == Status.SENT

    sub = stored(sub)
    [lead] = api_leads(sb)
    assert lead.uuid == sub.xpm_lead_uuid
    assert sb.calls_by_path["lead.api/add"] == 1


def test_a_lookalike_lead_of_another_enquiry_is_not_mistaken_for_ours(
    lead_site, running_sandbox, deliver
):
    """Two enquiries from one person: the lost lead of the second is not the first's lead."""
    sb = running_sandbox.sandbox
    first = make_submission(lead_site, name="Finn Doyle", email="finn@doyle.example")
    deliver(first)
    sb.faults.drop(1, path="lead.api/add")
    second = make_submission(lead_site, name="Finn Doyle", email="finn@doyle.example")
    deliver(second)
    make_due(second)
    deliver(second)

    first, second = stored(first), stored(second)
    assert second.status == Status.SENT
    assert second.xpm_lead_uuid != first.xpm_lead_uuid
    assert len(api_leads(sb, first.xpm_client_uuid)) == 2
    assert sb.calls_by_path["lead.api/add"] == 2


def test_two_workers_racing_for_one_row_deliver_once(lead_site, running_sandbox, deliver):
    sub = make_submission(lead_site, name="Ivy Stone", email="ivy@stone.example")
    running_sandbox.sandbox.reset_stats()
    claimed = pipeline.claim(sub.pk)
    assert claimed is not None
    # The second task for the same row finds it taken and does nothing.
    assert deliver(sub).status == Status.SENDING
    assert running_sandbox.sandbox.api_calls == 0


# --- XPM refuses the data --------------------------------------------------------------------


def test_invalid_owner_fails_with_a_reason_tells_admins_then_heals(
    lead_site, running_sandbox, deliver, owner, admin_user
):
    sb = running_sandbox.sandbox
    site_settings = XpmSiteSettings.for_site(lead_site.site)
    site_settings.lead_owner_uuid = "0f0f0f0f-0000-4000-8000-000000000000"
    site_settings.save()
    sub = make_submission(lead_site, name="Zara Cole", email="zara@cole.example")

    outcome = deliver(sub)

    sub = stored(sub)
    assert outcome.status == Status.FAILED and sub.status == Status.FAILED
    assert sub.error_code == LeadSubmission.ERROR_OWNER_INVALID
    assert "does not accept the chosen lead owner" in sub.last_error
    assert "Invalid owner" in sub.last_error
    [message] = mail.outbox
    assert admin_user.email in message.to and "Invalid owner" in message.body
    # A failed row is not retried on its own while the cause is still there.
    assert pipeline.sweep().due == []

    site_settings.lead_owner_uuid = owner.uuid
    site_settings.save()
    result = pipeline.sweep()
    assert result.healed == [sub.pk]
    assert deliver(sub).status == Status.SENT
    # The client made on the first attempt was kept and reused.
    assert len(api_clients(sb, "zara@cole.example")) == 1
    assert api_leads(sb)[0].owner_uuid == owner.uuid


def test_unknown_category_is_dropped_and_noted(lead_site, running_sandbox, deliver):
    site_settings = XpmSiteSettings.for_site(lead_site.site)
    site_settings.lead_category_uuid = "0f0f0f0f-0000-4000-8000-00000000cafe"
    site_settings.save()
    sub = make_submission(lead_site, name="Leo Grant", email="leo@grant.example")

    assert deliver(sub).status == Status.SENT

    [lead] = api_leads(running_sandbox.sandbox)
    assert lead.category_uuid is None
    assert "without a lead category" in stored(sub).notes


def test_chosen_category_is_sent(lead_site, running_sandbox, deliver):
    sb = running_sandbox.sandbox
    website = next(c for c in sb.state.lead_categories.values() if c.name == "Website")
    site_settings = XpmSiteSettings.for_site(lead_site.site)
    site_settings.lead_category_uuid = website.uuid
    site_settings.save()
    sub = make_submission(lead_site, name="Leo Grant", email="leo@grant.example")

    deliver(sub)

    assert api_leads(sb)[0].category_uuid == website.uuid
    assert stored(sub).category_uuid == website.uuid


def test_stale_crm_client_is_looked_up_again(lead_site, running_sandbox, deliver):
    """The website remembers a client XPM has since deleted: find or create another."""
    sb = running_sandbox.sandbox
    services.run_sync(lead_site, trigger="cli")
    gone = sandbox_client_named(sb, "Charlotte Brown")
    assert gone.is_deleted
    known = Contact.objects.get(connection=lead_site, email_key="charlotte.brown37@xtra.example")
    assert known.xpm_client_id == gone.uuid
    sub = make_submission(lead_site, name="Charlotte Brown", email="charlotte.brown37@xtra.example")

    assert deliver(sub).status == Status.SENT

    sub = stored(sub)
    assert sub.xpm_client_uuid != gone.uuid and sub.client_created
    assert "out of date" in sub.notes
    assert [lead.client_uuid for lead in api_leads(sb)] == [sub.xpm_client_uuid]


def test_revoked_connection_fails_and_heals_after_reconnecting(lead_site, running_sandbox, deliver):
    sub = make_submission(lead_site, name="Ruth Bell", email="ruth@bell.example")
    lead_site.status = lead_site.Status.NEEDS_REAUTH
    lead_site.save()

    outcome = deliver(sub)

    sub = stored(sub)
    assert outcome.status == Status.FAILED
    assert sub.error_code == LeadSubmission.ERROR_NOT_CONNECTED
    assert "Reconnect it" in sub.last_error
    assert pipeline.sweep().healed == []

    tokens = running_sandbox.sandbox.issue_tokens()
    services.connect_with_refresh_token(site=lead_site.site, refresh_token=tokens["refresh_token"])
    assert pipeline.sweep().healed == [sub.pk]
    assert deliver(sub).status == Status.SENT


def test_description_lists_other_fields_consent_and_reference(lead_site, deliver):
    sub = make_submission(
        lead_site,
        name="Maia Roa",
        email="maia@roa.example",
        consent=True,
        message="Can you help with my rental property?",
    )
    sub.form_data = {**sub.form_data, "property_count": "3", "how_did_you_hear": ["Google"]}
    sub.field_labels = {**sub.field_labels, "property_count": "How many properties?"}
    sub.save()

    text = pipeline.describe(sub)

    assert text.splitlines()[0] == "Can you help with my rental property?"
    assert "How many properties?: 3" in text
    assert "How did you hear: Google" in text
    assert "Marketing consent: Yes" in text
    assert text.rstrip().endswith(f"Website reference: localhost-{sub.pk}")
    # Role fields appear once, under their own label.
    assert text.count("maia@roa.example") == 1
