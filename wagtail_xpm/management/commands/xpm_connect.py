"""Headless connect: exchange a refresh token and store the encrypted token set."""

from __future__ import annotations

from django.core.management.base import CommandError

from ... import services
from ...xpm.errors import XpmError
from ..base import XpmCommand


class Command(XpmCommand):
    help = (
        "Connect a site to Xero Practice Manager with a refresh token (for servers without a "
        "browser): the token is exchanged at TOKEN_URL and the Practice Manager tenant is "
        "found at CONNECTIONS_URL."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--refresh-token", required=True, metavar="T")
        parser.add_argument("--tenant-id", metavar="ID", help="Pick this practice if several.")

    def handle(self, *args, **options):
        site = self.get_site(options["site"])
        try:
            connection = services.connect_with_refresh_token(
                site=site, refresh_token=options["refresh_token"], tenant_id=options["tenant_id"]
            )
        except XpmError as exc:
            raise CommandError(f"Could not connect: {exc}") from exc
        if connection.status == connection.Status.CHOOSE_TENANT:
            names = ", ".join(
                f"{t['name']} ({t['tenant_id']})" for t in connection.available_tenants
            )
            raise CommandError(f"Several practices were granted; rerun with --tenant-id: {names}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{site} is connected to {connection.tenant_name} ({connection.tenant_id})."
            )
        )
