"""Saving and loading a practice as JSON (``--state FILE``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .codec import from_jsonable, to_jsonable
from .state import PracticeState

FORMAT = "wagtail-xpm-sandbox"
VERSION = 1


def dump_state(state: PracticeState) -> dict[str, Any]:
    """The practice as a JSON-ready document."""
    return {"format": FORMAT, "version": VERSION, "state": to_jsonable(state)}


def restore_state(document: dict[str, Any]) -> PracticeState:
    """The practice from ``dump_state`` output."""
    if document.get("format") != FORMAT:
        raise ValueError("not a wagtail-xpm sandbox state file")
    if document.get("version") != VERSION:
        raise ValueError(f"unsupported sandbox state version {document.get('version')!r}")
    return from_jsonable(PracticeState, document["state"])


def write_document(document: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write atomically, so a crash mid-save never leaves half a state file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a state file."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
