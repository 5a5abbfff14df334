from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WagtailXpmConfig(AppConfig):
    name = "wagtail_xpm"
    label = "wagtail_xpm"
    verbose_name = _("Xero Practice Manager")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The Huey adapters register their tasks with wagtail_xpm/background.py, in every
        # process (web and consumer alike), so cores can queue work by name: tasks.py imports
        # each feature's tasks module (and is what Huey's consumer autodiscovers).
        from . import (
            checks,  # noqa: F401  (registers the system checks)
            tasks,  # noqa: F401
        )

        _listen_to_esp_reports()
        # The filter values kept on each mapping are forgotten on edits no sync sees.
        from . import fieldvalues

        fieldvalues.connect()


def _listen_to_esp_reports() -> None:
    """Bounces, complaints and unsubscribes that ESPs report through django-anymail."""
    from .campaigns import tracking

    tracking.connect()
