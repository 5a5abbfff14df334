"""Shared fixtures: a real XPM sandbox on loopback and a site connected to it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import db_template
import pytest

from wagtail_xpm.sandbox import Sandbox

TESTS = Path(__file__).resolve().parent

# Folders (and modules) whose every test is slow (`make test-fast` leaves them out). Single
# slow tests carry `@pytest.mark.slow` beside a quick variant that test-fast runs: the whole
# admin crawls (access/test_admin_crawl.py), the permission matrix beyond the app's URLs
# (access/test_permission_matrix.py), the 50 MB client list (xpm/test_xpm_streaming_memory.py).
SLOW_PATHS = ("browser/", "reliability/", "install/test_wagtail_start.py")

# The smoke subset CI runs on the stacks between the oldest and the newest (`make smoke`): a
# module per seam a new Django or Python could break (checks and migrations, the JSON segment
# SQL, email, the XPM client over HTTP, sync, the public form, the admin, the Slack bot).
SMOKE_MODULES = (
    "app/test_crypto_and_checks.py",
    "app/test_example_site.py",
    "app/test_admin_emails.py",
    "campaigns/test_campaign_send.py",
    "segments/test_segment_operators.py",
    "xpm/test_xpm_client_against_sandbox.py",
    "cli/test_cli_xpm_sync.py",
    "leads/test_leads_forms.py",
    "admin/test_admin_contacts.py",
    "slackbot/test_slack_commands.py",
    "install/test_optional_extras.py",
    "i18n/test_translations.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(TESTS).as_posix()
        if relative.startswith(SLOW_PATHS):
            item.add_marker(pytest.mark.slow)
        if relative in SMOKE_MODULES:
            item.add_marker(pytest.mark.smoke)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix, django_db_use_migrations, django_db_keepdb
):
    """pytest-django's hook before the test database is created: when a migrated template
    is at hand (tests/db_template.py), the tables are made from the models, not migrated."""
    from django.db import connection

    if not (
        django_db_use_migrations
        and not django_db_keepdb
        and db_template.applies(connection.settings_dict)
    ):
        return None
    template = db_template.template_path()
    if template.exists():
        connection.settings_dict["TEST"]["MIGRATE"] = False
    return template


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_modify_db_settings, django_db_blocker):
    """pytest-django's test database, then filled from the template or saved as one."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.cache import caches
    from django.db import connection

    template = django_db_modify_db_settings
    with django_db_blocker.unblock():
        if template is not None and connection.settings_dict["TEST"]["MIGRATE"] is False:
            connection.settings_dict["TEST"]["MIGRATE"] = True
            db_template.restore(connection, template)
            # Content types and cached pages were read from the tables made from the models.
            ContentType.objects.clear_cache()
            for cache in caches.all():
                cache.clear()
        elif template is not None:
            db_template.save(connection, template)


@dataclass
class RunningSandbox:
    sandbox: Sandbox
    url: str

    @property
    def api_url(self) -> str:
        return f"{self.url}/practicemanager/3.1/"

    def xpm_settings(self) -> dict:
        return {
            "CLIENT_ID": self.sandbox.client_id,
            "CLIENT_SECRET": self.sandbox.client_secret,
            "AUTHORIZE_URL": f"{self.url}/identity/connect/authorize",
            "TOKEN_URL": f"{self.url}/connect/token",
            "REVOKE_URL": f"{self.url}/connect/revocation",
            "CONNECTIONS_URL": f"{self.url}/connections",
            "API_URL": self.api_url,
        }


@pytest.fixture
def sandbox_options():
    """Options for the test's sandbox; the Django test client's callback is registered
    exactly, as it would be with a real Xero app."""
    return {"allowed_redirect_uris": ["http://testserver/admin/xpm/callback/"]}


@pytest.fixture
def running_sandbox(sandbox_options):
    """A freshly generated practice served over HTTP on 127.0.0.1 for one test."""
    sandbox = Sandbox.generate(clients=25, seed=1, **sandbox_options)
    with sandbox.serve() as server:
        yield RunningSandbox(sandbox=sandbox, url=server.url)


@pytest.fixture
def xpm_settings(settings, running_sandbox):
    """Point WAGTAIL_XPM at the running sandbox (keeps the test token keys)."""
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, **running_sandbox.xpm_settings()}
    return settings.WAGTAIL_XPM


@pytest.fixture
def default_site(db):
    """The example site's default site; transactional tests flush what migrations made, so
    it is rebuilt when missing."""
    from example_site.home.setup import ensure_example_site

    return ensure_example_site()


@pytest.fixture
def connected_site(xpm_settings, running_sandbox, default_site):
    """The default site connected headlessly with a refresh token minted by the sandbox."""
    from wagtail_xpm import services

    tokens = running_sandbox.sandbox.issue_tokens()
    connection = services.connect_with_refresh_token(
        site=default_site, refresh_token=tokens["refresh_token"]
    )
    return connection


@pytest.fixture
def lead_owner(connected_site):
    """The practice's staff mirrored, and the first staff member chosen as lead owner."""
    from wagtail_xpm import services
    from wagtail_xpm.models import PracticeStaff, XpmSiteSettings

    services.refresh_staff(connected_site)
    staff = PracticeStaff.objects.filter(connection=connected_site).order_by("name").first()
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.lead_owner_uuid = staff.uuid
    site_settings.save()
    return staff
