"""The "Opt-outs shared with XPM" part of the site settings page: the field chooser, offered
from the mirror of XPM's custom-field definitions (``PracticeCustomField``, the mapping
editor's), and a status panel (which field, whether it still exists, how old the XPM opt-outs
read here may be, and writes waiting or failed).
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from wagtail.admin.panels import Panel

from ..models import PracticeCustomField, XpmConnection
from ..xpm.errors import XpmError
from . import xpm_optout

logger = logging.getLogger(__name__)

FIELD = "xpm_opt_out_field_uuid"


def field_choices(connection: XpmConnection | None, current: str) -> list[tuple[str, str]]:
    """Contact checkboxes from the mirror; a chosen field XPM no longer has stays listed,
    marked, so saving the form does not silently clear it."""
    rows = []
    if connection is not None:
        rows = [
            row
            for row in PracticeCustomField.objects.filter(connection=connection, is_current=True)
            if xpm_optout.is_opt_out_definition(row)
        ]
    choices = [(row.uuid, row.name) for row in rows]
    if current and current.lower() not in {uuid.lower() for uuid, _label in choices}:
        stale = PracticeCustomField.objects.filter(
            connection=connection, uuid__iexact=current
        ).first()
        label = stale.name if stale is not None else current
        choices.append((current, _("%(name)s (no longer in XPM)") % {"name": label}))
    return choices


def load_definitions_once(connection: XpmConnection, refresh) -> None:
    """First visit: read XPM's custom-field definitions so the list is not empty."""
    if PracticeCustomField.objects.filter(connection=connection).exists():
        return
    try:
        refresh(connection)
    except XpmError as exc:
        logger.info("Could not load XPM custom field definitions for the settings: %s", exc)


class OptOutFieldFormMixin:
    """For the site settings form: the opt-out field is picked, never typed, and its name
    is kept beside it (``xpm_opt_out_field_name``) for pages that show it."""

    def setup_opt_out_field(self, connection: XpmConnection | None) -> None:
        self._opt_out_connection = connection
        if FIELD not in self.fields:
            return
        current = getattr(self.instance, FIELD, "") or ""
        self.fields[FIELD] = forms.ChoiceField(
            label=_("XPM opt-out field"),
            choices=[("", _("Not shared with XPM"))] + field_choices(connection, current),
            required=False,
            help_text=_(
                "A checkbox custom field on XPM contacts, such as “Marketing opt-out”. An "
                "unsubscribe on the website ticks it in XPM; ticked in XPM, it unsubscribes "
                "the person here after the next sync. The list is your practice's contact "
                "checkboxes in XPM (create one in XPM, then Refresh from XPM)."
            ),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if FIELD in self.fields:
            uuid = cleaned.get(FIELD) or ""
            row = (
                PracticeCustomField.objects.filter(
                    connection=self._opt_out_connection, uuid__iexact=uuid
                ).first()
                if uuid
                else None
            )
            self.instance.xpm_opt_out_field_name = row.name if row is not None else ""
        return cleaned


class OptOutSettingsPanel(Panel):
    """Above the opt-out field: what is shared, and how it is going."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_xpm/consent/xpm_optout_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            site_settings = self.instance
            site = getattr(site_settings, "site", None)
            connection = XpmConnection.objects.filter(site=site).first() if site else None
            field_uuid = (getattr(site_settings, FIELD, "") or "").strip()
            context.update(status(connection, field_uuid))
            context["connection"] = connection
            context["refresh_url"] = refresh_url(site)
            return context


def refresh_url(site) -> str:
    from django.urls import reverse

    if site is None:
        return ""
    return reverse("wagtail_xpm_leadsubmission:refresh_reference", args=[site.pk])


def status(connection: XpmConnection | None, field_uuid: str) -> dict[str, Any]:
    """What the panel shows (also handy for tests and other pages)."""
    data: dict[str, Any] = {"field_uuid": field_uuid, "field_name": "", "problem": ""}
    if connection is None or not field_uuid:
        return data
    row = PracticeCustomField.objects.filter(connection=connection, uuid__iexact=field_uuid).first()
    data["field_name"] = row.name if row is not None else field_uuid
    data["problem"] = xpm_optout.field_problem(connection, field_uuid)
    reads = xpm_optout.read_state(connection)
    data["reads"] = reads
    data["oldest_text"] = timesince(reads.oldest, timezone.now()) if reads.oldest else ""
    data["outbox"] = xpm_optout.outbox_counts(connection)
    return data
