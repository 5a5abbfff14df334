"""Admin URLs (mounted under /admin/xpm/ by wagtail_hooks)."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from .connection import admin as connection

app_name = "wagtail_xpm"

urlpatterns = [
    path("", connection.status, name="status"),
    path("connect/<int:site_id>/", connection.connect, name="connect"),
    path("callback/", connection.oauth_callback, name="oauth_callback"),
    path("choose/<int:site_id>/", connection.choose_tenant, name="choose_tenant"),
    path("check/<int:site_id>/", connection.check, name="check"),
    path("disconnect/<int:site_id>/", connection.disconnect, name="disconnect"),
    # The admin JavaScript's words (djangojs domain). Wagtail's own catalog only covers
    # wagtail.admin; admin URLs run in the user's preferred language (require_admin_access).
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["wagtail_xpm"]),
        name="javascript_catalog",
    ),
]
