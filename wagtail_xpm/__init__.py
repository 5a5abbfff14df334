"""Xero Practice Manager (XPM) integration for Wagtail: sync, leads, segments and campaigns.

See README.md and docs/architecture.md. The version below is the only place it is written:
pyproject.toml reads it (``[tool.setuptools.dynamic]``).
"""

__version__ = "0.2.0"
