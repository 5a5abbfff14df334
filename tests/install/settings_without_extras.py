"""The test settings without the Slack bot: a site that installed wagtail-xpm without the
``slack`` and ``sandbox`` extras (test_optional_extras.py)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "slackbot"]
ROOT_URLCONF = "tests.install.urls_without_extras"
