"""The sandbox's web stack (werkzeug, waitress) is the optional ``sandbox`` extra.

Imported first by ``wagtail_xpm/sandbox/__init__.py``, so a site installed without the extra
gets one sentence naming it instead of a ``ModuleNotFoundError`` from deep inside. The
product itself never imports the sandbox.
"""

import importlib.util

MISSING_EXTRA = 'The XPM sandbox needs the "sandbox" extra: pip install "wagtail-xpm[sandbox]"'

if any(importlib.util.find_spec(name) is None for name in ("werkzeug", "waitress")):
    raise ImportError(MISSING_EXTRA)
