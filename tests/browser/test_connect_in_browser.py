"""A site admin connects to the sandbox practice in a real browser, consent page included."""

from __future__ import annotations

import pytest

from wagtail_xpm.models import XpmConnection

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def sandbox_options(live_server):
    return {"allowed_redirect_uris": [f"{live_server.url}/admin/xpm/callback/"]}


def test_admin_connects_through_the_consent_page(
    page, screenshot, live_server, xpm_settings, running_sandbox, django_user_model, default_site
):
    django_user_model.objects.create_superuser(
        "admin", "admin@example.com", "a-long-password", first_name="Dana", last_name="Admin"
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/xpm/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/xpm/")
    assert page.locator("[data-xpm-status=disconnected]").count() == 1
    screenshot("connection-before")

    page.click("[data-xpm-action=connect]")
    page.wait_for_url(f"{running_sandbox.url}/identity/connect/authorize**")
    assert page.get_by_text(running_sandbox.sandbox.practice_name).count() >= 1
    screenshot("consent-page")
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url("**/admin/xpm/")
    assert page.locator("[data-xpm-status=connected]").count() == 1
    page.click("[data-xpm-action=check]")
    page.wait_for_url("**/admin/xpm/")
    assert "staff visible" in page.content()
    shot = screenshot("connection-status")
    assert shot.stat().st_size > 10_000

    connection = XpmConnection.objects.get()
    assert connection.status == XpmConnection.Status.CONNECTED
    assert connection.connected_by.username == "admin"
    assert connection.day_calls_remaining is not None
