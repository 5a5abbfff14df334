"""Signal receivers: notification triggers from the models, and settings changes in tests."""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from wagtail_xpm.models import SyncRun, XpmConnection

from . import identity, notifications
from .models import SlackUserLink


@receiver(post_save, sender=SyncRun, dispatch_uid="slackbot_sync_run_saved")
def _sync_run_saved(sender: type, instance: SyncRun, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    # Progress saves never include the status; only a run's final save does.
    if update_fields is None or "status" in update_fields:
        notifications.sync_run_saved(instance)


@receiver(post_save, sender=XpmConnection, dispatch_uid="slackbot_connection_saved")
def _connection_saved(sender: type, instance: XpmConnection, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is None or "status" in update_fields:
        notifications.connection_saved(instance)


@receiver(setting_changed, dispatch_uid="slackbot_setting_changed")
def _setting_changed(setting: str, **kwargs: Any) -> None:
    if setting.startswith("SLACK_"):
        from .app import reset

        reset()


@receiver(post_delete, sender=SlackUserLink, dispatch_uid="slackbot_link_deleted")
@receiver(post_save, sender=SlackUserLink, dispatch_uid="slackbot_link_saved")
def _link_changed(sender: type, instance: SlackUserLink, **kwargs: Any) -> None:
    # The email match is cached; a link made or removed takes effect at once.
    identity.forget(instance.team_id, instance.slack_user_id)
