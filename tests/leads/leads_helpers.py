"""Helpers for the lead tests: outbox rows, sandbox look-ups, a worker that dies."""

from __future__ import annotations

from wagtail.models import Page

from wagtail_xpm import services
from wagtail_xpm.models import LeadSubmission, XpmConnection


def make_submission(connection: XpmConnection, **values) -> LeadSubmission:
    """An outbox row as the contact page would store it (fields ``name`` ... ``consent``)."""
    page = Page.objects.get(slug="contact").specific
    data = {
        "name": values.get("name", "Visitor"),
        "email": values.get("email", ""),
        "phone": values.get("phone", ""),
        "message": values.get("message", "Please call me about my tax return."),
        "consent": values.get("consent", False),
    }
    if values.get("company"):
        data["company"] = values["company"]
    fields = {
        "site": connection.site,
        "connection": connection,
        "page": page,
        "form_title": page.title,
        "source_url": "http://localhost/contact/",
        "form_data": data,
        "field_roles": {name: name for name in data},
        "field_labels": {name: name.capitalize() for name in data},
        **data,
    }
    fields.update({k: v for k, v in values.items() if k not in data})
    return LeadSubmission.objects.create(**fields)


def api_clients(sandbox, email: str | None = None) -> list:
    """Clients created through the API (optionally: with a contact having ``email``)."""
    state = sandbox.state
    clients = [c for c in state.clients.values() if c.created_via_api]
    if email is None:
        return clients
    wanted = email.strip().lower()
    return [
        c
        for c in clients
        if any(state.contacts[link.contact_uuid].email.lower() == wanted for link in c.contacts)
    ]


def api_leads(sandbox, client_uuid: str | None = None) -> list:
    leads = [lead for lead in sandbox.state.leads.values() if lead.created_via_api]
    if client_uuid is not None:
        leads = [lead for lead in leads if lead.client_uuid == client_uuid]
    return leads


def sandbox_client_named(sandbox, name: str):
    return next(c for c in sandbox.state.clients.values() if c.name == name)


class WorkerKilled(BaseException):
    """Stands for the worker process dying (SIGKILL, OOM): nothing after it runs."""


def dying_client_factory(method: str, *, times: int = 1):
    """A client factory whose ``method`` reaches XPM, then the worker dies before the answer
    is stored (``times`` deliveries are killed; later ones work normally)."""
    remaining = {"kills": times}

    def factory(connection: XpmConnection):
        client = services.client_for(connection)
        if remaining["kills"] <= 0:
            return client
        real = getattr(client, method)

        def call_then_die(*args, **kwargs):
            real(*args, **kwargs)
            remaining["kills"] -= 1
            raise WorkerKilled(method)

        setattr(client, method, call_then_die)
        return client

    return factory


def make_due(submission: LeadSubmission) -> None:
    """Skip the wait: the next attempt is due now, and XPM's pause is over."""
    from django.core.cache import cache

    from wagtail_xpm.leads import pipeline

    LeadSubmission.objects.filter(pk=submission.pk).update(next_attempt_at=None)
    if submission.site_id:
        cache.delete(pipeline.pause_key(submission.site_id))


CONTACT = {
    "name": "Priya Natarajan",
    "email": "priya@natarajan-design.example",
    "phone": "+61 400 123 456",
    "message": "We are a small design studio looking for help with BAS and payroll.",
    "consent": "on",
}
