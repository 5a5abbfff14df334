"""wagtail-xpm without its optional extras: slack-bolt (``slack``), werkzeug and waitress
(``sandbox``). The app, its admin URLs and ``manage.py check`` work without them, and the
features that need them say which extra to install (docs/installing.md step 1).

Each case runs in a subprocess whose import system hides those packages, as if they were not
installed: ``importlib.util.find_spec`` finds nothing and ``import`` raises
``ModuleNotFoundError``. (A finder that raised ImportError itself would make ``find_spec``
raise too, which no missing package does.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HIDDEN = ("slack_bolt", "slack_sdk", "werkzeug", "waitress")
SANDBOX_MESSAGE = 'The XPM sandbox needs the "sandbox" extra: pip install "wagtail-xpm[sandbox]"'
SLACK_EXTRA = 'pip install "wagtail-xpm[slack]"'
WITHOUT_EXTRAS = "tests.install.settings_without_extras"

PRELUDE = textwrap.dedent(
    """
    import json, os, sys

    HIDDEN = set(json.loads(sys.argv[1]))


    class Hide:
        # Wraps a meta path finder; the hidden top-level packages are not found.
        def __init__(self, finder):
            self.finder = finder

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in HIDDEN:
                return None
            find = getattr(self.finder, "find_spec", None)
            return find(name, path, target) if find else None

        def invalidate_caches(self):
            if hasattr(self.finder, "invalidate_caches"):
                self.finder.invalidate_caches()

        def __getattr__(self, name):
            return getattr(self.finder, name)


    assert not HIDDEN & set(sys.modules), "imported before the blocker"
    sys.meta_path[:] = [Hide(finder) for finder in sys.meta_path]
    """
)

IMPORTS = textwrap.dedent(
    """
    import importlib
    import importlib.util
    import pkgutil

    for name in HIDDEN:
        assert importlib.util.find_spec(name) is None, name
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError(f"{name} could still be imported")

    import django

    django.setup()

    import wagtail_xpm
    import wagtail_xpm.apps

    # Every module of the app but the sandbox, which is the extra's reason to exist.
    modules = [
        info.name
        for info in pkgutil.walk_packages(wagtail_xpm.__path__, "wagtail_xpm.")
        if not info.name.startswith("wagtail_xpm.sandbox")
    ]
    for name in modules:
        importlib.import_module(name)
    # The Slack bot's app, checks and URLs load without Bolt (the rest needs it).
    for name in ("slackbot.apps", "slackbot.checks", "slackbot.conf", "slackbot.urls"):
        importlib.import_module(name)

    from django.urls import get_resolver, reverse

    get_resolver().url_patterns  # the whole URLconf, Wagtail's admin and its hooks included
    print("status:", reverse("wagtail_xpm:status"))
    print("sync:", reverse("wagtail_xpm_sync:index"))
    print("modules:", len(modules))
    loaded = sorted(HIDDEN & {m.partition(".")[0] for m in sys.modules})
    assert not loaded, loaded
    """
)

MANAGE = textwrap.dedent(
    """
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *sys.argv[2:]])
    """
)


def run(code: str, *args: str, settings: str = WITHOUT_EXTRAS) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + code, json.dumps(HIDDEN), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_app_imports_without_the_optional_extras():
    result = run(IMPORTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "status: /admin/xpm/" in result.stdout


def test_check_passes_without_the_optional_extras():
    result = run(MANAGE, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_the_sandbox_names_its_extra():
    result = run(MANAGE, "xpm_sandbox", "--port", "0")
    assert result.returncode != 0, result.stdout + result.stderr
    assert SANDBOX_MESSAGE in result.stderr, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_slackbot_without_bolt_is_a_check_error():
    # The example site's settings: "slackbot" in INSTALLED_APPS, its URLs included.
    result = run(MANAGE, "check", settings="tests.settings")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "slackbot.E010" in output, output
    assert SLACK_EXTRA in output, output
