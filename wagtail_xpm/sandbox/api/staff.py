"""``staff.api/list`` and ``staff.api/get/{uuid}`` (docs/xpm-api.md 7), and ``category.api/list``
(job categories, docs/xpm-api.md 8.5): the read-only reference lists."""

from __future__ import annotations

from ..renderers import category_xml, staff_xml
from ..xmlout import collection, el, envelope
from .context import ApiContext, ApiError, HandlerResult


def list_staff(ctx: ApiContext) -> HandlerResult:
    """GET staff.api/list: ``<StaffList><Staff>``."""
    inner = "".join(staff_xml(s) for s in ctx.state.staff.values())
    return envelope(ctx.method_word, collection("StaffList", inner))


def get_staff(ctx: ApiContext) -> HandlerResult:
    """GET staff.api/get/{uuid}, with the UI's integer-id WebUrl."""
    staff = ctx.state.staff_member(ctx.ident)
    if staff is None:
        raise ApiError("Invalid staff identifier")
    web_url = f"https://app.practicemanager.xero.com/admin/resourceedit.aspx?id={staff.web_id}"
    return envelope(ctx.method_word, el("WebUrl", web_url) + staff_xml(staff))


def job_categories(ctx: ApiContext) -> HandlerResult:
    """GET category.api/list: job categories, not lead categories."""
    inner = "".join(category_xml(c) for c in ctx.state.job_categories.values())
    return envelope(ctx.method_word, collection("Categories", inner))
