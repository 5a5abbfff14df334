"""Merge fields, escaping, the text part and the one-click unsubscribe headers."""

from __future__ import annotations

import pytest

from wagtail_xpm.campaigns.render import (
    CampaignRenderer,
    build_message,
    contact_values,
    html_to_text,
    merge_fields,
    merge_tags,
    unknown_merge_tags,
)

pytestmark = pytest.mark.django_db


def test_merge_fields_are_the_builtins_and_every_mapped_key(practice):
    fields = merge_fields(practice.connection)
    assert list(fields)[:6] == [
        "first_name", "last_name", "name", "email", "client_name", "unsubscribe_url",
    ]  # fmt: skip
    assert fields["account_manager"] == "Account Manager"
    assert fields["plan_level"] == "Plan Level"
    assert unknown_merge_tags("Hi {{ first_name }} {{acount_manager}} {{ plan_level|x }}",
                              fields) == ["acount_manager"]  # fmt: skip
    assert merge_tags("{{a}} {{ b|c }} {{ a }}") == ["a", "b"]


def test_values_fallbacks_and_escaping(practice, make_campaign):
    campaign = make_campaign(
        subject="{{ first_name|Hello }}, your {{ balance_month }} & more",
        body="<p>Hi {{ first_name|there &amp; friends }}!</p><p>{{ plan_level }} · "
        '{{ groups }} · {{ gst_registered }}</p><p><a href="/contact/">Contact us</a></p>',
    )
    renderer = CampaignRenderer(campaign, base_url="https://www.example.com")
    values = contact_values(
        name="Zoë <script>alert(1)</script> Jones",
        email="zoe@example.com",
        data={"balance_month": "June", "plan_level": "Gold", "groups": ["VIP", "Tax"],
              "gst_registered": True},
    )  # fmt: skip
    email = renderer.render(values, "https://www.example.com/xpm/unsubscribe/abc/")
    assert email.subject == "Zoë, your June & more"
    assert "Hi Zoë!" in email.html
    assert "<script>" not in email.html and "alert(1)" not in email.html  # first name only
    assert "Gold · VIP, Tax · Yes" in email.html
    # Relative links become absolute: the email is read far from the site.
    assert 'href="https://www.example.com/contact/"' in email.html
    assert 'href="https://www.example.com/xpm/unsubscribe/abc/"' in email.html
    assert "Contact us (https://www.example.com/contact/)" in email.text
    assert "Unsubscribe: https://www.example.com/xpm/unsubscribe/abc/" in email.text

    blank = renderer.render(contact_values(name="", data={}), "https://x.example/u/")
    assert blank.subject == "Hello, your & more"
    assert "Hi there &amp; friends!" in blank.html
    assert "Hi there & friends!" in blank.text


def test_html_values_are_escaped(practice, make_campaign):
    campaign = make_campaign(body="<p>{{ name }}</p>")
    renderer = CampaignRenderer(campaign, base_url="https://x.example")
    email = renderer.render(contact_values(name="<b>Bold</b> & Co"), "https://x.example/u/")
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in email.html
    assert "<b>Bold</b> & Co" in email.text


def test_text_part_of_rich_text():
    text = html_to_text(
        "<h2>News</h2><p>Line one<br/>line two</p><ul><li>First</li><li>Second</li></ul>"
        '<hr/><p><a href="https://a.example/x?y=1&amp;z=2">Read more</a></p>'
    )
    assert text == (
        "News\n\nLine one\nline two\n\n- First\n- Second\n\n----\n\n"
        "Read more (https://a.example/x?y=1&z=2)"
    )


def test_one_click_unsubscribe_headers(practice, make_campaign):
    campaign = make_campaign()
    renderer = CampaignRenderer(campaign, base_url="https://www.example.com")
    url = "https://www.example.com/xpm/unsubscribe/tok/"
    message = build_message(
        renderer.render(contact_values(name="Ann Lee"), url),
        to="ann@example.com",
        from_email=campaign.from_email,
        unsubscribe_url=url,
        campaign_id=campaign.pk,
    )
    assert message.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mime = message.message()
    assert mime["List-Unsubscribe"] == f"<{url}>"
    assert mime["From"] == "Example Accounting <news@example.com>"
    assert message.alternatives[0][1] == "text/html"
    assert message.metadata == {"campaign_id": str(campaign.pk)}
