"""``manage.py xpm_sandbox``: run the local XPM emulator (docs/contracts.md 4.2).

It imports only ``wagtail_xpm.sandbox`` (the ``sandbox`` extra): the emulator needs no
database, so it can run beside a site that points at it.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run the local XPM 3.1 + Xero identity emulator with a generated (or --state) "
        "practice, and print the settings that point a site at it."
    )
    # The sandbox has no models and must start even while the site has pending migrations.
    requires_migrations_checks = False
    requires_system_checks: list[str] = []

    def run_from_argv(self, argv: list[str]) -> None:
        # The parser needs the sandbox's options, so a missing extra is reported before it.
        try:
            _cli()
        except CommandError as exc:
            self.stderr.write(str(exc))
            sys.exit(1)
        super().run_from_argv(argv)

    def add_arguments(self, parser: Any) -> None:
        _cli().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        _cli().run(options, out=self.stdout)


def _cli() -> Any:
    """The sandbox's CLI module, or a clear error naming the extra that brings its web stack."""
    try:
        from wagtail_xpm.sandbox import cli
    except ImportError as exc:
        raise CommandError(str(exc)) from exc
    return cli
