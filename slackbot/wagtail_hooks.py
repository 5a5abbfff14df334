"""Registration with the Wagtail admin (and nothing else)."""

from wagtail import hooks

from .viewsets import SlackUserLinkViewSet


@hooks.register("register_admin_viewset")
def register_viewsets() -> list[SlackUserLinkViewSet]:
    return [SlackUserLinkViewSet()]
