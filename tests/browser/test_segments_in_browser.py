"""An editor builds "Account Manager = <name> and Balance Month = June" in the visual builder,
watches the live count, saves it, sends a campaign to it and a recipient unsubscribes."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from wagtail_xpm import services
from wagtail_xpm.models import Campaign, Contact, Segment
from wagtail_xpm.segments.compile import segment_queryset

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def synced(connected_site):
    run = services.run_sync(connected_site, trigger="cli")
    assert run.status == "succeeded", run.message
    return connected_site


def fit(page) -> None:
    """Grow the viewport to the page (Wagtail's admin scrolls inside its layout)."""
    page.set_viewport_size({"width": 1280, "height": 900})
    height = page.evaluate(
        """() => Math.max(...[document.documentElement, document.body,
            document.querySelector('main'), document.querySelector('.content-wrapper')]
            .filter(Boolean).map((e) => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": 1280, "height": max(900, min(height + 24, 3000))})


def wait_for_count(page, expected: int) -> None:
    page.locator(
        f"[data-xpm-builder][data-xpm-count-state=ready] [data-xpm-count='{expected}']"
    ).wait_for(timeout=15_000)


def most_common_june_manager(connection) -> tuple[str, int, int]:
    """An account manager with June clients and others: (name, all theirs, June only)."""
    live = Contact.objects.filter(connection=connection, is_archived=False)
    best = None
    for manager in set(live.exclude(data__account_manager=None).values_list(
            "data__account_manager", flat=True)):  # fmt: skip
        theirs = live.filter(data__account_manager=manager)
        june = theirs.filter(data__balance_month="June").count()
        if 0 < june < theirs.count() and (best is None or june > best[2]):
            best = (manager, theirs.count(), june)
    assert best, "the sandbox practice has a manager with June and other clients"
    return best


def test_build_a_segment_and_send_a_campaign(logged_in, screenshot, live_server, synced):
    page = logged_in
    manager, theirs, june = most_common_june_manager(synced)
    everyone = Contact.objects.filter(connection=synced, is_archived=False).count()

    page.goto(f"{live_server.url}/admin/xpm/segments/add/")
    page.fill("input[name=name]", f"{manager}'s June clients")
    builder = page.locator("[data-xpm-builder][data-xpm-ready=true]")
    builder.wait_for()
    wait_for_count(page, everyone)  # no rules yet: everyone but the archived

    # Rule 1: Account Manager is <name> (the names offered are the synced ones).
    page.click("[data-xpm-action=add-rule]")
    first = page.locator("[data-xpm-rule]").nth(0)
    first.locator("[data-xpm-role=field]").select_option("account_manager")
    first.locator("[data-xpm-role=op]").select_option("eq")
    offered = first.locator("[data-xpm-role=value] option").all_inner_texts()
    assert manager in offered
    first.locator("[data-xpm-role=value]").select_option(manager)
    wait_for_count(page, theirs)

    # Rule 2: Balance Month is June: the count drops as the rule is made.
    page.click("[data-xpm-builder] > [data-xpm-tree] [data-xpm-action=add-rule] >> nth=-1")
    second = page.locator("[data-xpm-rule]").nth(1)
    second.locator("[data-xpm-role=field]").select_option("balance_month")
    second.locator("[data-xpm-role=op]").select_option("eq")
    second.locator("[data-xpm-role=value]").select_option("June")
    wait_for_count(page, june)
    members = page.locator("[data-xpm-preview] tbody tr[data-xpm-member]")
    expect(members).to_have_count(min(june, 10))

    # Why is one of their December clients out?
    outsider = (
        Contact.objects.filter(connection=synced, is_archived=False, data__account_manager=manager)
        .exclude(data__balance_month="June")
        .first()
    )
    page.fill("[data-xpm-explain-search]", outsider.email or outsider.name)
    page.locator("[data-xpm-action=explain-contact]").first.click()
    verdict = page.locator("[data-xpm-explain] [data-xpm-member]")
    verdict.wait_for()
    assert verdict.get_attribute("data-xpm-member") == "out"
    assert (
        page.locator("[data-xpm-explain-rule='rules[0]']").get_attribute("data-xpm-matched")
        == "true"
    )
    assert (
        page.locator("[data-xpm-explain-rule='rules[1]']").get_attribute("data-xpm-matched")
        == "false"
    )
    fit(page)
    shot = screenshot("segment-builder")
    assert shot.stat().st_size > 20_000

    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(f"{live_server.url}/admin/xpm/segments/")
    segment = Segment.objects.get()
    assert segment.rules == [
        {"field": "account_manager", "op": "eq", "value": manager},
        {"field": "balance_month", "op": "eq", "value": "June"},
    ]
    assert segment_queryset(segment).count() == june

    # A campaign to it, with merge fields in the rich text body.
    page.goto(f"{live_server.url}/admin/xpm/campaigns/add/")
    page.fill("input[name=name]", "June year-end reminder")
    page.locator("select[name=segment]").select_option(label=segment.name)
    page.fill("input[name=subject]", "Your June year end, {{ first_name|there }}")
    page.fill("input[name=from_email]", "Example Accounting <news@example.com>")
    page.locator(".public-DraftEditor-content").click()
    page.keyboard.type("Dear {{ first_name|client }}, your balance date is the end of ")
    page.keyboard.type("{{ balance_month }}. {{ account_manager }} will be in touch.")
    # Draftail writes the hidden input as it goes: wait for it before saving.
    expect(page.locator("input[name=body]")).to_have_value(re.compile("account_manager"))
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(f"{live_server.url}/admin/xpm/campaigns/*/send/")
    campaign = Campaign.objects.get()
    to_send = int(page.inner_text("[data-xpm-audience-to-send]"))
    assert 0 < to_send <= june

    assert f"Send now to {to_send} " in page.inner_text("[data-xpm-action=send-now]")
    fit(page)
    page.wait_for_timeout(400)  # let the "created" message finish appearing
    screenshot("campaign-send")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("[data-xpm-action=send-now]")
    page.wait_for_url(f"{live_server.url}/admin/xpm/campaigns/{campaign.pk}/send/")
    page.locator("[data-xpm-campaign-status=sent]").wait_for()
    campaign.refresh_from_db()
    assert campaign.status == "sent" and campaign.sent_count == to_send
    assert page.inner_text("[data-xpm-count=sent]") == str(to_send)
    assert len(mail.outbox) == to_send
    message = mail.outbox[0]
    assert message.subject.startswith("Your June year end, ")
    assert f"{manager} will be in touch." in message.body
    fit(page)
    shot = screenshot("campaign")
    assert shot.stat().st_size > 20_000

    # A recipient unsubscribes from the link in their email, without logging in.
    link = message.extra_headers["List-Unsubscribe"].strip("<>")
    recipient = Contact.objects.get(connection=synced, email=message.to[0])
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}{urlsplit(link).path}")
    assert page.locator("[data-xpm-unsubscribe=confirm]").count() == 1
    page.click("[data-xpm-action=unsubscribe]")
    page.locator("[data-xpm-unsubscribe=done]").wait_for()
    recipient.refresh_from_db()
    assert recipient.subscribed is False
    shot = screenshot("unsubscribe")
    assert shot.stat().st_size > 5_000
