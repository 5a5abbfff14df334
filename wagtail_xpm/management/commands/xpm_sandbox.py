"""``manage.py xpm_sandbox``: run the local XPM emulator (design.md 4.2).

It imports only ``wagtail_xpm.sandbox``: the emulator needs no database, so it can run
beside a site that points at it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from wagtail_xpm.sandbox import cli


class Command(BaseCommand):
    help = (
        "Run the local XPM 3.1 + Xero identity emulator with a generated (or --state) "
        "practice, and print the settings that point a site at it."
    )
    # The sandbox has no models and must start even while the site has pending migrations.
    requires_migrations_checks = False
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        cli.run(options, out=self.stdout)
