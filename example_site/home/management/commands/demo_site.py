"""Point the default Wagtail Site at the address the demo serves (``make demo``)."""

from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from wagtail.models import Site


class Command(BaseCommand):
    help = (
        "Set the default site's hostname and port from --url, so that the links the site "
        "puts in emails, Slack messages and XPM leads open the demo."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="e.g. http://127.0.0.1:8000")

    def handle(self, *args, **options):
        parts = urlsplit(options["url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CommandError("--url must be an http(s) address, e.g. http://127.0.0.1:8000")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            raise CommandError("There is no default site; run migrate first.")
        site.hostname, site.port = parts.hostname, port
        site.save(update_fields=["hostname", "port"])
        self.stdout.write(f"The default site is now {site.root_url}.")
