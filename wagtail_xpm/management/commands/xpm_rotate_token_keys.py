"""Re-encrypt stored Xero tokens with the newest TOKEN_KEYS entry."""

from django.core.management.base import BaseCommand

from ... import services


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Xero token set with the first key of WAGTAIL_XPM['TOKEN_KEYS']. "
        "Put the new key first, keep the old one after it, run this, then drop the old key."
    )

    def handle(self, *args, **options):
        count = services.rotate_token_keys()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} token set(s)."))
