"""Give the example site a working lead form: /contact/'s fields, and a form block on the home page.

The contact form's field names are the public contract of docs/contracts.md 4.4: ``name``, ``email``,
``phone``, ``message``, plus the marketing-consent checkbox ``consent``.
"""

import uuid

from django.db import migrations

CONTACT_FIELDS = [
    # (clean_name, label, field_type, required, help_text)
    ("name", "Your name", "singleline", True, ""),
    ("email", "Email", "email", True, ""),
    ("phone", "Phone", "singleline", False, "So we can call you back, if you prefer."),
    ("message", "How can we help?", "multiline", True, ""),
    (
        "consent",
        "Send me occasional news and tips by email",
        "checkbox",
        False,
        "You can unsubscribe at any time.",
    ),
]
THANK_YOU = (
    "<p>Thank you for getting in touch. One of our accountants will contact you within one "
    "business day.</p>"
)
HOME_FORM_BLOCK = {
    "heading": "Ask a quick question",
    "intro": "<p>Not sure where to start? Send us a line and we will point you the right way.</p>",
    "show_phone": False,
    "show_company": True,
    "consent_label": "Send me occasional news and tips by email",
    "button_label": "Ask us",
    "thank_you_text": "<p>Thanks! We will reply by email shortly.</p>",
    "send_to_xpm": True,
}


def create_form(apps, schema_editor):
    ContactPage = apps.get_model("home.ContactPage")
    ContactFormField = apps.get_model("home.ContactFormField")
    HomePage = apps.get_model("home.HomePage")
    for page in ContactPage.objects.all():
        if not ContactFormField.objects.filter(page=page).exists():
            for order, (clean_name, label, field_type, required, help_text) in enumerate(
                CONTACT_FIELDS
            ):
                ContactFormField.objects.create(
                    page=page,
                    sort_order=order,
                    clean_name=clean_name,
                    label=label,
                    field_type=field_type,
                    required=required,
                    help_text=help_text,
                )
        page.name_field, page.email_field = "name", "email"
        page.phone_field, page.message_field, page.consent_field = "phone", "message", "consent"
        page.thank_you_text = THANK_YOU
        page.save()
    for home in HomePage.objects.all():
        if not home.body:
            home.body = [{"type": "lead_form", "value": HOME_FORM_BLOCK, "id": str(uuid.uuid4())}]
            home.save()


def remove_form(apps, schema_editor):
    apps.get_model("home.ContactFormField").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("home", "0003_lead_form_page")]

    operations = [migrations.RunPython(create_form, remove_form)]
