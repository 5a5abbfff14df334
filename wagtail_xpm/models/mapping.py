"""Which XPM client fields and custom fields become contact fields (docs/contracts.md 4.3)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.fields.json import KeyTransform
from django.utils.translation import gettext_lazy as _

CUSTOM_PREFIX = "custom:"

key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,62}$",
    _("Use lower-case letters, digits and underscores, starting with a letter."),
)

# Names the segment rules use for built-in contact fields; a mapping may not take them.
RESERVED_KEYS = frozenset(
    {
        "email",
        "name",
        "client_name",
        "source",
        "subscribed",
        "is_archived",
        "is_prospect",
        "phone",
        "client_id",
        "contact_id",
    }
)


# Words the database reads as lookups on JSON data (``data__contains``, ``data__isnull``...):
# a mapping key named like one would turn a filter on it into that lookup.
LOOKUP_NAMES = frozenset({*models.JSONField.get_lookups(), *KeyTransform.get_lookups(), "pk"})


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot name a mapping (besides its shape, see ``key_validator``):
    ``"reserved"`` (a built-in contact field), ``"lookup"`` (a database lookup name) or
    ``"double_underscore"`` (``__`` separates lookups); None when it can."""
    if key in RESERVED_KEYS:
        return "reserved"
    if key in LOOKUP_NAMES:
        return "lookup"
    if "__" in key:
        return "double_underscore"
    return None


class FieldMapping(models.Model):
    """One XPM field brought across as a contact field, e.g. AccountManager -> account_manager.

    ``source`` is an XPM client element name (``AccountManager``, ``BalanceMonth``...) or
    ``custom:<custom field name>`` / ``custom:<uuid>``. Custom fields cost one API call per
    changed client, so they are opt-in.
    """

    class ValueType(models.TextChoices):
        TEXT = "text", _("Text")
        CHOICE = "choice", _("Choice")
        MONTH = "month", _("Month")
        BOOLEAN = "boolean", _("Yes/No")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        LIST = "list", _("List")

    connection = models.ForeignKey(
        "wagtail_xpm.XpmConnection", on_delete=models.CASCADE, related_name="field_mappings"
    )
    source = models.CharField(_("XPM field"), max_length=255)
    key = models.CharField(max_length=64, validators=[key_validator])
    label = models.CharField(max_length=255)
    value_type = models.CharField(max_length=10, choices=ValueType.choices, default="text")
    # Dropdown options (custom fields) or the known values, offered by segment builders.
    choices = models.JSONField(default=list, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    # The distinct values synced for this key, kept so the contacts listing's filters and the
    # segment builder do not scan every contact on each request (wagtail_xpm/fieldvalues.py):
    # {"contacts": [...], "clients": [...]}; null until computed, and again after a change.
    synced_values = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("field mapping")
        ordering = ["sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "key"], name="mapping_key_unique"),
            models.UniqueConstraint(fields=["connection", "source"], name="mapping_source_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.source})"

    @property
    def is_custom(self) -> bool:
        return self.source.startswith(CUSTOM_PREFIX)

    @property
    def custom_ref(self) -> str:
        return self.source[len(CUSTOM_PREFIX) :] if self.is_custom else ""

    def clean(self) -> None:
        problem = key_problem(self.key or "")
        if problem == "reserved":
            raise ValidationError({"key": _("'%(key)s' is a built-in field.") % {"key": self.key}})
        if problem == "lookup":
            raise ValidationError(
                {
                    "key": _(
                        "'%(key)s' is a word the database uses to search (a lookup); choose "
                        "another key."
                    )
                    % {"key": self.key}
                }
            )
        if problem == "double_underscore":
            raise ValidationError(
                {"key": _("Use single underscores: '__' has a meaning of its own in searches.")}
            )
        if self.is_custom and not self.custom_ref.strip():
            raise ValidationError({"source": _("Name the custom field after 'custom:'.")})
