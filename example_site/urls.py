from django.conf import settings
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    # The lead form block posts here (before Wagtail's page catch-all).
    path("xpm/leads/", include("wagtail_xpm.leads.urls")),
    # Public unsubscribe links of campaign emails (no login; before the page catch-all).
    path("xpm/unsubscribe/", include("wagtail_xpm.campaigns.urls")),
    # ESPs' tracking webhooks (bounces, complaints), signed and replay-guarded.
    path("anymail/", include("wagtail_xpm.campaigns.webhooks")),
    # Slack's request URL in HTTP mode (signed requests; before the page catch-all).
    path("slack/", include("slackbot.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]
