from django.db import migrations


class Migration(migrations.Migration):
    """The "export contacts" and "run syncs" capabilities (docs/permissions.md)."""

    dependencies = [
        ("wagtail_xpm", "0009_email_suppression"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="contact",
            options={
                "ordering": ["name", "pk"],
                "permissions": [("export_contact", "Can export contacts")],
                "verbose_name": "contact",
            },
        ),
        migrations.AlterModelOptions(
            name="xpmconnection",
            options={
                "permissions": [
                    ("manage_connection", "Can connect and disconnect Xero Practice Manager"),
                    ("run_sync", "Can run syncs and see the sync history"),
                ],
                "verbose_name": "XPM connection",
                "verbose_name_plural": "XPM connections",
            },
        ),
    ]
