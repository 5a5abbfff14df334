"""Settings for Huey consumers started by the reliability tests (``manage.py run_huey``).

The test settings, but with a real queue shared by the consumers and the test (Redis when
REDIS_URL is set, else a SqliteHuey file), the test's database (DATABASE_URL, read by the
example site's settings) and the test's sandbox. Everything comes from the environment the
test sets: XPM_TEST_HUEY_NAME, XPM_TEST_HUEY_FILE, XPM_TEST_SANDBOX_URL.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import REDIS_URL, WAGTAIL_XPM

# One task at a time per consumer, polling fast, and no periodic tasks (the scheduler
# would queue syncs of its own).
_consumer = {
    "workers": 1,
    "worker_type": "thread",
    "periodic": False,
    "initial_delay": 0.05,
    "backoff": 1.0,
    "max_delay": 0.05,
}
_queue = os.environ["XPM_TEST_HUEY_NAME"]
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": _queue,
        "url": REDIS_URL,
        "immediate": False,
        "results": True,  # the test reads what each task returned
        "consumer": _consumer,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": _queue,
        "filename": os.environ["XPM_TEST_HUEY_FILE"],
        "immediate": False,
        "results": True,
        "consumer": _consumer,
    }

_sandbox = os.environ["XPM_TEST_SANDBOX_URL"].rstrip("/")
WAGTAIL_XPM = {
    **WAGTAIL_XPM,
    "AUTHORIZE_URL": f"{_sandbox}/identity/connect/authorize",
    "TOKEN_URL": f"{_sandbox}/connect/token",
    "REVOKE_URL": f"{_sandbox}/connect/revocation",
    "CONNECTIONS_URL": f"{_sandbox}/connections",
    "API_URL": f"{_sandbox}/practicemanager/3.1/",
}
