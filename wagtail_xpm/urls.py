"""Admin URLs (mounted under /admin/xpm/ by wagtail_hooks)."""

from django.urls import path

from .views import connection

app_name = "wagtail_xpm"

urlpatterns = [
    path("", connection.status, name="status"),
    path("connect/<int:site_id>/", connection.connect, name="connect"),
    path("callback/", connection.oauth_callback, name="oauth_callback"),
    path("choose/<int:site_id>/", connection.choose_tenant, name="choose_tenant"),
    path("check/<int:site_id>/", connection.check, name="check"),
    path("disconnect/<int:site_id>/", connection.disconnect, name="disconnect"),
]
