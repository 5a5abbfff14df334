"""Who may use the bot: allowed workspace and channel, linked or email-matched Wagtail
user, and the Django permission each command needs. Everyone else is refused."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from slack_helpers import CHANNEL, MANAGER, TEAM, VIEWER, ack_json, make_user

from slackbot import identity
from slackbot.models import SlackUserLink

NO_USER = "can't match your Slack account"


def test_email_match_acts_as_the_wagtail_user(slack, slack_mock, manager, connected_site):
    response = slack.command("status")
    assert ack_json(response) == {}  # acknowledged at once, answered through response_url
    replies = slack.replies()
    assert len(replies) == 1
    assert replies[0]["response_type"] == "ephemeral"
    assert "XPM status" in replies[0]["text"]
    assert [c["user"] for c in slack_mock.calls_to("users.info")] == [MANAGER]


def test_email_match_is_cached(slack, slack_mock, manager, connected_site):
    slack.command("status")
    slack.command("status")
    assert len(slack_mock.calls_to("users.info")) == 1
    assert len(slack.replies()) == 2


def test_explicit_link_wins_over_email(slack, slack_mock, viewer, connected_site):
    """Someone whose Slack email is unknown on the site, linked by an admin."""
    other = make_user("ops", "ops@firm.example", "wagtail_xpm.manage_connection")
    slack_mock.add_user("U0LINK", "somebody-else@gmail.example")
    SlackUserLink.objects.create(team_id=TEAM.lower(), slack_user_id="u0link", user=other)
    slack.command("status", user="U0LINK")
    assert "XPM status" in slack.reply_text()
    # The link answered: Slack's profile was not even asked.
    assert slack_mock.calls_to("users.info") == []


def test_link_to_a_deactivated_user_is_refused_without_email_fallback(
    slack, slack_mock, manager, connected_site
):
    inactive = make_user("gone", "gone@example.com", "wagtail_xpm.manage_connection")
    inactive.is_active = False
    inactive.save()
    SlackUserLink.objects.create(team_id=TEAM, slack_user_id=MANAGER, user=inactive)
    slack.command("status")
    assert NO_USER in slack.reply_text()


def test_unknown_email_is_refused(slack, slack_mock, connected_site, db):
    slack_mock.add_user("U0NEW", "stranger@example.com")
    slack.command("status", user="U0NEW")
    reply = slack.replies()[0]
    assert reply["response_type"] == "ephemeral"
    assert NO_USER in reply["text"]


def test_slack_user_without_email_is_refused(slack, slack_mock, connected_site, db):
    slack_mock.add_user("U0NOMAIL", None)
    slack.command("status", user="U0NOMAIL")
    assert NO_USER in slack.reply_text()


def test_users_info_failure_is_refused(slack, slack_mock, manager, connected_site):
    slack_mock.errors["users.info"] = ("missing_scope", None)
    slack.command("status")
    assert NO_USER in slack.reply_text()


def test_two_accounts_with_one_email_are_refused(slack, slack_mock, manager, connected_site):
    make_user("jo2", "JO.MANAGER@example.com", "wagtail_xpm.manage_connection")
    slack.command("status")
    assert NO_USER in slack.reply_text()


def test_inactive_email_match_is_refused(slack, slack_mock, manager, connected_site):
    get_user_model().objects.filter(pk=manager.pk).update(is_active=False)
    slack.command("status")
    assert NO_USER in slack.reply_text()


def test_guest_accounts_never_act_as_staff(slack, slack_mock, manager, connected_site):
    slack_mock.add_user(MANAGER, "jo.manager@example.com", is_restricted=True)
    slack.command("status")
    assert NO_USER in slack.reply_text()


@pytest.mark.parametrize(
    "text",
    ["sync", "status", "staff jo", "segment Email contains @", "segments", "who a@b.example"],
)
def test_user_without_permissions_is_refused_everything(slack, slack_mock, connected_site, text):
    make_user("nobody", "nobody@example.com")
    slack_mock.add_user("U0NOBODY", "nobody@example.com")
    slack.command(text, user="U0NOBODY")
    reply = slack.replies()[0]
    assert reply["response_type"] == "ephemeral"
    assert "You don't have permission" in reply["text"]
    assert slack_mock.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("text", ["sync", "status", "staff jo"])
def test_viewer_may_not_run_the_integration(slack, viewer, connected_site, text):
    slack.command(text, user=VIEWER)
    assert "You don't have permission" in slack.reply_text()


def test_viewer_may_look_at_contacts(slack, viewer, synced_site):
    slack.command("who nobody@nowhere.example", user=VIEWER)
    assert "No contact has the email nobody@nowhere.example" in slack.reply_text()


def test_superuser_may_do_everything(slack, slack_mock, connected_site):
    get_user_model().objects.create_superuser("root", "root@example.com", "x")
    slack_mock.add_user("U0ROOT", "root@example.com")
    slack.command("status", user="U0ROOT")
    assert "XPM status" in slack.reply_text()


def test_other_workspace_is_refused_in_the_ack(slack, slack_mock, manager, connected_site):
    response = slack.command("status", team="T0OTHER")
    answer = ack_json(response)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == identity.NOT_ALLOWED_WORKSPACE
    # Nothing was looked up or run for a stranger.
    assert slack_mock.methods() == []


def test_no_allowed_workspace_means_nobody(slack, slack_mock, manager, settings):
    settings.SLACK_ALLOWED_TEAM_IDS = []
    answer = ack_json(slack.command("help"))
    assert answer["text"] == identity.NOT_ALLOWED_WORKSPACE


def test_channel_not_allowed_is_refused(slack, slack_mock, manager, settings, connected_site):
    settings.SLACK_ALLOWED_CHANNEL_IDS = ["C0ALLOWED"]
    answer = ack_json(slack.command("status", channel=CHANNEL))
    assert answer["text"] == identity.NOT_ALLOWED_CHANNEL
    assert slack_mock.methods() == []
    slack.command("status", channel="C0ALLOWED")
    assert "XPM status" in slack.reply_text()


def test_button_from_another_workspace_is_refused(slack, slack_mock, manager, connected_site):
    response = slack.action("xpm_set_lead_owner", "some-uuid", team="T0OTHER")
    assert response.status_code == 200
    assert slack.replies()[0]["text"] == identity.NOT_ALLOWED_WORKSPACE


def test_modal_submission_from_another_workspace_is_refused(slack, manager):
    response = slack.submit(
        {"id": "V1", "type": "modal", "callback_id": "xpm_segment_save"}, team="T0OTHER"
    )
    answer = ack_json(response)
    assert answer["response_action"] == "update"
    assert identity.NOT_ALLOWED_WORKSPACE in str(answer["view"])


def test_link_admin_screen(admin_client, db, manager):
    response = admin_client.get("/admin/slack-users/")
    assert response.status_code == 200
    response = admin_client.post(
        "/admin/slack-users/new/",
        {"team_id": "t0001", "slack_user_id": "u0abc", "user": manager.pk, "note": "Jo (Slack)"},
    )
    assert response.status_code == 302, response.content[:2000]
    link = SlackUserLink.objects.get()
    assert (link.team_id, link.slack_user_id, link.user) == ("T0001", "U0ABC", manager)
    assert link.created_by.username == "admin"


def test_link_admin_screen_needs_permission(client, manager):
    grant_admin = make_user("editor", "editor@example.com", "wagtailadmin.access_admin")
    client.force_login(grant_admin)
    assert client.get("/admin/slack-users/").status_code in (302, 403)
