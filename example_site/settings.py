"""Settings for the example site: everything from the environment, sandbox by default.

With no environment at all the site uses SQLite, SqliteHuey and the local XPM sandbox on
loopback (``manage.py xpm_sandbox``), so ``make demo`` works on a fresh clone.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", PROJECT_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)
# Published in this repository: anyone could sign sessions and campaign unsubscribe links with
# it. The demo (DEBUG on) may use it; a site with DEBUG off refuses to start with it.
PUBLIC_SECRET_KEY = "example-site-insecure-development-key"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or PUBLIC_SECRET_KEY
if not DEBUG and SECRET_KEY == PUBLIC_SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set, and DEBUG is off: the example site will not run in "
        "production with the public development key. Set DJANGO_SECRET_KEY to a long random "
        "value (docs/production.md)."
    )
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "example_site.home",
    "wagtail_xpm",
    "slackbot",
    "anymail",
    "wagtail.contrib.settings",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "huey.contrib.djhuey",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "example_site.urls"
WSGI_APPLICATION = "example_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'example_site.sqlite3'}", conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Let concurrent writers (web + Huey consumer) wait instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Wagtail's database search backend uses PostgreSQL's full-text fields there, and since
    # Django 6.0 their system check requires django.contrib.postgres (postgres.E005).
    INSTALLED_APPS.append("django.contrib.postgres")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-au"
TIME_ZONE = os.environ.get("TIME_ZONE", "Australia/Sydney")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# The site's own stylesheet (example_site/static/site.css) is not in an app.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"

# Email: SMTP on EMAIL_HOST:EMAIL_PORT (from the environment). Django 6.1 configures backends
# in MAILERS and deprecates EMAIL_BACKEND/EMAIL_HOST/...; 5.2 and 6.0 know only the latter.
EMAIL_OPTIONS = {
    "host": os.environ.get("EMAIL_HOST", "localhost"),
    "port": int(os.environ.get("EMAIL_PORT", "25")),
    # A mail server that stops answering must not hold a worker for ever.
    "timeout": int(os.environ.get("EMAIL_TIMEOUT", "20")),
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# The site's sender (a campaign may set its own From).
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "Example Accounting <hello@example-accounting.test>"
)
# Or an email service provider through django-anymail: EMAIL_ESP=mailgun (postmark,
# amazon_ses, sendgrid, brevo...) and its settings as ANYMAIL_<NAME> variables, e.g.
# ANYMAIL_MAILGUN_API_KEY, ANYMAIL_MAILGUN_SENDER_DOMAIN, ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY
# (docs/segments-and-campaigns.md). Bounces and complaints come back to /anymail/.
EMAIL_ESP = os.environ.get("EMAIL_ESP", "").strip().lower()
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}
if EMAIL_ESP:
    MAIL_BACKEND, MAIL_OPTIONS = f"anymail.backends.{EMAIL_ESP}.EmailBackend", {}
else:
    MAIL_BACKEND, MAIL_OPTIONS = SMTP_BACKEND, EMAIL_OPTIONS
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": MAIL_BACKEND, "OPTIONS": MAIL_OPTIONS}}
else:
    EMAIL_BACKEND = MAIL_BACKEND
    EMAIL_HOST = EMAIL_OPTIONS["host"]
    EMAIL_PORT = EMAIL_OPTIONS["port"]
    EMAIL_TIMEOUT = EMAIL_OPTIONS["timeout"]

WAGTAIL_SITE_NAME = "Example Accounting"
# Editors' avatars come from Wagtail itself, not gravatar.com (no third-party request per
# admin page, and no broken image where the admin has no internet access).
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://localhost:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "wagtail_xpm",
        "url": REDIS_URL,
        "immediate": False,
        # Nothing reads task results; storing them would only fill Redis.
        "results": False,
        "consumer": {"workers": 4, "worker_type": "thread"},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "wagtail_xpm",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
        "results": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

# Default: the local sandbox started by `manage.py xpm_sandbox` (see `make demo`).
SANDBOX_URL = os.environ.get("XPM_SANDBOX_URL", "http://127.0.0.1:8765").rstrip("/")


def xpm_env(name: str, default: str | None) -> str | None:
    return os.environ.get(f"XPM_{name}", default)


_sandbox_default = not os.environ.get("XPM_CLIENT_ID")
WAGTAIL_XPM = {
    "CLIENT_ID": xpm_env("CLIENT_ID", "sandbox-client-id"),
    "CLIENT_SECRET": xpm_env(
        "CLIENT_SECRET", "sandbox-client-secret" if _sandbox_default else None
    ),
    "AUTHORIZE_URL": xpm_env(
        "AUTHORIZE_URL",
        f"{SANDBOX_URL}/identity/connect/authorize"
        if _sandbox_default
        else "https://login.xero.com/identity/connect/authorize",
    ),
    "TOKEN_URL": xpm_env(
        "TOKEN_URL",
        f"{SANDBOX_URL}/connect/token"
        if _sandbox_default
        else "https://identity.xero.com/connect/token",
    ),
    "REVOKE_URL": xpm_env(
        "REVOKE_URL",
        f"{SANDBOX_URL}/connect/revocation"
        if _sandbox_default
        else "https://identity.xero.com/connect/revocation",
    ),
    "CONNECTIONS_URL": xpm_env(
        "CONNECTIONS_URL",
        f"{SANDBOX_URL}/connections" if _sandbox_default else "https://api.xero.com/connections",
    ),
    "API_URL": xpm_env(
        "API_URL",
        f"{SANDBOX_URL}/practicemanager/3.1/"
        if _sandbox_default
        else "https://api.xero.com/practicemanager/3.1/",
    ),
    "TOKEN_KEYS": xpm_env("TOKEN_KEYS", ""),
    "REDIRECT_URI": xpm_env("REDIRECT_URI", None),
    "RATE_LIMIT_REDIS_URL": REDIS_URL or None,
}
if xpm_env("SCOPES", None):
    WAGTAIL_XPM["SCOPES"] = xpm_env("SCOPES", "")

SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
SLACK_BOT_TOKEN = os.environ.get("SLACK_BOT_TOKEN", "")
SLACK_APP_TOKEN = os.environ.get("SLACK_APP_TOKEN", "")
SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/")
# The Slack bot (docs/slack.md): where notifications go, and who may use it. Deny by
# default: with no SLACK_ALLOWED_TEAM_IDS every request is refused.
SLACK_NOTIFY_CHANNEL = os.environ.get("SLACK_NOTIFY_CHANNEL", "")
SLACK_ALLOWED_TEAM_IDS = [
    t.strip() for t in os.environ.get("SLACK_ALLOWED_TEAM_IDS", "").split(",") if t.strip()
]
SLACK_ALLOWED_CHANNEL_IDS = [
    c.strip() for c in os.environ.get("SLACK_ALLOWED_CHANNEL_IDS", "").split(",") if c.strip()
]
# Optional: the Wagtail site the bot works on (hostname); the default site otherwise.
SLACK_SITE_HOSTNAME = os.environ.get("SLACK_SITE_HOSTNAME", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "wagtail_xpm": {"handlers": ["console"], "level": os.environ.get("XPM_LOG_LEVEL", "INFO")},
        "huey": {"handlers": ["console"], "level": "INFO"},
        "slackbot": {"handlers": ["console"], "level": os.environ.get("XPM_LOG_LEVEL", "INFO")},
    },
}
