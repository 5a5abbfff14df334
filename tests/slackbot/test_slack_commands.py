"""The /xpm commands through the signed Django endpoint, answered via the mock Slack."""

from __future__ import annotations

import pytest
from slack_helpers import CHANNEL, VIEWER, ack_json, grant, make_user

from slackbot import blocks
from wagtail_xpm.models import Contact, PracticeStaff, Segment, XpmSiteSettings


def test_help_lists_every_command_in_the_ack(slack, slack_mock):
    answer = ack_json(slack.command("help"))
    for usage in ("sync [full] [dry-run]", "status", "staff <name or email>",
                  "segment <expression>", "segments", "who <email>"):  # fmt: skip
        assert f"/xpm {usage}" in answer["text"]
    assert answer["blocks"][0]["text"]["text"] == "*XPM bot commands*"
    assert slack_mock.methods() == []


def test_bare_command_is_help(slack):
    assert "XPM commands" in ack_json(slack.command(""))["text"]


def test_unknown_command_says_so_with_help(slack, slack_mock):
    answer = ack_json(slack.command("synk now"))
    assert answer["text"].startswith("I don't know “synk”")
    assert "/xpm status" in answer["text"]
    assert slack_mock.methods() == []


def test_a_staging_command_name_is_served_too(slack):
    answer = ack_json(slack.command("help", command="/xpm-staging"))
    assert "XPM commands" in answer["text"]


# --- status ---------------------------------------------------------------------------------


def test_status_reports_connection_last_sync_calls_and_leads(slack, manager, synced_site):
    from wagtail_xpm.models import LeadSubmission

    site = synced_site.site
    LeadSubmission.objects.create(site=site, connection=synced_site, status="pending")
    LeadSubmission.objects.create(site=site, connection=synced_site, status="failed")
    LeadSubmission.objects.create(site=site, connection=synced_site, status="failed")
    LeadSubmission.objects.create(site=site, connection=synced_site, status="sent")
    synced_site.refresh_from_db()
    slack.command("status")
    reply = slack.replies()[0]
    assert reply["response_type"] == "ephemeral"
    text = reply["text"]
    assert f"connected to {synced_site.tenant_name}" in text
    assert "last sync succeeded" in text
    assert f"{synced_site.day_calls_remaining:,} calls left today" in text
    assert "1 enquiry waiting, 2 failed" in text
    rendered = str(reply["blocks"])
    assert f"{Contact.objects.filter(connection=synced_site).count():,}" in rendered
    assert "https://cms.example.com/admin/xpm/" in rendered


def test_status_of_a_connection_needing_reauthorisation(slack, manager, connected_site):
    connected_site.status = "needs_reauth"
    connected_site.last_error = "Xero refused the stored refresh token"
    connected_site.save()
    slack.command("status")
    reply = slack.replies()[0]
    assert "Needs re-authorisation" in reply["text"]
    assert "Xero refused the stored refresh token" in str(reply["blocks"])


def test_status_without_a_connection(slack, manager, default_site):
    slack.command("status")
    assert "Not connected to Xero Practice Manager" in slack.reply_text()


def test_status_is_allowed_with_view_permission_on_sync_runs(slack, slack_mock, connected_site):
    make_user("auditor", "auditor@example.com", "wagtail_xpm.view_syncrun")
    slack_mock.add_user("U0AUD", "auditor@example.com")
    slack.command("status", user="U0AUD")
    assert "XPM status" in slack.reply_text()


# --- staff and the lead owner ---------------------------------------------------------------


def test_staff_lookup_reads_the_staff_list_once_and_shows_ids(
    slack, slack_mock, manager, connected_site, running_sandbox
):
    assert not PracticeStaff.objects.exists()
    slack.command("staff jo")
    reply = slack.replies()[0]
    assert reply["response_type"] == "ephemeral"
    john = PracticeStaff.objects.get(name="John Smith")
    jo = PracticeStaff.objects.get(name="Jo Bloggs")
    for member in (john, jo):
        assert member.uuid in reply["text"]
        assert member.email in reply["text"]
    assert "Priya" not in reply["text"]
    buttons = [
        b["accessory"] for b in reply["blocks"] if b.get("accessory", {}).get("type") == "button"
    ]
    assert sorted(b["value"] for b in buttons) == sorted([john.uuid, jo.uuid])
    assert {b["action_id"] for b in buttons} == {blocks.ACTION_SET_LEAD_OWNER}
    # A second lookup uses the mirrored list: XPM is not asked again.
    running_sandbox.sandbox.faults.outage(5)
    slack.command("staff bloggs")
    second = slack.replies()[1]
    assert jo.uuid in second["text"] and john.uuid not in second["text"]


