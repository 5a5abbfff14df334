"""Create the example site's pages, so a fresh `migrate` gives a working site."""

from django.db import migrations

HOME_INTRO = (
    "<p>We look after the tax, accounts and advice of businesses, trusts and families. "
    "Our client list lives in Xero Practice Manager; this site stays in step with it.</p>"
)
CONTACT_INTRO = "<p>Tell us about your business and an accountant will be in touch.</p>"


def create_pages(apps, schema_editor):
    ContentType = apps.get_model("contenttypes.ContentType")
    Page = apps.get_model("wagtailcore.Page")
    Site = apps.get_model("wagtailcore.Site")
    HomePage = apps.get_model("home.HomePage")
    ContactPage = apps.get_model("home.ContactPage")

    # Replace Wagtail's default welcome page (its Site goes with it).
    page_type = ContentType.objects.get(model="page", app_label="wagtailcore")
    Page.objects.filter(content_type=page_type, slug="home", depth=2).delete()

    home_type, _ = ContentType.objects.get_or_create(model="homepage", app_label="home")
    contact_type, _ = ContentType.objects.get_or_create(model="contactpage", app_label="home")
    home = HomePage.objects.create(
        title="Example Accounting",
        draft_title="Example Accounting",
        slug="home",
        content_type=home_type,
        path="00010001",
        depth=2,
        numchild=1,
        url_path="/home/",
        intro=HOME_INTRO,
    )
    ContactPage.objects.create(
        title="Contact us",
        draft_title="Contact us",
        slug="contact",
        content_type=contact_type,
        path="000100010001",
        depth=3,
        numchild=0,
        url_path="/home/contact/",
        intro=CONTACT_INTRO,
    )
    Site.objects.create(
        hostname="localhost",
        port=80,
        site_name="Example Accounting",
        root_page=home,
        is_default_site=True,
    )


def remove_pages(apps, schema_editor):
    ContentType = apps.get_model("contenttypes.ContentType")
    HomePage = apps.get_model("home.HomePage")
    HomePage.objects.filter(slug="home", depth=2).delete()
    ContentType.objects.filter(app_label="home", model__in=["homepage", "contactpage"]).delete()


class Migration(migrations.Migration):
    run_before = [("wagtailcore", "0053_locale_model")]

    dependencies = [("home", "0001_initial")]

    operations = [migrations.RunPython(create_pages, remove_pages)]
