"""The contacts listing's downloads at scale: a CSV streamed from the filtered queryset, large
CSV and Excel files written in the background (real Huey, immediate mode) and fetched by
their requester only, expiry, tax numbers masked without the permission, audit entries."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.db import connection as db
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_xpm import audit, privacy
from wagtail_xpm.contacts import bulkexport
from wagtail_xpm.contacts.exports import contact_rows, csv_lines, export_columns
from wagtail_xpm.contacts.tasks import expire_contact_exports
from wagtail_xpm.models import Contact, ContactExport, FieldMapping, XpmConnection

pytestmark = pytest.mark.django_db

INDEX = "wagtail_xpm_contact:index"


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Django's default storage in a directory of this test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    return tmp_path / "media"


def assert_denied(response) -> None:
    """Wagtail's admin answers a missing permission by sending the user to the dashboard."""
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def limits(settings, **values):
    settings.WAGTAIL_XPM = {**settings.WAGTAIL_XPM, **values}


def person(django_user_model, username: str, *codenames: str) -> Client:
    user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw-1234567")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        *Permission.objects.filter(content_type__app_label="wagtail_xpm", codename__in=codenames),
    )
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def exporter(django_user_model):
    return person(django_user_model, "exporter", "view_contact", "export_contact")


@pytest.fixture
def tax_exporter(django_user_model):
    return person(
        django_user_model, "taxexporter", "view_contact", "export_contact", "view_tax_number"
    )


@pytest.fixture
def taxed(sync, synced, connected_site):
    """The practice with XPM's tax numbers mapped and synced."""
    FieldMapping.objects.create(
        connection=connected_site, source="TaxNumber", key="tax_number", label="Tax Number",
        sort_order=99,
    )  # fmt: skip
    run = sync(full=True)
    assert run.status == "succeeded", run.message
    numbers = [c.data.get("tax_number") for c in Contact.objects.all()]
    assert any(n and len(str(n)) > 4 for n in numbers), "the sandbox gives some clients one"
    return connected_site


def body(response) -> str:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def expected_csv(contacts) -> str:
    """The CSV as the listing wrote it before streaming (practice by practice, by id)."""
    connections = XpmConnection.objects.filter(
        pk__in=contacts.values_list("connection_id", flat=True)
    ).order_by("pk")
    columns = []
    for connection in connections:
        columns += [c for c in export_columns(connection) if c not in columns]
    rows = (row for c in connections for row in contact_rows(c, contacts.filter(connection=c)))
    return "".join(csv_lines(columns, rows))


def export_entries(connection) -> list[ModelLogEntry]:
    return list(
        ModelLogEntry.objects.filter(action=audit.EXPORT, object_id=str(connection.pk)).order_by(
            "pk"
        )
    )


# --- streamed -------------------------------------------------------------------------------


def test_the_csv_streams_the_filtered_listing_as_before(admin_client, synced, connected_site):
    chosen = Contact.objects.exclude(data__account_manager=None).first().data["account_manager"]
    params = {"data__account_manager": chosen, "q": "@", "export": "csv"}
    with CaptureQueriesContext(db) as queries:
        response = admin_client.get(reverse(INDEX), params)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    # Nothing of the contacts was read before the first byte: only counts and mappings.
    assert not [q for q in queries if 'SELECT "wagtail_xpm_contact"."id"' in q["sql"]]
    matching = Contact.objects.filter(data__account_manager=chosen, email__icontains="@")
    assert 0 < matching.count() < Contact.objects.count()
    text = body(response)
    assert text == expected_csv(matching)
    assert len(parse(text)) == 1 + matching.count()


def test_a_streamed_csv_is_in_the_audit_log(exporter, synced, connected_site):
    response = exporter.get(reverse(INDEX), {"export": "csv"})
    assert len(parse(body(response))) == 1 + Contact.objects.count()
    (entry,) = export_entries(connected_site)
    assert entry.user_id == exporter.user.pk
    assert entry.data["what"] == "contacts as CSV"
    assert entry.data["rows"] == Contact.objects.count()


