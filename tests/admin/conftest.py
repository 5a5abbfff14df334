"""Fixtures for the admin screens: a synced practice and users with different permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from wagtail_xpm import services


@pytest.fixture
def sync(connected_site):
    """Run a sync of the connected site in the foreground and return the finished run."""

    def run(**options):
        return services.run_sync(connected_site, trigger="cli", **options)

    return run


@pytest.fixture
def synced(sync):
    """The sandbox practice synced once; returns the run."""
    run = sync()
    assert run.status == "succeeded", run.message
    return run


def _user(django_user_model, username: str, *codenames: str):
    user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw-12345678")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        *Permission.objects.filter(content_type__app_label="wagtail_xpm", codename__in=codenames),
    )
    return user


@pytest.fixture
def viewer_client(db, django_user_model):
    """An editor who may look at contacts but change nothing and not run the integration."""
    client = Client()
    client.force_login(_user(django_user_model, "viewer", "view_contact"))
    return client


@pytest.fixture
def manager_client(db, django_user_model):
    """A non-superuser who runs the integration (syncs, mappings) but has no contact rights."""
    client = Client()
    client.force_login(_user(django_user_model, "manager", "manage_connection"))
    return client
