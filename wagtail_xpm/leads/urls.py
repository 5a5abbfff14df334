"""Public URLs of the lead form block (include them before Wagtail's page catch-all)::

path("xpm/leads/", include("wagtail_xpm.leads.urls")),
"""

from django.urls import path

from ..consent import public as consent_public
from . import public

app_name = "wagtail_xpm_leads"

urlpatterns = [
    # The double opt-in link of the confirmation email (wagtail_xpm/consent/optin.py).
    path("confirm/<str:token>/", consent_public.confirm_view, name="confirm_consent"),
    path("page/<int:page_id>/", public.submit_page, name="submit_page"),
    path("<int:page_id>/<str:block_id>/", public.submit, name="submit"),
]