def test_exports_need_the_export_permission(viewer_client, synced):
    assert_denied(viewer_client.get(reverse(INDEX), {"export": "csv"}))
    assert not ModelLogEntry.objects.filter(action=audit.EXPORT).exists()


# --- in the background ----------------------------------------------------------------------


def start_export(client, django_capture_on_commit_callbacks, **params) -> ContactExport:
    # Huey runs in immediate mode (tests/settings.py): the task runs when the request's
    # transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse(INDEX), params)
    export = ContactExport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "wagtail_xpm_contact:export_progress", args=[export.token]
    )
    export.refresh_from_db()
    return export


def test_a_large_csv_is_written_in_the_background_then_downloaded(
    settings, exporter, synced, connected_site, django_capture_on_commit_callbacks,
    private_storage,
):  # fmt: skip
    limits(settings, EXPORT_STREAM_MAX_ROWS=5)
    streamed_before = Contact.objects.all()
    export = start_export(exporter, django_capture_on_commit_callbacks, export="csv")
    assert export.status == ContactExport.Status.DONE, export.message
    assert export.rows_done == export.rows_total == Contact.objects.count()
    # Private: a random name in the default storage, no URL given out anywhere.
    assert export.file_name.startswith("wagtail_xpm/exports/")
    assert len(export.file_name.rsplit("/", 1)[1]) > 40
    assert default_storage.exists(export.file_name)

    page = exporter.get(reverse("wagtail_xpm_contact:export_progress", args=[export.token]))
    assert page.status_code == 200
    download_url = reverse("wagtail_xpm_contact:export_download", args=[export.token])
    assert download_url in page.content.decode()
    assert export.file_name not in page.content.decode()
    status = exporter.get(reverse("wagtail_xpm_contact:export_status", args=[export.token]))
    assert status.json()["status"] == "done" and status.json()["percent"] == 100
    assert status.json()["download_url"] == download_url

    download = exporter.get(download_url)
    assert download.status_code == 200
    assert 'filename="contacts.csv"' in download["Content-Disposition"]
    assert b"".join(download.streaming_content).decode() == expected_csv(streamed_before)

    (entry,) = export_entries(connected_site)
    assert entry.user_id == exporter.user.pk
    assert entry.data["rows"] == Contact.objects.count()
    assert "CSV" in entry.data["what"]

    # The listing says so, once.
    listing = exporter.get(reverse(INDEX))
    assert download_url in listing.content.decode()
    assert download_url not in exporter.get(reverse(INDEX)).content.decode()


def test_a_large_excel_file_is_written_in_the_background(
    settings, admin_client, synced, django_capture_on_commit_callbacks
):
    limits(settings, EXPORT_XLSX_INLINE_MAX_ROWS=1)
    chosen = Contact.objects.exclude(data__account_manager=None).first().data["account_manager"]
    matching = Contact.objects.filter(data__account_manager=chosen)
    assert 1 < matching.count() < Contact.objects.count()
    export = start_export(
        admin_client, django_capture_on_commit_callbacks, export="xlsx",
        data__account_manager=chosen,
    )  # fmt: skip
    assert export.status == ContactExport.Status.DONE, export.message
    assert export.params["query"]["data__account_manager"] == [chosen]
    download = admin_client.get(reverse("wagtail_xpm_contact:export_download", args=[export.token]))
    assert download.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    rows = [[cell or "" for cell in row] for row in workbook.active.iter_rows(values_only=True)]
    assert rows == parse(expected_csv(matching))


