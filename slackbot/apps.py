from django.apps import AppConfig


class SlackbotConfig(AppConfig):
    name = "slackbot"
    verbose_name = "XPM Slack bot"
    default_auto_field = "django.db.models.BigAutoField"
