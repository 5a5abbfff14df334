"""The module Huey's consumer (``run_huey``) autodiscovers for the app, and ``apps.py``
imports in every process: each feature's Huey tasks (its ``tasks.py`` adapter), so they are
registered with Huey and with ``background.py``. Imports only; the tasks live with their
features (docs/architecture.md)."""

from .campaigns import tasks as campaign_tasks  # noqa: F401
from .connection import tasks as connection_tasks  # noqa: F401
from .consent import tasks as consent_tasks  # noqa: F401
from .contacts import tasks as contact_tasks  # noqa: F401
from .leads import tasks as lead_tasks  # noqa: F401
from .sync import tasks as sync_tasks  # noqa: F401
