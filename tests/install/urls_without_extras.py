"""The example site's URLs without Slack's request URL, as docs/installing.md step 4 has them."""

from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("xpm/leads/", include("wagtail_xpm.leads.urls")),
    path("xpm/unsubscribe/", include("wagtail_xpm.campaigns.urls")),
    path("", include(wagtail_urls)),
]
