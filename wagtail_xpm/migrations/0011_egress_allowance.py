import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_xpm", "0010_access_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="xpmsitesettings",
            name="egress_allowance_gb",
            field=models.DecimalField(
                blank=True,
                decimal_places=1,
                help_text=(
                    "The data egress your Xero plan includes each month (the Advanced tier: "
                    "250 GB), or the part of it this site may use. The Xero Practice Manager "
                    "page warns before the month's downloads reach it. Empty: no warning."
                ),
                max_digits=9,
                null=True,
                validators=[django.core.validators.MinValueValidator(0)],
                verbose_name="monthly XPM download allowance (GB)",
            ),
        ),
        migrations.AddField(
            model_name="xpmsitesettings",
            name="egress_allowance_shared",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "On for an agency hosting several firms on one Xero app: the allowance is "
                    "compared with all sites' downloads together."
                ),
                verbose_name="allowance shared by all sites",
            ),
        ),
    ]
