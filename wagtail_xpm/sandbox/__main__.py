"""``python -m wagtail_xpm.sandbox``: run the emulator without Django."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