def test_staff_lookup_by_email(slack, manager, connected_site):
    slack.command("staff priya.patel@harbourco")
    assert "Priya Patel" in slack.reply_text()


def test_staff_lookup_without_a_match(slack, manager, connected_site):
    slack.command("staff zebedee")
    assert "No XPM staff member matches “zebedee”" in slack.reply_text()


def test_staff_lookup_needs_words(slack, manager, connected_site):
    slack.command("staff")
    assert "Say whom to look for" in slack.reply_text()


def test_staff_viewer_sees_ids_without_the_owner_button(slack, slack_mock, connected_site):
    make_user("lookup", "lookup@example.com", "wagtail_xpm.view_practicestaff")
    slack_mock.add_user("U0LOOK", "lookup@example.com")
    slack.command("staff jo", user="U0LOOK")
    reply = slack.replies()[0]
    assert PracticeStaff.objects.get(name="Jo Bloggs").uuid in reply["text"]
    assert not [b for b in reply["blocks"] if "accessory" in b]


def test_make_lead_owner_button(slack, manager, connected_site):
    slack.command("staff jo bloggs")
    jo = PracticeStaff.objects.get(name="Jo Bloggs")
    response = slack.action(blocks.ACTION_SET_LEAD_OWNER, jo.uuid)
    assert response.status_code == 200
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    assert site_settings.lead_owner_uuid == jo.uuid
    assert "Jo Bloggs is now the owner of website leads" in slack.replies()[-1]["text"]
    # The list now marks the owner and offers no button for them.
    slack.command("staff jo bloggs")
    reply = slack.replies()[-1]
    assert "lead owner" in str(reply["blocks"])
    assert not [b for b in reply["blocks"] if "accessory" in b]
    # ...and status names them.
    slack.command("status")
    assert "Jo Bloggs" in str(slack.replies()[-1]["blocks"])


def test_make_lead_owner_needs_manage_permission(slack, slack_mock, connected_site, manager):
    slack.command("staff jo")  # mirror the staff list
    looker = make_user("looker", "looker@example.com", "wagtail_xpm.view_practicestaff")
    slack_mock.add_user("U0LOOK", "looker@example.com")
    jo = PracticeStaff.objects.get(name="Jo Bloggs")
    slack.action(blocks.ACTION_SET_LEAD_OWNER, jo.uuid, user="U0LOOK")
    assert "You don't have permission to choose the lead owner" in slack.replies()[-1]["text"]
    assert XpmSiteSettings.for_site(connected_site.site).lead_owner_uuid == ""
    del looker


def test_make_lead_owner_refuses_ids_not_in_the_staff_list(slack, manager, connected_site):
    slack.command("staff jo")
    slack.action(blocks.ACTION_SET_LEAD_OWNER, "00000000-0000-0000-0000-000000000000")
    assert "no longer in XPM's staff list" in slack.replies()[-1]["text"]
    assert XpmSiteSettings.for_site(connected_site.site).lead_owner_uuid == ""


# --- who ------------------------------------------------------------------------------------


def test_who_shows_clients_fields_and_segments(slack, manager, synced_site):
    contact = (
        Contact.objects.filter(connection=synced_site, client_links__isnull=False)
        .exclude(email="")
        .first()
    )
    Segment.objects.create(
        connection=synced_site,
        name="Everyone with an email",
        rules=[{"field": "email", "op": "not_blank"}],
    )
    Segment.objects.create(
        connection=synced_site, name="Nobody", rules=[{"field": "email", "op": "eq", "value": "x"}]
    )
    slack.command(f"who <mailto:{contact.email.upper()}|{contact.email.upper()}>")
    reply = slack.replies()[0]
    assert reply["response_type"] == "ephemeral"
    rendered = str(reply["blocks"])
    for link in contact.client_links.select_related("client"):
        assert link.client.name.replace("&", "&amp;") in rendered
    assert "Everyone with an email" in rendered
    assert "Nobody" not in rendered
    account_manager = contact.data.get("account_manager")
    if account_manager:
        assert account_manager in rendered
    assert f"/admin/contacts/inspect/{contact.pk}/" in rendered


def test_who_unknown_email(slack, manager, synced_site):
    slack.command("who nobody@nowhere.example")
    assert "No contact has the email nobody@nowhere.example" in slack.reply_text()


def test_who_needs_an_email(slack, manager, synced_site):
    slack.command("who John Smith")
    assert "Give an email address" in slack.reply_text()


# --- segment and segments -------------------------------------------------------------------


def expected_members(connection, **data) -> list[Contact]:
    return [
        c
        for c in Contact.objects.filter(connection=connection, is_archived=False)
        if all((c.data or {}).get(k) == v for k, v in data.items())
    ]


