"""A faithful local emulator of the XPM v3.1 API and Xero's identity endpoints.

It imports neither the XPM client (``wagtail_xpm.xpm``) nor Django, so it runs standalone
(``python -m wagtail_xpm.sandbox`` / ``manage.py xpm_sandbox``) and in-process in tests::

    from wagtail_xpm.sandbox import Sandbox

    sb = Sandbox.generate(clients=25, seed=1)
    with sb.serve() as server:
        tokens = sb.issue_tokens()
        ...  # point the client at server.url
"""

from __future__ import annotations

from ._requires import MISSING_EXTRA  # first: names the extra when werkzeug is missing
from .clock import Clock
from .faults import Faults
from .generator import generate_practice
from .sandbox import Sandbox
from .server import ServerHandle
from .state import PracticeState

__all__ = [
    "MISSING_EXTRA",
    "Clock",
    "Faults",
    "PracticeState",
    "Sandbox",
    "ServerHandle",
    "generate_practice",
]
