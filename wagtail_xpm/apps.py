from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailXpmConfig(AppConfig):
    name = "wagtail_xpm"
    label = "wagtail_xpm"
    verbose_name = _("Xero Practice Manager")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
