"""The headless xpm_connect command (docs/contracts.md 4.2)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from wagtail_xpm.models import XpmConnection

pytestmark = pytest.mark.django_db


def test_xpm_connect_with_a_refresh_token(xpm_settings, running_sandbox, default_site, capsys):
    tokens = running_sandbox.sandbox.issue_tokens()
    # "=": a sandbox token may start with "-" (secrets.token_urlsafe), which argparse would
    # otherwise read as an option (docs/installing.md does the same).
    call_command("xpm_connect", f"--refresh-token={tokens['refresh_token']}")
    connection = XpmConnection.objects.get(site=default_site)
    assert connection.status == XpmConnection.Status.CONNECTED
    # The Practice Manager tenant was chosen, not the accounting organisation in the grant.
    assert connection.tenant_id == running_sandbox.sandbox.tenant_id
    assert running_sandbox.sandbox.practice_name in capsys.readouterr().out
    # The refresh token given on the command line was spent and replaced.
    assert connection.get_token_set().refresh_token != tokens["refresh_token"]


def test_xpm_connect_refuses_a_bad_token(xpm_settings, default_site):
    with pytest.raises(CommandError, match="Could not connect"):
        call_command("xpm_connect", "--refresh-token", "not-a-real-token")
    assert not XpmConnection.objects.exists()


def test_xpm_connect_unknown_site(xpm_settings):
    with pytest.raises(CommandError, match="No Wagtail site"):
        call_command("xpm_connect", "--refresh-token", "x", "--site", "nope.example")


def test_xpm_connect_with_a_tenant_that_is_not_a_practice(
    xpm_settings, running_sandbox, default_site
):
    tokens = running_sandbox.sandbox.issue_tokens()
    with pytest.raises(CommandError, match="not a Practice Manager practice"):
        call_command(
            "xpm_connect",
            f"--refresh-token={tokens['refresh_token']}",
            "--tenant-id",
            "00000000-0000-0000-0000-000000000000",
        )
