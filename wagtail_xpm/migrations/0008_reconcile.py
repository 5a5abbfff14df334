import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_xpm", "0007_campaign_paused"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="reconcile",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="reconcile_completed",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="clients_missing",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="xpmsitesettings",
            name="reconcile_every_days",
            field=models.PositiveIntegerField(
                default=7,
                help_text=(
                    "A light check of XPM's client list (base fields only) that finds clients "
                    "deleted in XPM. Syncs in between read only the clients changed in XPM."
                ),
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(90),
                ],
                verbose_name="check for clients deleted in XPM every (days)",
            ),
        ),
    ]
