"""The view Wagtail's Forms screens use for a lead form page's submissions (they are
website enquiries): straight to Website enquiries, where the enquiry permissions apply."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from wagtail.contrib.forms.utils import get_forms_for_user
from wagtail.contrib.forms.views import SubmissionsListView


class EnquiriesInsteadOfSubmissions(SubmissionsListView):
    """Neither a listing nor a CSV of the page's submissions: the enquiries listing (for
    those who may see the page in the Forms screens at all)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        page = kwargs.get("form_page")
        if page is None or not get_forms_for_user(request.user).filter(pk=page.pk).exists():
            raise PermissionDenied
        return redirect("wagtail_xpm_leadsubmission:index")
