"""The whole Connect to Xero flow through the Wagtail admin, against the sandbox over HTTP."""

from __future__ import annotations

import html
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from example_site.htmlforms import parse_forms
from wagtail_xpm.models import XpmConnection

pytestmark = pytest.mark.django_db


def start_connect(admin_client, site):
    response = admin_client.post(reverse("wagtail_xpm:connect", args=[site.pk]))
    assert response.status_code == 302
    return response["Location"]


def consent(authorize_url: str, button: str) -> str:
    """Act as the person on Xero's consent page; return where the browser is sent next."""
    web = requests.Session()
    page = web.get(authorize_url, timeout=10)
    assert page.status_code == 200
    form = parse_forms(page.text, page.url)[0]
    answer = web.request(
        form.method.upper(),
        form.action,
        data=form.submit_data(button),
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code in (302, 303)
    return answer.headers["Location"]


def follow_callback(admin_client, callback_url: str):
    parts = urlsplit(callback_url)
    assert parts.path == reverse("wagtail_xpm:oauth_callback")
    return admin_client.get(f"{parts.path}?{parts.query}")


def test_connect_through_consent_page(
    admin_client, xpm_settings, running_sandbox, default_site, caplog
):
    caplog.set_level(logging.DEBUG)
    authorize_url = start_connect(admin_client, default_site)
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(xpm_settings["AUTHORIZE_URL"])
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0] and query["code_challenge"][0]
    assert "offline_access" in query["scope"][0].split()

    callback = consent(authorize_url, "allow")
    response = follow_callback(admin_client, callback)
    assert response.status_code == 302

    connection = XpmConnection.objects.get(site=default_site)
    assert connection.status == XpmConnection.Status.CONNECTED
    assert connection.tenant_id == running_sandbox.sandbox.tenant_id
    assert connection.tenant_name == running_sandbox.sandbox.practice_name
    assert connection.connected_by.username == "admin"
    tokens = connection.get_token_set()
    # Encrypted at rest: neither token appears in the stored row, nor in any log record.
    row = XpmConnection.objects.filter(pk=connection.pk).values().get()
    stored = repr(row)
    assert tokens.access_token not in stored and tokens.refresh_token not in stored
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert tokens.access_token not in logged and tokens.refresh_token not in logged

    page = admin_client.get(reverse("wagtail_xpm:status")).content.decode()
    assert 'data-xpm-status="connected"' in page
    assert html.escape(running_sandbox.sandbox.practice_name) in page


def test_forged_state_is_refused(admin_client, xpm_settings, default_site):
    authorize_url = start_connect(admin_client, default_site)
    callback = consent(authorize_url, "allow")
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = f"{parts.path}?code={query['code'][0]}&state=forged-{query['state'][0]}"
    response = admin_client.get(forged)
    assert response.status_code == 400
    assert b"does not match" in response.content
    assert not XpmConnection.objects.filter(status=XpmConnection.Status.CONNECTED).exists()
    # A forged callback does not cancel the Connect in progress: the genuine one still works.
    response = follow_callback(admin_client, callback)
    assert response.status_code == 302
    assert XpmConnection.objects.get(site=default_site).status == XpmConnection.Status.CONNECTED
    # ...once: its state is used up, so replaying it is refused.
    response = follow_callback(admin_client, callback)
    assert response.status_code == 400


def test_callback_without_a_started_connect_is_refused(admin_client, xpm_settings):
    response = admin_client.get(reverse("wagtail_xpm:oauth_callback") + "?code=x&state=y")
    assert response.status_code == 400
    assert not XpmConnection.objects.exists()


def test_deny_on_consent_page_changes_nothing(admin_client, xpm_settings, default_site):
    callback = consent(start_connect(admin_client, default_site), "deny")
    assert "error=access_denied" in callback
    response = follow_callback(admin_client, callback)
    assert response.status_code == 302
    assert not XpmConnection.objects.filter(status=XpmConnection.Status.CONNECTED).exists()


def test_connect_needs_the_permission(client, django_user_model, xpm_settings, default_site):
    from django.contrib.auth.models import Permission

    editor = django_user_model.objects.create_user("editor", password="pw")
    editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(editor)
    response = client.post(reverse("wagtail_xpm:connect", args=[default_site.pk]))
    assert response.status_code in (302, 403)
    assert "/identity/connect/authorize" not in response.get("Location", "")
    page = client.get(reverse("wagtail_xpm:status"))
    assert page.status_code in (302, 403)


def test_disconnect_revokes_the_grant(admin_client, connected_site, running_sandbox):
    tokens = connected_site.get_token_set()
    headers = {
        "Authorization": f"Bearer {tokens.access_token}",
        "xero-tenant-id": connected_site.tenant_id,
    }
    staff_url = running_sandbox.api_url + "staff.api/list"
    assert requests.get(staff_url, headers=headers, timeout=10).status_code == 200

    response = admin_client.post(reverse("wagtail_xpm:disconnect", args=[connected_site.site_id]))
    assert response.status_code == 302
    connected_site.refresh_from_db()
    assert connected_site.status == XpmConnection.Status.DISCONNECTED
    assert connected_site.token_ciphertext == ""
    # Xero (the sandbox) no longer accepts the revoked grant's access token.
    assert requests.get(staff_url, headers=headers, timeout=10).status_code == 401


def test_check_connection_records_calls_left(admin_client, connected_site):
    response = admin_client.post(reverse("wagtail_xpm:check", args=[connected_site.site_id]))
    assert response.status_code == 302
    connected_site.refresh_from_db()
    assert connected_site.day_calls_remaining is not None
    assert 0 < connected_site.day_calls_remaining < 5000
    page = admin_client.get(reverse("wagtail_xpm:status")).content.decode()
    assert str(connected_site.day_calls_remaining) in page
