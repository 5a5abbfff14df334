"""The example site's own migrations create a working site."""

import pytest

pytestmark = pytest.mark.django_db


def test_home_and_contact_pages_exist(client):
    home = client.get("/")
    assert home.status_code == 200
    assert b"Example Accounting" in home.content
    contact = client.get("/contact/")
    assert contact.status_code == 200
    assert b"Contact us" in contact.content


def test_admin_menu_shows_xpm_to_admins(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert b"Xero Practice Manager" in response.content
