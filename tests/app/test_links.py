"""Links the product puts outside the admin are built from the site's real address, and a
connected site still at Wagtail's default localhost:80 is warned about."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.segments.segment_factories import make_connection
from wagtail_xpm import links
from wagtail_xpm.checks import check_site_addresses

pytestmark = pytest.mark.django_db


def test_public_links_follow_the_site(default_site, settings):
    default_site.hostname, default_site.port = "www.firm.example", 8443
    assert links.site_root_url(default_site) == "http://www.firm.example:8443"
    assert links.public_url(default_site, "/xpm/unsubscribe/abc/") == (
        "http://www.firm.example:8443/xpm/unsubscribe/abc/"
    )
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "PUBLIC_BASE_URL": "https://firm.example/"}
    assert links.public_url(default_site, "x/") == "https://firm.example/x/"


def test_page_links_follow_the_site(default_site):
    contact = default_site.root_page.get_children().get(slug="contact")
    default_site.hostname, default_site.port = "127.0.0.1", 8000
    default_site.save()
    assert links.page_url(contact.specific) == "http://127.0.0.1:8000/contact/"


def test_admin_links(default_site, settings):
    settings.WAGTAILADMIN_BASE_URL = "https://cms.firm.example/"
    assert links.admin_url("wagtail_xpm:status") == "https://cms.firm.example/admin/xpm/"
    assert links.admin_url("no-such-view") == ""
    settings.WAGTAILADMIN_BASE_URL = ""
    assert links.admin_url("wagtail_xpm:status") == ""  # localhost:80 is nobody's address
    default_site.hostname, default_site.port = "www.firm.example", 443
    default_site.save()
    assert links.admin_url("wagtail_xpm:status") == "https://www.firm.example/admin/xpm/"


def test_a_connected_site_at_the_default_address_is_warned_about(default_site, settings):
    assert check_site_addresses(None) == []  # not connected: nothing goes out
    make_connection(default_site)
    [warning] = check_site_addresses(None)
    assert warning.id == "wagtail_xpm.W010"
    assert "localhost:80" in warning.msg and "http://localhost/" in warning.msg
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "PUBLIC_BASE_URL": "https://firm.example"}
    assert check_site_addresses(None) == []
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, "PUBLIC_BASE_URL": None}
    call_command("demo_site", url="http://127.0.0.1:8010")
    default_site.refresh_from_db()
    assert (default_site.hostname, default_site.port) == ("127.0.0.1", 8010)
    assert check_site_addresses(None) == []


def test_campaign_emails_link_to_the_site(default_site, settings):
    from tests.segments.segment_factories import Practice
    from wagtail_xpm.campaigns.render import CampaignRenderer
    from wagtail_xpm.models import Campaign

    call_command("demo_site", url="http://127.0.0.1:8010")
    default_site.refresh_from_db()
    practice = Practice(make_connection(default_site))
    campaign = Campaign.objects.create(
        connection=practice.connection,
        name="x",
        subject="s",
        body='<p><a href="/contact/">Us</a></p>',
    )
    renderer = CampaignRenderer(campaign)
    assert renderer.base_url == "http://127.0.0.1:8010"
    assert 'href="http://127.0.0.1:8010/contact/"' in renderer.html_template
