from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_xpm", "0005_leads"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="bytes_downloaded",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="usage",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
