"""Campaign content: merge fields (``{{ first_name }}``, any mapped key) and the email itself.

Merge tags are ``{{ key }}`` or ``{{ key|fallback }}`` (the fallback is used when the
contact's value is blank: ``Hi {{ first_name|there }}``). They are substituted by a regular
expression, never by a template engine, so an editor's body cannot run template code, and
values are HTML-escaped in the HTML part. The rich text is expanded and wrapped once per
campaign; each recipient then costs a few substitutions.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.html import escape, strip_tags
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.rich_text import expand_db_html

from ..links import site_root_url

if TYPE_CHECKING:
    from ..models import Campaign, Contact, XpmConnection

MERGE_TAG = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|([^{}]*?))?\s*\}\}")
UNSUBSCRIBE_TAG = "{{ unsubscribe_url }}"
BUILTIN_MERGE_FIELDS: dict[str, Any] = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "name": gettext_lazy("Full name"),
    "email": gettext_lazy("Email"),
    "client_name": gettext_lazy("XPM client name"),
    "unsubscribe_url": gettext_lazy("Unsubscribe link"),
}


def merge_fields(connection: XpmConnection) -> dict[str, str]:
    """Every merge field a campaign of ``connection`` may use: key -> label."""
    from ..models import FieldMapping

    fields = {key: str(label) for key, label in BUILTIN_MERGE_FIELDS.items()}
    for key, label in (
        FieldMapping.objects.filter(connection=connection)
        .order_by("sort_order", "pk")
        .values_list("key", "label")
    ):
        fields.setdefault(key, label)
    return fields


def merge_tag(key: str) -> str:
    """How a merge field is written: ``{{ key }}``."""
    return "{{ " + key + " }}"


def merge_tags(text: str) -> list[str]:
    """The merge field keys used in ``text``, in order of first use."""
    seen: dict[str, None] = {}
    for match in MERGE_TAG.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unknown_merge_tags(text: str, allowed: Mapping[str, Any]) -> list[str]:
    return [key for key in merge_tags(text) if key not in allowed]


def display_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def contact_values(
    *, name: str = "", email: str = "", client_name: str = "", data: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The merge values of one person (mapped values by key, then the built-in fields)."""
    parts = (name or "").split()
    values = {key: display_value(value) for key, value in (data or {}).items()}
    values.update(
        first_name=parts[0] if parts else "",
        last_name=" ".join(parts[1:]),
        name=name or "",
        email=email or "",
        client_name=client_name or "",
    )
    return values


def values_for_contact(contact: Contact) -> dict[str, str]:
    return contact_values(
        name=contact.name, email=contact.email, client_name=contact.client_name, data=contact.data
    )


def html_to_text(markup: str) -> str:
    """A readable plain-text version of simple rich text (the email's text part)."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", markup)

    def link(match: re.Match) -> str:
        # Still HTML here: the whole text is unescaped once at the end.
        href, label = match.group(1), strip_tags(match.group(2)).strip()
        return href if not label or label == href else f"{label} ({href})"

    text = re.sub(r'(?is)<a\s[^>]*?href="([^"]*)"[^>]*>(.*?)</a>', link, text)
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)<li[^>]*>", "\n- ", text)
    text = re.sub(r"(?i)<hr[^>]*>", "\n\n----\n\n", text)
    text = re.sub(r"(?i)</(p|h[1-6]|div|ul|ol|tr|table)>", "\n\n", text)
    text = html.unescape(strip_tags(text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def absolute_links(markup: str, base_url: str) -> str:
    """Site-relative links made absolute: an email is read far from the website."""
    base = base_url.rstrip("/")
    return re.sub(r'(?i)(href|src)="(/(?!/)[^"]*)"', lambda m: f'{m[1]}="{base}{m[2]}"', markup)


def public_base_url(connection: XpmConnection) -> str:
    """Where the public unsubscribe page lives (the site's address unless configured)."""
    return site_root_url(connection.site)


@dataclass(frozen=True)
class RenderedEmail:
    """One recipient's subject and bodies."""

    subject: str
    html: str
    text: str


class CampaignRenderer:
    """Prepares a campaign once, then renders it for each recipient cheaply."""

    template_name = "wagtail_xpm/campaigns/email.html"
    text_footer_template_name = "wagtail_xpm/campaigns/email_footer.txt"

    def __init__(self, campaign: Campaign, *, base_url: str | None = None) -> None:
        connection = campaign.connection
        self.base_url = base_url or public_base_url(connection)
        site = connection.site
        body = absolute_links(expand_db_html(campaign.body or ""), self.base_url)
        context = {
            "subject": campaign.subject,
            "body": mark_safe(body),  # noqa: S308  (the editor's rich text, sanitised by Wagtail)
            "site_name": site.site_name or site.hostname,
            "site_url": self.base_url,
            "unsubscribe_tag": UNSUBSCRIBE_TAG,
        }
        self.subject_template = " ".join((campaign.subject or "").split())
        self.html_template = render_to_string(self.template_name, context)
        footer = render_to_string(self.text_footer_template_name, context).strip()
        self.text_template = f"{html_to_text(body)}\n\n-- \n{footer}\n".lstrip()

    @staticmethod
    def _substitute(template: str, values: Mapping[str, str], *, escape_values: bool) -> str:
        def replace(match: re.Match) -> str:
            value = values.get(match.group(1), "")
            if value:
                return escape(value) if escape_values else value
            fallback = (match.group(2) or "").strip()
            # In the HTML part the fallback is already HTML (it was typed into rich text).
            return fallback if escape_values else html.unescape(fallback)

        return MERGE_TAG.sub(replace, template)

    def render(self, values: Mapping[str, str], unsubscribe_url: str) -> RenderedEmail:
        values = {**values, "unsubscribe_url": unsubscribe_url}
        subject = self._substitute(self.subject_template, values, escape_values=False)
        return RenderedEmail(
            subject=" ".join(html.unescape(subject).split()),
            html=self._substitute(self.html_template, values, escape_values=True),
            text=self._substitute(self.text_template, values, escape_values=False),
        )


def build_message(
    rendered: RenderedEmail,
    *,
    to: str,
    from_email: str = "",
    unsubscribe_url: str,
    campaign_id: int | None = None,
) -> EmailMultiAlternatives:
    """The email, with RFC 8058 one-click unsubscribe headers (Gmail and Yahoo require
    them for bulk senders)."""
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    if campaign_id is not None:
        # Read by django-anymail ESP backends (ignored by SMTP): no personal data in them.
        message.tags = ["wagtail-xpm-campaign"]
        message.metadata = {"campaign_id": str(campaign_id)}
    return message
