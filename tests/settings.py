"""Test settings: the example site, with Huey in immediate mode and a fixed token key."""

import os

# Each pytest-xdist worker (`make test-fast` runs three) keeps its files (media, exports) apart.
os.environ.setdefault(
    "VAR_DIR",
    os.path.join(
        os.path.dirname(__file__), "..", "var", "test", os.environ.get("PYTEST_XDIST_WORKER", "")
    ),
)

from example_site.settings import *  # noqa: E402,F403
from example_site.settings import WAGTAIL_XPM  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Real Huey, running tasks in-process as they are enqueued (MemoryHuey storage).
HUEY = {"huey_class": "huey.MemoryHuey", "name": "wagtail_xpm_tests", "immediate": True}

WAGTAIL_XPM = {
    **WAGTAIL_XPM,
    "CLIENT_ID": "sandbox-client-id",
    "CLIENT_SECRET": "sandbox-client-secret",
    # Fixed test key (never used outside tests).
    "TOKEN_KEYS": ["hQ3p0sRk6c1tq0wZ2yQmK3p8S6u0p2l4d9Y1x7V5b3E="],
    # The suite makes many calls to its sandbox; the limiter itself is tested on its own.
    "CALLS_PER_MINUTE": 100_000,
    "MAX_RETRY_SLEEP": 0.2,
}
