"""What the Django benchmarks share: a throwaway database to measure on."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH_DIR = ROOT / "var" / "bench"


@contextmanager
def bench_database(
    name: str, *, keep: bool = False, settings_module: str = "tests.settings"
) -> Iterator[None]:
    """Django set up (test settings) on a database made for this run and removed after it.

    A SQLite file under ``var/bench/`` (kept with ``keep``), or, with ``DATABASE_URL`` set,
    a throwaway ``test_*`` database on that server: never the configured database itself.
    """
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db_file = BENCH_DIR / f"{name}-{os.getpid()}.sqlite3"
    own_sqlite = not os.environ.get("DATABASE_URL")
    if own_sqlite:
        os.environ["DATABASE_URL"] = f"sqlite:///{db_file}"
    os.environ.setdefault("VAR_DIR", str(BENCH_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.db import connection as db

    # Keep stderr for the bench's own progress lines.
    logging.getLogger("wagtail_xpm").setLevel(logging.WARNING)
    test_db = None
    try:
        if not own_sqlite:
            test_db = db.creation.create_test_db(verbosity=0, autoclobber=True)
        yield
    finally:
        if test_db is not None:
            db.creation.destroy_test_db(test_db, verbosity=0)
        db.close()
        if own_sqlite and not keep:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)


def sandbox_connection_settings(env: dict[str, str]) -> dict[str, str]:
    """The ``WAGTAIL_XPM`` keys that point a site at a sandbox, from its ``env_vars``."""
    keys = ("CLIENT_ID", "CLIENT_SECRET", "AUTHORIZE_URL", "TOKEN_URL", "REVOKE_URL")
    keys += ("CONNECTIONS_URL", "API_URL")
    return {key: env[f"XPM_{key}"] for key in keys}
