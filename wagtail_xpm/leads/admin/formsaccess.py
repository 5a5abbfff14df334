"""Lead form pages in Wagtail's Forms screens: their submissions are website enquiries, so
only people who may view enquiries on the page's site see the page there (the
``filter_form_submissions_for_user`` hook in ``wagtail_hooks``), and opening its submissions
leads to Website enquiries (``LeadFormPageMixin.submissions_list_view_class``)."""

from __future__ import annotations

import functools

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from wagtail.models import Page

from ... import access
from ..pages import LeadFormPageMixin


@functools.cache
def lead_form_page_models() -> tuple[type[Page], ...]:
    return tuple(
        model
        for model in apps.get_models()
        if issubclass(model, LeadFormPageMixin) and issubclass(model, Page)
    )


def visible_form_pages(user, form_pages: QuerySet) -> QuerySet:
    """``form_pages`` without the lead form pages of sites where ``user`` may not view
    enquiries."""
    models = lead_form_page_models()
    if not models:
        return form_pages
    sites = access.sites_for(user, access.VIEW_ENQUIRY)
    if sites is access.EVERY_SITE:
        return form_pages
    lead_types = list(ContentType.objects.get_for_models(*models).values())
    visible = Q(pk__in=[])
    for root_path in access.allowed_sites(user, access.VIEW_ENQUIRY).values_list(
        "root_page__path", flat=True
    ):
        visible |= Q(path__startswith=root_path)
    return form_pages.exclude(Q(content_type__in=lead_types) & ~visible)
