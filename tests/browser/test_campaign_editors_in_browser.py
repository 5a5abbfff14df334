"""The segment editor, the campaign editor and the Send page in a browser: a page heading,
labelled table headers, the rendered email previewed; with AXE_CORE_JS pointing at axe-core's
axe.min.js (e.g. from `npm install axe-core`), axe finds no violation in the app's own markup.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.segments.segment_factories import Practice, make_connection
from wagtail_xpm.models import Campaign, Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = os.environ.get("AXE_CORE_JS", "")


@pytest.fixture
def campaign(default_site):
    practice = Practice(make_connection(default_site))
    client = practice.client("June Co", {"balance_month": "June", "account_manager": "Jo"})
    practice.contact("Ann June", "ann@example.com", clients=[client])
    practice.contact("Ben June", "ben@example.com", clients=[client])
    segment = Segment.objects.create(
        connection=practice.connection,
        name="June",
        rules=[{"field": "balance_month", "op": "eq", "value": "June"}],
    )
    return Campaign.objects.create(
        connection=practice.connection,
        segment=segment,
        name="June newsletter",
        subject="Hello {{ first_name }}",
        body="<p>Dear {{ first_name|client }}, your manager is {{ account_manager }}.</p>",
    )


def own_violations(page) -> list[str]:
    """axe-core's violations whose elements are the app's own (data-xpm / xpm- markup)."""
    page.add_script_tag(content=Path(AXE).read_text(encoding="utf-8"))
    result = page.evaluate("() => axe.run(document)")
    found = []
    for violation in result["violations"]:
        for node in violation["nodes"]:
            if "xpm" in node["html"] or any("xpm" in str(t) for t in node["target"]):
                found.append(f"{violation['id']}: {node['html'][:160]}")
    return found


@pytest.mark.parametrize("which", ["segment editor", "campaign editor", "send page"])
def test_the_editors_have_a_heading_and_labelled_tables(logged_in, live_server, campaign, which):
    page = logged_in
    url = {
        "segment editor": f"/admin/xpm/segments/edit/{campaign.segment_id}/",
        "campaign editor": f"/admin/xpm/campaigns/edit/{campaign.pk}/",
        "send page": f"/admin/xpm/campaigns/{campaign.pk}/send/",
    }[which]
    page.goto(live_server.url + url)
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").count() >= 1
    assert page.locator("h1").first.inner_text().strip()
    for header in page.locator("th").all():
        name = header.evaluate("(th) => th.innerText.trim() || th.getAttribute('aria-label')")
        assert name, header.evaluate("(th) => th.outerHTML")
    if which == "send page":
        frame = page.frame_locator("[data-xpm-preview-html]")
        assert "Dear Ann, your manager is Jo." in frame.locator("body").inner_text()
    if AXE:
        assert own_violations(page) == []
