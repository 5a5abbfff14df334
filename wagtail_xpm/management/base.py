"""Shared pieces of the xpm_* management commands (docs/contracts.md 4.2)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from wagtail.models import Site


class XpmCommand(BaseCommand):
    """Adds ``--site HOST`` (default: the default Wagtail site) to a command."""

    def add_arguments(self, parser):
        parser.add_argument(
            "--site",
            metavar="HOST",
            help="Hostname (optionally host:port) of the Wagtail site; default: the default site.",
        )

    def get_site(self, host: str | None) -> Site:
        if not host:
            site = Site.objects.filter(is_default_site=True).first()
            if site is None:
                raise CommandError("There is no default Wagtail site; pass --site HOST.")
            return site
        hostname, _, port = host.partition(":")
        sites = Site.objects.filter(hostname=hostname)
        if port:
            sites = sites.filter(port=int(port))
        site = sites.first()
        if site is None:
            raise CommandError(f"No Wagtail site with hostname {host!r}.")
        return site
