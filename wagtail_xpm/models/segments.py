"""Saved segments: a rule tree over a connection's contacts (docs/contracts.md 4.3, version 1)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    """A named set of contacts, e.g. "Account Manager = John and Balance Month = June".

    ``rules`` is the version-1 rule list (nested ``{"match", "rules"}`` groups and
    ``{"field", "op", "value"}`` rules); ``match`` combines the top level. Membership is
    computed live by :mod:`wagtail_xpm.segments.compile`, never stored.
    """

    class ClientScope(models.TextChoices):
        PRIMARY = "primary", _("The contact's primary XPM client")
        ANY = "any", _("Any of the contact's XPM clients")

    class Match(models.TextChoices):
        ALL = "all", _("All of the rules")
        ANY = "any", _("Any of the rules")

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="segments"
    )
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    client_scope = models.CharField(
        _("XPM fields are checked on"),
        max_length=10,
        choices=ClientScope.choices,
        default=ClientScope.PRIMARY,
    )
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    rules = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("segment")
        ordering = ["name", "pk"]
        constraints = [
            # Import matches segments by name, case-insensitively (docs/contracts.md 4.3).
            models.UniqueConstraint(
                "connection", Lower("name"), name="segment_name_unique_per_connection"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def as_document(self) -> dict[str, Any]:
        """This segment as an entry of the version-1 document's ``segments`` list."""
        entry: dict[str, Any] = {"name": self.name}
        if self.description:
            entry["description"] = self.description
        entry.update(client_scope=self.client_scope, match=self.match, rules=self.rules or [])
        return entry
