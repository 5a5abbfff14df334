"""As `make demo` runs it: the confirmation email goes over SMTP to the sandbox's mail
catcher and shows at /_sandbox/mail/, and its link confirms on the site."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client

from wagtail_xpm import mailer
from wagtail_xpm.models import Contact
from wagtail_xpm.sandbox import Sandbox
from wagtail_xpm.sandbox.mail import Mailbox, MailCatcher
from wagtail_xpm.sandbox.mailpages import MailApp

pytestmark = pytest.mark.django_db


@pytest.fixture
def catcher(tmp_path, settings):
    sandbox = Sandbox.generate(clients=3, seed=1)
    with MailCatcher(mailbox=Mailbox(tmp_path / "mail")) as caught:
        sandbox.wsgi_app.mail = MailApp(caught)
        smtp = "django.core.mail.backends.smtp.EmailBackend"
        if mailer.has_mailers():
            settings.MAILERS = {
                "default": {
                    "BACKEND": smtp,
                    "OPTIONS": {"host": caught.host, "port": caught.port, "timeout": 5},
                }
            }
        else:
            settings.EMAIL_BACKEND = smtp
            settings.EMAIL_HOST, settings.EMAIL_PORT = caught.host, caught.port
            settings.EMAIL_TIMEOUT = 5
        with sandbox.serve() as server:
            yield caught, server.url


def test_the_confirmation_email_shows_in_the_demos_mail_catcher(practice, send_form, catcher):
    caught, url = catcher
    send_form(name="Priya", email="priya@natarajan.example", message="Hi", consent="on")

    listing = requests.get(f"{url}/_sandbox/mail/", timeout=5)
    assert listing.status_code == 200
    assert "Please confirm you want emails from Example Accounting" in listing.text
    [message] = caught.mailbox.to("priya@natarajan.example")
    [link] = re.findall(r"http://[^\s\"<>]+/xpm/leads/confirm/[^\s\"<>/]+/", message.text)
    assert link in message.html

    Client().post(urlsplit(link).path)
    assert Contact.objects.get(email_key="priya@natarajan.example").subscribed is True
