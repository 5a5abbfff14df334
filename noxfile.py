"""The supported matrix, for a developer's machine: ``nox -l`` lists the sessions.

* ``nox -s tests``: the whole suite on every stack (long); ``nox -s "tests-3.13(django='6.1')"``
  one stack; ``nox -s smoke``: the smoke subset on every stack; ``nox -s lint build``.
* Arguments after ``--`` go to pytest: ``nox -s "tests-3.11(django='5.2')" -- tests/sync``.

CI (``.ci/run``) runs the same MATRIX through the README's ``make test PYTHON=.. DJANGO=..``.
Interpreters are found on PATH or among pyenv's versions (``pyenv versions``).
"""

from __future__ import annotations

import glob
import os

# (Python, Django): Django 6.0 and 6.1 need Python 3.12+. The first entry is the oldest
# stack, the last the newest; .ci/run reads this list.
MATRIX = [
    ("3.11", "5.2"),
    ("3.12", "5.2"),
    ("3.12", "6.0"),
    ("3.12", "6.1"),
    ("3.13", "5.2"),
    ("3.13", "6.0"),
    ("3.13", "6.1"),
]

import nox  # noqa: E402 - MATRIX above is read by .ci/run without nox installed

nox.options.sessions = ["lint", "smoke"]
nox.options.reuse_existing_virtualenvs = True

# pyenv keeps interpreters that its shims only expose when selected; let nox find them.
for _bin in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin"))):
    os.environ["PATH"] = os.environ["PATH"] + os.pathsep + _bin


def _django(version: str) -> str:
    major, minor = (int(part) for part in version.split("."))
    return f"Django>={version},<{major}.{minor + 1}"


def _install(session: nox.Session, django: str) -> None:
    session.install("-e", ".[test]", _django(django))


@nox.session
@nox.parametrize(("python", "django"), MATRIX)
def tests(session: nox.Session, django: str) -> None:
    """The whole suite on one stack."""
    _install(session, django)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
@nox.parametrize(("python", "django"), MATRIX)
def smoke(session: nox.Session, django: str) -> None:
    """Import, system checks, migrations and the smoke subset on one stack."""
    _install(session, django)
    session.run("python", "scripts/strict-manage", "check")
    session.run("python", "scripts/strict-manage", "makemigrations", "--check", "--dry-run")
    session.run("python", "-m", "pytest", "-m", "smoke", *session.posargs)


@nox.session(python=MATRIX[-1][0])
def lint(session: nox.Session) -> None:
    """ruff and the import contracts."""
    _install(session, MATRIX[-1][1])
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=MATRIX[-1][0])
def build(session: nox.Session) -> None:
    """The sdist and wheel, checked by twine."""
    session.install("build", "twine")
    session.run("python", "-m", "build", "--outdir", "dist", ".")
    session.run("twine", "check", "--strict", *glob.glob("dist/*"))
