"""Share opt-outs with the sandbox practice's "Marketing opt-out" checkbox (``make demo``)."""

from django.core.management.base import BaseCommand, CommandError
from wagtail.models import Site

from wagtail_xpm import services
from wagtail_xpm.consent.xpm_optout import is_opt_out_definition
from wagtail_xpm.models import XpmConnection, XpmSiteSettings
from wagtail_xpm.xpm.errors import XpmError


class Command(BaseCommand):
    help = (
        "Read the connected practice's custom fields and choose the contact checkbox named "
        "--name as the default site's XPM opt-out field (docs/privacy.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", default="Marketing opt-out")

    def handle(self, *args, **options):
        site = Site.objects.filter(is_default_site=True).first()
        connection = XpmConnection.objects.filter(site=site).first() if site else None
        if connection is None or not connection.is_usable:
            raise CommandError("The default site is not connected to XPM; connect it first.")
        try:
            definitions = services.refresh_custom_field_definitions(connection)
        except XpmError as exc:
            # Not worth stopping the demo for: opt-outs just stay on the website.
            self.stderr.write(f"Could not read XPM's custom fields ({exc}): not shared.")
            return
        wanted = options["name"].strip().casefold()
        field = next(
            (
                d
                for d in definitions
                if d.name.strip().casefold() == wanted and is_opt_out_definition(d)
            ),
            None,
        )
        if field is None:
            # An older saved sandbox practice may predate the field: the demo goes on.
            self.stdout.write(
                f"XPM has no contact checkbox named “{options['name']}”: opt-outs are not "
                "shared with XPM (choose a field in the Xero Practice Manager settings; a "
                "sandbox practice saved before the field existed starts afresh once "
                "var/sandbox-state.json is deleted)."
            )
            return
        site_settings = XpmSiteSettings.for_site(site)
        site_settings.xpm_opt_out_field_uuid = field.uuid
        site_settings.xpm_opt_out_field_name = field.name
        site_settings.save(update_fields=["xpm_opt_out_field_uuid", "xpm_opt_out_field_name"])
        self.stdout.write(f"Opt-outs are shared with XPM's “{field.name}” contact checkbox.")
