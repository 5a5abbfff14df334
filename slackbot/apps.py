"""Slack ops bot for wagtail_xpm (Bolt for Python): ``/xpm`` commands and notifications."""

from django.apps import AppConfig


class SlackbotConfig(AppConfig):
    name = "slackbot"
    verbose_name = "XPM Slack bot"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registration on import
        from .conf import bolt_installed

        if not bolt_installed():
            return  # checks.py reports slackbot.E010 with the extra to install
        from . import signals  # noqa: F401 - registration on import
        from .notifications import on_notification

        try:
            from wagtail_xpm import notifications
        except ImportError:  # an older core without the notification hook
            return
        notifications.subscribe(on_notification)
