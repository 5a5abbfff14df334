"""A migrated SQLite test database kept as a template, so a run migrates once, not once per
pytest-xdist worker and per run.

Migrating the example site's apps takes about 9 s of CPU on a quiet machine. The first run
(or worker) that finds no template migrates as usual and copies the result into
``var/test/db-template/<fingerprint>.sqlite3``; the others let Django create the tables
from the models without migrations (the documented ``TEST["MIGRATE"] = False``, about a
second) and then copy the template over them with SQLite's backup API, so every test still
starts from exactly what the migrations made (data migrations included).

The fingerprint covers every migration, the project's models, app configs and settings, and
the versions of every installed distribution: any change there migrates afresh.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from contextlib import closing, suppress
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "var" / "test" / "db-template"
PROJECT_PACKAGES = ("wagtail_xpm", "slackbot", "example_site")
# What a migrated database depends on beside the migrations (which import models; the
# project has no post_migrate handlers): editing a view or a task keeps the template.
SHAPES_THE_DATABASE = ("**/models.py", "**/models/*.py", "**/apps.py")
SETTINGS = ("example_site/settings.py", "tests/settings.py")
STALE_AFTER = 24 * 3600  # seconds


def applies(settings_dict: dict) -> bool:
    """Only the SQLite in-memory test database of a plain run is templated."""
    test_name = (settings_dict.get("TEST") or {}).get("NAME")
    return settings_dict["ENGINE"].endswith("sqlite3") and test_name in (None, "", ":memory:")


def fingerprint() -> str:
    from django.apps import apps

    digest = hashlib.sha256()
    for dist in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"] or ""):
        digest.update(f"{dist.metadata['Name']}=={dist.version}\n".encode())
    files = {
        path
        for package in PROJECT_PACKAGES
        for pattern in SHAPES_THE_DATABASE
        for path in (ROOT / package).glob(pattern)
    }
    files.update(ROOT / name for name in SETTINGS)
    for app_config in apps.get_app_configs():
        files.update((Path(app_config.path) / "migrations").glob("*.py"))
    for path in sorted(files):
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def template_path() -> Path:
    return TEMPLATES / f"{fingerprint()}.sqlite3"


def save(connection, template: Path) -> None:
    """Copy the freshly migrated test database into ``template`` (atomically: another
    worker may be reading or writing the same one)."""
    TEMPLATES.mkdir(parents=True, exist_ok=True)
    partial = template.with_suffix(f".{os.getpid()}.partial")
    with connection.cursor() as cursor, closing(sqlite3.connect(partial)) as target:
        cursor.connection.backup(target)
    os.replace(partial, template)
    # Older templates go, but not one that another run (another stack in the same checkout)
    # may be about to read.
    for old in TEMPLATES.glob("*.sqlite3"):
        with suppress(FileNotFoundError):
            if old != template and time.time() - old.stat().st_mtime > STALE_AFTER:
                old.unlink()


def restore(connection, template: Path) -> None:
    """Replace the test database's content with the template's."""
    os.utime(template)  # in use: not stale
    source = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
    with closing(source), connection.cursor() as cursor:
        source.backup(cursor.connection)
