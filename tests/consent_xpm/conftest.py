"""A site sharing opt-outs with the sandbox practice's "Marketing opt-out" contact checkbox."""

from __future__ import annotations

import pytest
from huey.contrib.djhuey import HUEY
from optout_helpers import opt_out_definition

from wagtail_xpm import services
from wagtail_xpm.models import XpmSiteSettings


@pytest.fixture(autouse=True)
def empty_schedule():
    HUEY.flush()
    yield
    HUEY.flush()


@pytest.fixture
def sync(connected_site, running_sandbox):
    """A sync now. XPM's 60 calls a minute (the sandbox's too) are reset first: these tests
    sync several times a minute, and waiting for the minute is the limiter's own story."""

    def run(**options):
        running_sandbox.sandbox.reset_rate_limits()
        return services.run_sync(connected_site, trigger="cli", **options)

    return run


@pytest.fixture
def opt_out_site(connected_site, running_sandbox, sync):
    """Definitions mirrored, "Marketing opt-out" chosen, a first sync done."""
    services.refresh_custom_field_definitions(connected_site)
    definition = opt_out_definition(running_sandbox.sandbox)
    site_settings = XpmSiteSettings.for_site(connected_site.site)
    site_settings.xpm_opt_out_field_uuid = definition.uuid
    site_settings.xpm_opt_out_field_name = definition.name
    site_settings.save()
    sync()
    return connected_site
