"""Fixtures for the Slack bot: a mock Slack Web API, settings pointing at it, signed
requests through the real Django endpoint, and Wagtail users with the right permissions."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from slack_helpers import MANAGER, SECRET, TEAM, VIEWER, SlackDriver, make_user
from slack_mock import MockSlack


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Identity lookups, replay signatures and follow digests live in the cache.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def slack_mock():
    with MockSlack() as mock:
        yield mock


@pytest.fixture
def slack_settings(settings, slack_mock):
    settings.SLACK_SIGNING_SECRET = SECRET
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_APP_TOKEN = "xapp-test-token"
    settings.SLACK_API_URL = slack_mock.api_url
    settings.SLACK_ALLOWED_TEAM_IDS = [TEAM]
    settings.SLACK_ALLOWED_CHANNEL_IDS = []
    # The work after each ack runs before the response in tests, so assertions see it.
    settings.SLACK_BACKGROUND_WORK = False
    settings.SLACK_NOTIFY_CHANNEL = ""
    settings.SLACK_PROGRESS_INTERVAL = 2.0
    settings.WAGTAILADMIN_BASE_URL = "https://cms.example.com"
    return settings


@pytest.fixture
def manager(db, slack_mock):
    """A Wagtail user who runs the integration; Slack's profile email matches (other case)."""
    slack_mock.add_user(MANAGER, "Jo.Manager@Example.com")
    return make_user(
        "jo",
        "jo.manager@example.com",
        "wagtail_xpm.manage_connection",
        "wagtail_xpm.view_contact",
        "wagtail_xpm.view_practicestaff",
        "wagtail_xpm.add_segment",
    )


@pytest.fixture
def viewer(db, slack_mock):
    """Someone who may look at contacts and nothing else."""
    slack_mock.add_user(VIEWER, "viewer@example.com")
    return make_user("vi", "viewer@example.com", "wagtail_xpm.view_contact")


@pytest.fixture
def slack(client, slack_mock, slack_settings, default_site):
    return SlackDriver(client=client, mock=slack_mock)


@pytest.fixture
def synced_site(connected_site):
    """The sandbox practice synced once into contacts."""
    from wagtail_xpm import services

    run = services.run_sync(connected_site, trigger="cli")
    assert run.status == "succeeded", run.message
    return connected_site


@pytest.fixture
def clear_schedule():
    from huey.contrib.djhuey import HUEY

    HUEY.storage.flush_schedule()
    yield
    HUEY.storage.flush_schedule()
