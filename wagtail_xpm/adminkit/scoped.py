"""Listing pieces cut down to the sites a user may see (``access.py``): the "Site" filter of
the admin's listings and the querysets of Wagtail's generic index views."""

from __future__ import annotations

from collections.abc import Iterable

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404
from django.utils.functional import cached_property, classproperty
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.views.bulk_action import BulkAction
from wagtail.snippets.bulk_actions.delete import DeleteBulkAction
from wagtail.snippets.views.chooser import (
    ChooseResultsView,
    ChooseView,
    SnippetChooserViewSet,
    SnippetChosenMultipleView,
    SnippetChosenView,
    SnippetCreateView,
)

from .. import access
from ..models import XpmConnection
from .labels import connection_label


def connections_for(codenames: Iterable[str]):
    """A queryset callable (django-filter's ``queryset=``): the user's practices."""
    names = tuple(codenames)

    def queryset(request):
        connections = XpmConnection.objects.select_related("site").order_by("pk")
        return access.scope(connections, getattr(request, "user", None), names)

    return queryset


class PracticeChoiceFilter(django_filters.ModelChoiceFilter):
    """ "Site": the practices of the sites the user may see, named by site and practice."""

    def __init__(self, codenames: Iterable[str], **kwargs):
        kwargs.setdefault("label", _("Site"))
        kwargs.setdefault("widget", forms.Select)
        kwargs.setdefault("empty_label", _("All"))
        super().__init__(queryset=connections_for(codenames), **kwargs)

    @property
    def field(self):
        field = super().field
        field.label_from_instance = connection_label
        return field


def site_filterset(
    model: type[Model], codenames: Iterable[str], fields: Iterable[str]
) -> type[WagtailFilterSet]:
    """A filter set over ``fields`` whose ``connection`` filter offers the user's sites."""
    meta = type("Meta", (), {"model": model, "fields": ["connection", *fields]})
    return type(
        f"{model.__name__}SiteFilterSet",
        (WagtailFilterSet,),
        {"connection": PracticeChoiceFilter(codenames, field_name="connection"), "Meta": meta},
    )


class ScopedIndexMixin:
    """A generic index view listing only the records of the user's sites."""

    scope_codenames: tuple[str, ...] = ()

    def get_base_queryset(self):
        return access.scope(super().get_base_queryset(), self.request.user, self.scope_codenames)


def scoped_chooser_viewset(codenames: Iterable[str]) -> type[SnippetChooserViewSet]:
    """A snippet chooser (the modal other forms open to pick a segment or a campaign) that
    offers only the records of the sites where the user holds one of ``codenames``."""
    names = tuple(codenames)

    class ScopedListMixin:
        def get_object_list(self):
            return access.scope(super().get_object_list(), self.request.user, names)

    class ScopedChoose(ScopedListMixin, ChooseView):
        pass

    class ScopedChooseResults(ScopedListMixin, ChooseResultsView):
        pass

    class ScopedChosen(SnippetChosenView):
        def get_object(self, pk):
            return access.scope(self.model_class.objects.all(), self.request.user, names).get(pk=pk)

    class ScopedChosenMultiple(SnippetChosenMultipleView):
        def get_objects(self, pks):
            return access.scope(super().get_objects(pks), self.request.user, names)

    class NoCreation(SnippetCreateView):
        """The chooser offers no creation form for these records (they need their own
        editor): its create URL answers 404 rather than failing."""

        def dispatch(self, request, *args, **kwargs):
            raise Http404

    return type(
        "ScopedSnippetChooserViewSet",
        (SnippetChooserViewSet,),
        {
            "choose_view_class": ScopedChoose,
            "choose_results_view_class": ScopedChooseResults,
            "chosen_view_class": ScopedChosen,
            "chosen_multiple_view_class": ScopedChosenMultiple,
            "create_view_class": NoCreation,
        },
    )


class SiteScopedDeleteBulkAction(DeleteBulkAction):
    """Wagtail's bulk delete for segments and campaigns, limited to the user's sites: a
    record of another site is neither deleted nor named on the confirmation page."""

    @classproperty
    def models(cls):
        from ..models import Campaign, Segment

        return [Segment, Campaign]

    def dispatch(self, request, *args, **kwargs):
        if not self.permission_policy.user_has_permission(request.user, "delete"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_all_objects_in_listing_query(self, parent_id):
        return self.permission_policy.instances_user_has_permission_for(
            self.request.user, "delete"
        ).values_list("pk", flat=True)

    @cached_property
    def _actionable_objects(self):
        objects, _others = BulkAction.get_actionable_objects(self)
        return objects, {"items_with_no_access": []}
