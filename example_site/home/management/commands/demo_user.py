"""Create (or reset) the demo superuser that `make demo` prints."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create or reset the example site's demo superuser."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="admin@example.com")

    def handle(self, *args, **options):
        user, created = get_user_model().objects.get_or_create(
            username=options["username"],
            defaults={"email": options["email"], "first_name": "Demo", "last_name": "Admin"},
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(options["password"])
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(f"{verb} demo superuser {user.get_username()!r}.")
