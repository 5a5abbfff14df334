"""Settings of bench/tenants.py and of the Huey consumers it starts: the test settings with
the production queue (``PriorityRedisHuey``), the shared Redis rate limiter and XPM's real
budgets, pointed at the bench's sandbox front end (``BENCH_TENANTS_URL``)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import WAGTAIL_XPM

HUEY = {
    "huey_class": "huey.PriorityRedisHuey",
    "name": os.environ.get("BENCH_TENANTS_QUEUE", "bench_tenants"),
    "url": os.environ["REDIS_URL"],
    "immediate": False,
    "results": True,  # the bench reads when each short task finished
    "consumer": {"workers": 4, "worker_type": "thread"},
}

_url = os.environ.get("BENCH_TENANTS_URL", "http://127.0.0.1:1").rstrip("/")
WAGTAIL_XPM = {
    **WAGTAIL_XPM,
    "AUTHORIZE_URL": f"{_url}/identity/connect/authorize",
    "TOKEN_URL": f"{_url}/connect/token",
    "REVOKE_URL": f"{_url}/connect/revocation",
    "CONNECTIONS_URL": f"{_url}/connections",
    "API_URL": f"{_url}/practicemanager/3.1/",
    # XPM's real budgets, shared by every process (the defaults of wagtail_xpm/conf.py).
    "RATE_LIMIT_REDIS_URL": os.environ["REDIS_URL"],
    "CALLS_PER_MINUTE": 55,
    "APP_CALLS_PER_MINUTE": int(os.environ.get("BENCH_TENANTS_APP_LIMIT", "10000")),
    "MAX_RETRY_SLEEP": 65.0,
}