def test_a_small_excel_file_is_sent_at_once(admin_client, synced, connected_site):
    response = admin_client.get(reverse(INDEX), {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.active.max_row == 1 + Contact.objects.count()
    assert export_entries(connected_site)[0].data["what"] == "contacts as Excel"
    assert not ContactExport.objects.exists()


def test_only_the_requester_may_fetch_a_background_export(
    settings, exporter, django_user_model, synced, django_capture_on_commit_callbacks
):
    limits(settings, EXPORT_STREAM_MAX_ROWS=5)
    export = start_export(exporter, django_capture_on_commit_callbacks, export="csv")
    urls = [
        reverse(f"wagtail_xpm_contact:{name}", args=[export.token])
        for name in ("export_progress", "export_status", "export_download")
    ]
    colleague = person(django_user_model, "colleague", "view_contact", "export_contact")
    for url in urls:
        assert colleague.get(url).status_code == 404
    # Someone who may not export at all is refused outright.
    looker = person(django_user_model, "looker", "view_contact")
    for url in urls:
        assert_denied(looker.get(url))
    # The requester who since lost the permission cannot fetch it either.
    assert exporter.get(urls[2]).status_code == 200
    exporter.user.user_permissions.remove(
        Permission.objects.get(content_type__app_label="wagtail_xpm", codename="export_contact")
    )
    assert_denied(exporter.get(urls[2]))


def test_background_exports_expire(settings, exporter, synced, django_capture_on_commit_callbacks):
    limits(settings, EXPORT_STREAM_MAX_ROWS=5, EXPORT_KEEP_FOR=timedelta(hours=2))
    export = start_export(exporter, django_capture_on_commit_callbacks, export="csv")
    assert export.expires_at - export.finished_at == timedelta(hours=2)
    download = reverse("wagtail_xpm_contact:export_download", args=[export.token])
    assert exporter.get(download).status_code == 200

    expire_contact_exports.call_local()  # the hourly task, nothing due yet
    assert ContactExport.objects.filter(pk=export.pk).exists()
    assert bulkexport.expire(timezone.now() + timedelta(hours=3)) == 1
    assert not ContactExport.objects.exists()
    assert not default_storage.exists(export.file_name)
    assert exporter.get(download).status_code == 404


# --- tax numbers ----------------------------------------------------------------------------


def tax_column(text: str) -> list[str]:
    rows = parse(text)
    index = rows[0].index("tax_number")
    return [row[index] for row in rows[1:] if row[index]]


def test_tax_numbers_are_masked_in_the_csv_without_the_permission(exporter, tax_exporter, taxed):
    full = sorted(str(n) for n in Contact.objects.values_list("data__tax_number", flat=True) if n)
    shown = sorted(tax_column(body(exporter.get(reverse(INDEX), {"export": "csv"}))))
    assert shown == sorted(privacy.mask(n) for n in full)
    assert not set(shown) & set(full)
    assert sorted(tax_column(body(tax_exporter.get(reverse(INDEX), {"export": "csv"})))) == full


def test_tax_numbers_are_masked_in_background_exports_too(
    settings, exporter, taxed, django_capture_on_commit_callbacks
):
    limits(settings, EXPORT_STREAM_MAX_ROWS=5)
    export = start_export(exporter, django_capture_on_commit_callbacks, export="csv")
    download = exporter.get(reverse("wagtail_xpm_contact:export_download", args=[export.token]))
    shown = tax_column(b"".join(download.streaming_content).decode())
    assert shown and all(value.startswith(privacy.MASK) for value in shown)


def test_the_listing_offers_no_tax_number_filter_without_the_permission(
    exporter, tax_exporter, taxed
):
    assert 'name="data__tax_number"' not in exporter.get(reverse(INDEX)).content.decode()
    assert 'name="data__tax_number"' in tax_exporter.get(reverse(INDEX)).content.decode()
    # Nor can a hand-made query string search by tax number.
    number = next(n for n in Contact.objects.values_list("data__tax_number", flat=True) if n)
    text = body(exporter.get(reverse(INDEX), {"export": "csv", "data__tax_number": number}))
    assert len(parse(text)) == 1 + Contact.objects.count()
