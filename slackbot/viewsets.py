"""Admin screen for linking Slack users to Wagtail users (registered in wagtail_hooks)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from .models import SlackUserLink


class SlackUserLinkCreateView(generic.CreateView):
    def save_instance(self) -> Any:
        # Who linked whom is worth knowing when a Slack account acts as someone else.
        instance = self.form.save(commit=False)
        instance.created_by = self.request.user
        instance.save()
        return instance


class SlackUserLinkViewSet(ModelViewSet):
    """Settings → Slack users: explicit links for people whose emails differ."""

    model = SlackUserLink
    name = "slackbot_userlink"
    url_prefix = "slack-users"
    icon = "user"
    menu_label = _("Slack users")
    add_to_settings_menu = True
    add_view_class = SlackUserLinkCreateView
    form_fields = ["team_id", "slack_user_id", "user", "note"]
    list_display = ["slack_user_id", "team_id", "user", "note", "created_at"]
    list_filter = ["team_id"]
    search_fields = ["slack_user_id", "note", "user__username", "user__email"]
    search_backend_name = None
    copy_view_enabled = False
    inspect_view_enabled = False
