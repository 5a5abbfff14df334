from django.db import models
from modelcluster.fields import ParentalKey
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from wagtail_xpm.leads.blocks import LeadFormBlock
from wagtail_xpm.leads.pages import LeadFormPageMixin


class HomePage(Page):
    intro = RichTextField(blank=True)
    body = StreamField(
        [
            ("paragraph", blocks.RichTextBlock()),
            ("lead_form", LeadFormBlock()),
        ],
        blank=True,
    )

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]


class ContactFormField(AbstractFormField):
    page = ParentalKey("ContactPage", on_delete=models.CASCADE, related_name="form_fields")


class ContactPage(LeadFormPageMixin, AbstractEmailForm):
    """The contact page: a form-builder page whose enquiries become XPM leads."""

    content_panels = [
        *AbstractEmailForm.content_panels,
        *LeadFormPageMixin.lead_content_panels,
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("from_address"), FieldPanel("to_address")]),
                FieldPanel("subject"),
            ],
            heading="Email a copy of each enquiry (optional)",
        ),
    ]
    parent_page_types = ["home.HomePage"]
