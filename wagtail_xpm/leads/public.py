"""The public endpoint the lead form block posts to."""

from __future__ import annotations

import functools
from typing import Any

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from wagtail.blocks import StreamValue
from wagtail.contrib.forms.models import FormMixin
from wagtail.fields import StreamField
from wagtail.models import Page

from ..limits import cap_body
from ..models import LeadSubmission
from . import intake, pagecache
from .blocks import THANKS_PARAM, LeadFormBlock, anchor
from .pages import LeadFormPageMixin


def find_block(page: Page, block_id: str) -> tuple[LeadFormBlock, Any] | None:
    """The lead form block with ``block_id`` among the page's StreamFields (any depth of
    nested StreamBlocks), as (block definition, value)."""
    for field in page._meta.get_fields():
        if not isinstance(field, StreamField):
            continue
        found = _search(getattr(page, field.name, None), block_id)
        if found is not None:
            return found
    return None


def _search(stream: Any, block_id: str) -> tuple[LeadFormBlock, Any] | None:
    if not isinstance(stream, StreamValue):
        return None
    for child in stream:
        if child.id == block_id and isinstance(child.block, LeadFormBlock):
            return child.block, child.value
        nested = _search(child.value, block_id)
        if nested is not None:
            return nested
    return None


@never_cache
@require_POST
@cap_body()
def submit(request: HttpRequest, page_id: int, block_id: str) -> HttpResponse:
    """Validate, store and queue; then back to the page, which shows the thank-you text."""
    page = Page.objects.live().public().filter(pk=page_id).first()
    if page is None:
        raise Http404
    page = page.specific
    found = find_block(page, block_id)
    if found is None:
        raise Http404
    block, value = found
    form = block.make_form(value, request.POST)
    if not form.is_valid():
        return _page_with_errors(request, page, block_id, form)
    heading = value.get("heading") or ""
    intake.receive(
        request,
        form=intake.LeadForm(
            page=page,
            title=f"{page.title}: {heading}" if heading else page.title,
            kind=LeadSubmission.Kind.BLOCK,
            block_id=block_id,
            send_to_xpm=bool(value.get("send_to_xpm")),
            roles={name: name for name in intake.ROLES if name in form.fields},
            labels={name: str(form.fields[name].label) for name in form.lead_data()},
        ),
        data=form.lead_data(),
    )
    url = page.get_url(request) or "/"
    return HttpResponseRedirect(f"{url}?{THANKS_PARAM}={block_id}#{anchor(block_id)}")


@functools.cache
def lead_form_page_models() -> tuple[type[Page], ...]:
    return tuple(
        model
        for model in apps.get_models()
        if issubclass(model, LeadFormPageMixin) and issubclass(model, Page)
    )


def lead_form_page(page_id: int) -> Page | None:
    """A live lead form page by id, from the cache (see ``pagecache``) or the database."""
    return pagecache.load(page_id, _load_lead_form_page)


def _load_lead_form_page(page_id: int) -> Page | None:
    # One query when the site has a single lead page type (the usual case).
    models = lead_form_page_models()
    if len(models) == 1:
        return models[0].objects.live().filter(pk=page_id).first()
    page = Page.objects.live().filter(pk=page_id).specific().first()
    return page if isinstance(page, LeadFormPageMixin) else None


@never_cache
@require_POST
@cap_body()
def submit_page(request: HttpRequest, page_id: int) -> HttpResponse:
    """A lead form page's form posts here: validate, store, queue, redirect to the thanks.

    The same work as posting to the page, without Wagtail's routing and without rendering a
    page in the answer: the visitor's POST stays cheap however busy the site is.
    """
    page = lead_form_page(page_id)
    if page is None:
        raise Http404
    if page.lead_is_private:
        # Private pages' forms post to the page itself, through Wagtail's own checks.
        raise PermissionDenied
    form = page.get_form(request.POST, request.FILES, page=page, user=request.user)
    return page.accept(request, form)


def _page_with_errors(request: HttpRequest, page: Page, block_id: str, form) -> HttpResponse:
    """Render the page as a GET would, with this block showing the visitor's errors."""
    request.xpm_lead_forms = {block_id: form}
    context = page.get_context(request)
    if isinstance(page, FormMixin):
        # A form page would otherwise expect its own (unbound) form in the context.
        context["form"] = page.get_form(page=page, user=request.user)
    return TemplateResponse(request, page.get_template(request), context, status=200)
