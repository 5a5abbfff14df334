import pytest

from tests.segments.segment_factories import Practice, make_connection
from wagtail_xpm.models import Campaign, Segment


@pytest.fixture
def practice(default_site):
    """A connected practice with the test mappings and no contacts yet."""
    return Practice(make_connection(default_site))


@pytest.fixture
def make_campaign(practice):
    """A campaign to a segment of ``practice`` (everyone by default)."""

    def make(rules=None, **fields) -> Campaign:
        segment = fields.pop("segment", None) or Segment.objects.create(
            connection=practice.connection,
            name=f"Segment {Segment.objects.count() + 1}",
            rules=rules or [],
        )
        values = {
            "name": "June newsletter",
            "subject": "Hello {{ first_name|there }}",
            "from_email": "Example Accounting <news@example.com>",
            "body": "<p>Dear {{ first_name|client }},</p><p>Your balance month is "
            "{{ balance_month }}.</p>",
            **fields,
        }
        return Campaign.objects.create(connection=practice.connection, segment=segment, **values)

    return make


@pytest.fixture
def mail_server():
    """A real SMTP server on loopback that keeps what it is sent, with faults to arm."""
    from wagtail_xpm.sandbox.mail import MailCatcher

    with MailCatcher() as catcher:
        yield catcher


@pytest.fixture
def use_smtp(settings):
    """``use_smtp(port, **options)``: send through Django's SMTP backend to 127.0.0.1:port
    (``MAILERS`` on Django 6.1+, the ``EMAIL_*`` settings before), as a real site does."""
    from wagtail_xpm import mailer

    smtp = "django.core.mail.backends.smtp.EmailBackend"

    def use(port: int, *, timeout: float = 5, username: str = "", password: str = "") -> None:
        if mailer.has_mailers():
            options = {"host": "127.0.0.1", "port": port, "timeout": timeout}
            if username:
                options.update(username=username, password=password)
            settings.MAILERS = {"default": {"BACKEND": smtp, "OPTIONS": options}}
        else:
            settings.EMAIL_BACKEND = smtp
            settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
            settings.EMAIL_TIMEOUT = timeout
            settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = username, password

    return use


@pytest.fixture
def heard():
    """Every ``wagtail_xpm.notifications`` event sent during the test: (event, data)."""
    from wagtail_xpm import notifications

    events: list[tuple[str, dict]] = []

    def listen(event, **data):
        events.append((event, data))

    notifications.subscribe(listen)
    yield events
    notifications.unsubscribe(listen)


MAILGUN_KEY = "key-standin-0123456789"
MAILGUN_SIGNING_KEY = "whsk-standin-signing-key"


@pytest.fixture
def esp():
    """Mailgun's send API stood in on loopback (wagtail_xpm/sandbox/esp.py)."""
    from wagtail_xpm.sandbox.esp import MailgunStandIn

    stand_in = MailgunStandIn(api_key=MAILGUN_KEY)
    with stand_in.serve() as server:
        stand_in.url = server.url
        yield stand_in


@pytest.fixture
def use_mailgun(settings):
    """``use_mailgun(api_url)``: send through django-anymail's Mailgun backend, as a site
    configured for Mailgun does, with its tracking webhook signing key."""
    from wagtail_xpm import mailer

    backend = "anymail.backends.mailgun.EmailBackend"

    def use(api_url: str, *, api_key: str = MAILGUN_KEY) -> None:
        settings.ANYMAIL = {
            "MAILGUN_API_KEY": api_key,
            "MAILGUN_API_URL": api_url,
            "MAILGUN_SENDER_DOMAIN": "mg.example.com",
            "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
            "REQUESTS_TIMEOUT": 5,
        }
        if mailer.has_mailers():
            settings.MAILERS = {"default": {"BACKEND": backend}}
        else:
            settings.EMAIL_BACKEND = backend

    return use
