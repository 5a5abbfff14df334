"""`make demo` chooses the sandbox's "Marketing opt-out" as the opt-out field when it connects."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from optout_helpers import opt_out_definition

from wagtail_xpm.models import XpmSiteSettings

pytestmark = pytest.mark.django_db


def test_demo_opt_out_chooses_the_marketing_opt_out_checkbox(connected_site, running_sandbox):
    call_command("demo_opt_out")

    site_settings = XpmSiteSettings.for_site(connected_site.site)
    definition = opt_out_definition(running_sandbox.sandbox)
    assert site_settings.xpm_opt_out_field_uuid == definition.uuid
    assert site_settings.xpm_opt_out_field_name == "Marketing opt-out"


def test_demo_opt_out_leaves_the_setting_alone_without_such_a_field(
    connected_site, running_sandbox, capsys
):
    # A client-only field of that name is not an opt-out field.
    call_command("demo_opt_out", name="Industry")

    assert "no contact checkbox named" in capsys.readouterr().out
    assert XpmSiteSettings.for_site(connected_site.site).xpm_opt_out_field_uuid == ""


def test_demo_opt_out_needs_a_connection(default_site):
    with pytest.raises(CommandError, match="not connected"):
        call_command("demo_opt_out")
