"""The contacts listing's downloads: CSV streamed row by row, small Excel files at once, and
large ones written in the background (wagtail_xpm/contacts/bulkexport.py) with a progress page and a
download only their requester may fetch.

The listing's own filtered queryset is used as it is (lazy): it is never evaluated into
memory, unlike Wagtail's export path, which builds the whole listing context first (15 s
and 1.3 GB at 100,000 contacts, docs/benchmarks.md).
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ... import access
from ...conf import get_setting
from ...models import Contact, ContactExport, XpmConnection
from .. import bulkexport, exports

INDEX = "wagtail_xpm_contact:index"
SESSION_KEY = "wagtail_xpm_exports_announced"


def _fallback(user: Any) -> QuerySet[XpmConnection]:
    return access.scope(XpmConnection.objects.order_by("pk"), user, access.EXPORT_CONTACT)


def respond(view: Any) -> HttpResponse:
    """The download the listing ``view`` was asked for (``?export=csv|xlsx``)."""
    request: HttpRequest = view.request
    user = request.user
    if not access.holds(user, access.EXPORT_CONTACT):
        raise PermissionDenied
    fmt = request.GET.get("export")
    contacts = view.get_queryset()  # filtered, searched, ordered: not evaluated
    counts = exports.listing_counts(contacts)
    total = sum(rows for _connection, rows in counts)
    if bulkexport.is_background(fmt, total):
        export = bulkexport.start(user, fmt, dict(request.GET.lists()), [c.pk for c, _n in counts],
                                  total)  # fmt: skip
        return redirect("wagtail_xpm_contact:export_progress", token=export.token)
    connections = [connection for connection, _rows in counts]
    columns = exports.listing_columns(connections, _fallback(user))
    rows = exports.listing_rows(contacts, connections, user)
    filename = view.get_filename()
    if fmt == ContactExport.Format.XLSX:
        exports.record_listing_export(counts, user, _("contacts as Excel"))
        output = io.BytesIO()
        # Text cells, formula-escaped like the CSV (wagtail_xpm/contacts/exports.py).
        exports.write_xlsx(output, _("Contacts"), columns, rows)
        output.seek(0)
        # A FileResponse, as Wagtail's own export answers.
        return FileResponse(
            output,
            as_attachment=True,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"{filename}.xlsx",
        )
    exports.record_listing_export(counts, user, _("contacts as CSV"))
    response = StreamingHttpResponse(
        exports.csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def listed_contacts(user: Any, query: dict[str, list[str]]) -> QuerySet[Contact]:
    """The contacts the listing shows ``user`` for ``query`` (its filters, search, order and
    ``export``), chosen by the listing view itself so a background export has exactly the
    rows a streamed one would."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(mutable=True)
    for key, values in query.items():
        request.GET.setlist(key, list(values))
    request.user = user
    index = resolve(reverse(INDEX)).func
    view = index.view_class(**index.view_initkwargs)
    view.setup(request)
    return view.get_queryset()


def run(export_id: int) -> ContactExport | None:
    """Write one queued export (the Huey task in wagtail_xpm/contacts/tasks.py)."""
    export = bulkexport.claim(export_id)
    if export is None:
        return None
    contacts = listed_contacts(export.user, export.params.get("query") or {})
    return bulkexport.write(export, contacts, _fallback(export.user))


# --- the requester's pages --------------------------------------------------------------------


def _own_export(request: HttpRequest, token: str) -> ContactExport:
    """The user's own export (404 for anyone else's, or one that expired)."""
    export = ContactExport.objects.filter(
        token=token, user=request.user, expires_at__gt=timezone.now()
    ).first()
    if export is None:
        raise Http404
    return export


def _payload(export: ContactExport) -> dict[str, Any]:
    done = export.status == ContactExport.Status.DONE
    return {
        "status": export.status,
        "status_label": str(export.get_status_display()),
        "percent": export.percent,
        "rows_done": export.rows_done,
        "rows_total": export.rows_total,
        "finished": export.status in (ContactExport.Status.DONE, ContactExport.Status.FAILED),
        "message": export.message,
        "download_url": reverse("wagtail_xpm_contact:export_download", args=[export.token])
        if done
        else None,
    }


class ExportProgressView(WagtailAdminTemplateMixin, TemplateView):
    """The progress of a background export, then its download link."""

    template_name = "wagtail_xpm/admin/contact_export.html"
    page_title = gettext_lazy("Contacts export")
    header_icon = "download"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        export = _own_export(self.request, kwargs["token"])
        context.update(
            export=export,
            payload=_payload(export),
            status_url=reverse("wagtail_xpm_contact:export_status", args=[export.token]),
            index_url=reverse(INDEX),
            keep_hours=int(get_setting("EXPORT_KEEP_FOR").total_seconds() // 3600),
        )
        return context


def export_status(request: HttpRequest, token: str) -> JsonResponse:
    """The small JSON the progress page polls."""
    return JsonResponse(_payload(_own_export(request, token)))


def export_download(request: HttpRequest, token: str) -> FileResponse:
    """The finished file, to its requester only, while they may still export the contacts
    of every site in it."""
    export = _own_export(request, token)
    if export.status != ContactExport.Status.DONE or not export.file_name:
        raise Http404
    ids = set(export.params.get("connections") or ())
    if ids - set(_fallback(request.user).filter(pk__in=ids).values_list("pk", flat=True)):
        raise Http404
    try:
        handle = default_storage.open(export.file_name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=f"contacts.{export.format}")


def announce_finished(request: HttpRequest) -> None:
    """A message on the listing for each of the user's background exports that finished
    since they last looked (once per export)."""
    seen = set(request.session.get(SESSION_KEY, []))
    finished = ContactExport.objects.filter(
        user=request.user,
        status__in=(ContactExport.Status.DONE, ContactExport.Status.FAILED),
        expires_at__gt=timezone.now(),
    ).exclude(token__in=seen)
    announced = False
    for export in finished.order_by("finished_at")[:5]:
        if export.status == ContactExport.Status.DONE:
            url = reverse("wagtail_xpm_contact:export_download", args=[export.token])
            messages.success(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    _("Your export of %(rows)s contacts is ready.") % {"rows": export.rows_done},
                    url,
                    _("Download"),
                ),
            )
        else:
            messages.error(request, export.message or _("Your contacts export failed."))
        seen.add(export.token)
        announced = True
    if announced:
        request.session[SESSION_KEY] = sorted(seen)[-50:]