def test_segment_counts_with_a_sample_and_a_save_button(slack, manager, synced_site):
    expected = expected_members(synced_site, account_manager="John Smith", balance_month="June")
    assert expected, "the sandbox practice should have John Smith's June clients"
    slack.command("segment Account Manager = John and Balance Month = June")
    reply = slack.replies()[0]
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(f"{len(expected):,} contacts match ")
    assert "Account Manager is John Smith and Balance Month is June" in reply["text"]
    rendered = str(reply["blocks"])
    assert "“John” was read as “John Smith”" in rendered
    first = sorted(expected, key=lambda c: (c.name, c.pk))[0]
    assert first.name.replace("&", "&amp;") in rendered
    save = [
        e
        for b in reply["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == blocks.ACTION_SAVE_SEGMENT
    ]
    assert save and save[0]["value"] == "Account Manager = John and Balance Month = June"


def test_segment_with_a_list_and_keys(slack, manager, synced_site):
    months = {"June", "December"}
    expected = [
        c
        for c in Contact.objects.filter(connection=synced_site, is_archived=False)
        if (c.data or {}).get("balance_month") in months
    ]
    slack.command("segment balance_month in jun, DEC")
    reply = slack.replies()[0]
    assert reply["text"].startswith(
        f"{len(expected):,} contacts match Balance Month is any of June, December"
    )


def test_segment_error_names_the_field(slack, manager, synced_site):
    slack.command("segment Acount Manager = John")
    reply = slack.replies()[0]
    assert "I don't know a field called “Acount Manager”" in reply["text"]
    assert "Did you mean Account Manager" in reply["text"]


def test_segment_bad_value(slack, manager, synced_site):
    slack.command("segment Balance Month = Jume")
    assert "“Jume” is not a month" in slack.reply_text()


def test_segment_for_someone_who_cannot_save(slack, viewer, synced_site):
    slack.command("segment Balance Month = June", user=VIEWER)
    reply = slack.replies()[0]
    assert "contacts match" in reply["text"]
    assert blocks.ACTION_SAVE_SEGMENT not in str(reply["blocks"])
    assert "add segment" in str(reply["blocks"])


def test_segments_lists_saved_segments_with_counts(slack, manager, synced_site):
    june = expected_members(synced_site, balance_month="June")
    Segment.objects.create(
        connection=synced_site,
        name="June balance dates",
        rules=[{"field": "balance_month", "op": "eq", "value": "June"}],
    )
    Segment.objects.create(
        connection=synced_site,
        name="Prospects",
        rules=[{"field": "is_prospect", "op": "eq", "value": True}],  # fmt: skip
    )
    slack.command("segments")
    reply = slack.replies()[0]
    assert f"June balance dates ({len(june)})" in reply["text"]
    prospects = Contact.objects.filter(
        connection=synced_site, is_prospect=True, is_archived=False
    ).count()
    assert f"Prospects ({prospects})" in reply["text"]


def test_segments_when_there_are_none(slack, manager, synced_site):
    slack.command("segments")
    assert "No saved segments yet" in slack.reply_text()


def test_a_failing_command_says_so_without_details(slack, manager, synced_site, monkeypatch):
    from slackbot import queries

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire with jo@example.com")

    monkeypatch.setattr(queries, "status_snapshot", broken)
    slack.command("status")
    text = slack.reply_text()
    assert "Something went wrong" in text
    assert "jo@example.com" not in text


def test_replies_go_to_the_asker_only(slack, slack_mock, manager, synced_site):
    for text in ("status", "segments", "segment Balance Month = June", "who a@b.example"):
        slack.command(text)
    replies = slack.replies()
    assert len(replies) == 4
    assert {r["response_type"] for r in replies} == {"ephemeral"}
    assert slack_mock.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("channel", [CHANNEL, "D0DIRECT"])
def test_commands_work_in_channels_and_direct_messages(slack, manager, connected_site, channel):
    slack.command("status", channel=channel)
    assert "XPM status" in slack.reply_text()


def test_grant_helper_gives_permissions(db):
    user = make_user("tmp", "tmp@example.com")
    grant(user, "wagtail_xpm.view_contact")
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(pk=user.pk).has_perm("wagtail_xpm.view_contact")


def test_a_failing_button_says_so(slack, manager, connected_site, monkeypatch):
    from slackbot import leads_adapter

    slack.command("staff jo")
    jo = PracticeStaff.objects.get(name="Jo Bloggs")

    def broken(*args, **kwargs):
        raise RuntimeError("settings table locked")

    monkeypatch.setattr(leads_adapter, "set_owner", broken)
    response = slack.action(blocks.ACTION_SET_LEAD_OWNER, jo.uuid)
    assert response.status_code == 200
    assert "Something went wrong" in slack.replies()[-1]["text"]
