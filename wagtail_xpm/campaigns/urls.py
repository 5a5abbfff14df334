"""Public URLs of campaign emails; include them before Wagtail's page catch-all:

path("xpm/unsubscribe/", include("wagtail_xpm.campaigns.urls")),
"""

from django.urls import path

from .public import unsubscribe_view

app_name = "wagtail_xpm_unsubscribe"

urlpatterns = [
    path("<str:token>/", unsubscribe_view, name="unsubscribe"),
]
