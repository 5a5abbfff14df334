"""The install test a new user would recognise: the wheel, `wagtail start`, then
docs/installing.md and docs/production.md followed block by block (tests/install/docsteps.py).

1. Build the wheel from the checkout (its tracked and new files, copied aside) and check
   what it ships.
2. In a new virtual environment (Python 3.13: `XPM_INSTALL_PYTHON`, else the newest
   python3.13 found), do what docs/installing.md says: `pip install wagtail`,
   `wagtail start mysite`, the wheel beside the generated requirements, the apps, settings,
   URLs, migrate, check, the lead form page and block, the sandbox, headless connect, sync.
   Then log in to the admin and open the wagtail-xpm pages.
3. Do what docs/production.md says on the same project: the production settings, the
   environment file, `check --deploy`, `collectstatic`, gunicorn with WhiteNoise.

Run: `pytest tests/install -s` (a few minutes; pip's cache makes reruns faster). Every
command has a timeout; processes left running are stopped when the module ends.
"""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests
from docsteps import GuideRunner, parse_guide

pytestmark = [pytest.mark.slow, pytest.mark.install]

REPO = Path(__file__).resolve().parents[2]
INSTALLING = REPO / "docs" / "installing.md"
PRODUCTION = REPO / "docs" / "production.md"
# The packages the wheel may hold; everything else in the repository stays out of it.
PACKAGES = ("wagtail_xpm", "slackbot")
NOT_SHIPPED = ("example_site", "tests", "bench", "docs", "scripts", "var")
# The administrator the guide's `createsuperuser --noinput` makes.
ADMIN_USER = "admin"
ADMIN_PASSWORD = "install-test-" + secrets.token_urlsafe(12)
PUBLIC_HOST = "www.example-firm.com.au"  # docs/production.md's host name
HTTP_TIMEOUT = 30


# -- the interpreter ----------------------------------------------------------------------


def python_version(executable: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print(*sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return tuple(int(part) for part in out.stdout.split())


def find_python() -> str:
    """``XPM_INSTALL_PYTHON``, else the newest Python 3.13 on PATH or in pyenv."""
    chosen = os.environ.get("XPM_INSTALL_PYTHON")
    if chosen:
        version = python_version(chosen)
        assert version, f"XPM_INSTALL_PYTHON={chosen} does not run"
        assert version >= (3, 12), (
            f"XPM_INSTALL_PYTHON={chosen} is {version}: Django 6.1 needs 3.12+"
        )
        return chosen
    candidates = [shutil.which("python3.13"), "/usr/bin/python3.13", "/usr/local/bin/python3.13"]
    candidates += sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.13*/bin/python3.13")))
    found = [(v, c) for c in dict.fromkeys(filter(None, candidates)) if (v := python_version(c))]
    if not found:
        # In CI the install test is the point of the newest stack: missing Python fails it.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "no Python 3.13 found (python3.13 on PATH or ~/.pyenv/versions/3.13*); set "
            "XPM_INSTALL_PYTHON to a Python 3.12+ interpreter: `wagtail start` pins Django 6.1"
        )
    return max(found)[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment() -> dict[str, str]:
    """The environment of a new shell: none of this checkout's venv, Django or XPM settings
    (CI exports DATABASE_URL and REDIS_URL for the suite; the new site must not see them)."""
    dropped_prefixes = ("XPM_", "SLACK_", "DJANGO_", "WAGTAIL")
    dropped = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "DATABASE_URL", "REDIS_URL"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(dropped_prefixes)
    }
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin
    )
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["DJANGO_SUPERUSER_USERNAME"] = ADMIN_USER
    env["DJANGO_SUPERUSER_EMAIL"] = "admin@example-firm.com.au"
    env["DJANGO_SUPERUSER_PASSWORD"] = ADMIN_PASSWORD
    return env


# -- the flow, shared by the tests of this module ------------------------------------------


@dataclass
class InstallFlow:
    root: Path
    web_port: int = field(default_factory=free_port)
    sandbox_port: int = field(default_factory=free_port)
    phases: list[tuple[str, float]] = field(default_factory=list)
    runner: GuideRunner | None = None
    _wheel: Path | None = None
    _failure: str | None = None

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        print(f"\n##### {name}", flush=True)
        try:
            yield
        finally:
            self.phases.append((name, time.monotonic() - started))

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def wheel(self) -> Path:
        if self._wheel is None:
            with self.phase("build the wheel"):
                self._wheel = build_wheel(self.root / "build")
        return self._wheel

    def installed(self) -> GuideRunner:
        """docs/installing.md, followed once per module."""
        if self._failure:
            pytest.fail(f"the install guide failed earlier: {self._failure}")
        if self.runner is not None:
            return self.runner
        wheel = self.wheel()
        python = find_python()
        print(f"Python: {python} {python_version(python)}; wheel: {wheel.name}")
        (self.root / "logs").mkdir()
        (self.root / "work").mkdir()
        runner = GuideRunner(
            cwd=self.root / "work",
            env=clean_environment(),
            logs=self.root / "logs",
            substitutions=[
                (r"\bpython3 -m venv\b", f"{python} -m venv"),
                (r'"wagtail-xpm\[', f'"{wheel}['),
                (r"127\.0\.0\.1:8765\b", f"127.0.0.1:{self.sandbox_port}"),
                (r"--port 8765\b", f"--port {self.sandbox_port}"),
                (r"127\.0\.0\.1:8000\b", f"127.0.0.1:{self.web_port}"),
                (r"(manage\.py runserver)$", rf"\1 127.0.0.1:{self.web_port}"),
                (r"'127\.0\.0\.1', 8000\b", f"'127.0.0.1', {self.web_port}"),
            ],
        )
        self.runner = runner
        try:
            with self.phase("follow docs/installing.md"):
                runner.follow(
                    parse_guide(INSTALLING),
                    before={"connect": lambda: clear_of_periodic_syncs(runner)},
                )
        except BaseException as exc:
            self._failure = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise
        return runner

    def report(self) -> None:
        print("\n##### timings")
        for name, seconds in self.phases:
            print(f"  {seconds:7.1f} s  {name}")
        if self.runner is not None:
            print("  steps:")
            for name, seconds in self.runner.timings:
                print(f"  {seconds:7.1f} s    {name}")


@pytest.fixture(scope="module")
def install_flow(tmp_path_factory) -> Iterator[InstallFlow]:
    flow = InstallFlow(root=tmp_path_factory.mktemp("install"))
    try:
        yield flow
    finally:
        if flow.runner is not None:
            flow.runner.close()


def clear_of_periodic_syncs(runner: GuideRunner, busy: float = 45) -> None:
    """Keep the consumer's scheduled sync out of the guide's connect-and-sync.

    The guide's `run_huey` runs `schedule_syncs` every five minutes (crontab, UTC), which
    queues a sync of every connected site that is due; a new connection is due at once. If
    that happened between `xpm_connect` and the end of `xpm_sync`, the two syncs would meet
    ("already under way"), or `xpm_sync` would find nothing left to create. Huey's scheduler
    looks at periodic tasks when the consumer starts and every 60 s after, and a worker picks
    a queued task up within about ten seconds; so when the look that falls in a minute
    divisible by five comes within the next `busy` seconds, wait until it has been handled
    (before the site is connected, it queues nothing).
    """
    started = runner.processes["huey"].ready_at
    now = time.time()
    look = started + 60 * max(0, int((now - started) // 60))
    while look < now + busy:
        minutes = {int((look - 2) // 60), int((look + 2) // 60)}  # startup jitter
        if any(m % 5 == 0 for m in minutes) and look + 15 > now:
            print(f"    waiting {look + 15 - now:.0f} s for Huey's five-minute look", flush=True)
            time.sleep(look + 15 - now)
            return
        look += 60


# -- the wheel --------------------------------------------------------------------------------


def source_files() -> list[str]:
    """What would be committed: tracked files plus new ones that are not ignored."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return sorted({n for n in out.decode().split("\0") if n and (REPO / n).is_file()})


def build_wheel(where: Path) -> Path:
    """Build from a copy of the checkout, so no build/ or egg-info lands in it."""
    src, dist = where / "src", where / "dist"
    for name in source_files():
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    try:
        import build  # noqa: F401

        command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(src)]
    except ImportError:  # the `test` extra brings build; pip can do it too
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(src)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(install_flow):
    wheel = install_flow.wheel()
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = Counter(name.split("/", 1)[0] for name in names)
    print(f"\n{wheel.name}: {len(names)} files")
    for top, count in sorted(tops.items()):
        print(f"  {top}/: {count}")
    dist_info = [top for top in tops if top.endswith(".dist-info")]
    assert len(dist_info) == 1, tops
    assert set(tops) == {*PACKAGES, *dist_info}, f"unexpected top-level entries: {tops}"
    assert not [n for n in names if n.split("/", 1)[0] in NOT_SHIPPED]
    for required in (
        "wagtail_xpm/__init__.py",
        "slackbot/__init__.py",
        "wagtail_xpm/py.typed",
        "slackbot/py.typed",
        "wagtail_xpm/migrations/0001_initial.py",
        "slackbot/migrations/0001_initial.py",
        "wagtail_xpm/static/wagtail_xpm/sync.js",
        "wagtail_xpm/templates/wagtail_xpm/leads/form.html",
    ):
        assert required in names, f"{required} is not in the wheel"
    licenses = [n for n in names if n.startswith(f"{dist_info[0]}/") and "LICENSE" in n]
    assert licenses, "no LICENSE in the wheel's dist-info"
    # Every module, migration, template, static file, translation and marker of the two
    # packages in the checkout is in the wheel.
    shipped_kinds = ("/templates/", "/static/", "/locale/", "/migrations/")
    expected = {
        name
        for name in source_files()
        if name.startswith(tuple(f"{p}/" for p in PACKAGES))
        and (name.endswith((".py", "py.typed")) or any(k in name for k in shipped_kinds))
    }
    missing = sorted(expected - names)
    assert not missing, f"in the checkout but not in the wheel: {missing}"
    kinds = Counter(
        next(
            (k.strip("/") for k in shipped_kinds if k in n),
            "python" if n.endswith(".py") else "other",
        )
        for n in names
        if not n.startswith(dist_info[0])
    )
    print("  by kind:", dict(sorted(kinds.items())))


# -- docs/installing.md ---------------------------------------------------------------------------


def check_ids(text: str) -> set[str]:
    return set(re.findall(r"\(([a-z_]+\.[CEIW]\d{3})\)", text))


def admin_session(base: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/admin/login/", timeout=HTTP_TIMEOUT).raise_for_status()
    response = session.post(
        f"{base}/admin/login/",
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 302, response.text[:2000]
    return session


CONTACT_PAGE = """
from home.models import ContactFormField, ContactPage, HomePage

home = HomePage.objects.get(depth=2)
page = home.add_child(instance=ContactPage(title="Contact us", slug="contact"))
for order, (label, kind) in enumerate(
    [("Name", "singleline"), ("Email", "email"), ("Message", "multiline")]
):
    ContactFormField.objects.create(
        page=page, sort_order=order, label=label, field_type=kind, required=True
    )
page.save_revision().publish()
print("URL=" + page.url)
"""


def test_install_guide_on_a_new_wagtail_project(install_flow):
    try:
        runner = install_flow.installed()
        doc = INSTALLING.read_text(encoding="utf-8")

        with install_flow.phase("check the results"):
            # `check` says what the guide says it says, and nothing else.
            ids = check_ids(runner.outputs["check"].text)
            assert not {i for i in ids if i not in doc}, runner.outputs["check"].text
            assert ids == {"wagtail_xpm.W001"}, runner.outputs["check"].text
            assert "no issues" in runner.outputs["check-configured"].text

            # The headless connect and the sync.
            assert "is connected to" in runner.outputs["connect"].stdout
            summary = json.loads(runner.outputs["sync"].stdout)
            print("sync:", summary)
            assert summary["created"] > 0, summary
            rows = runner.outputs["export"].stdout.strip().splitlines()
            assert len(rows) >= 2 and rows[0].startswith("email,"), rows

            # The admin pages, from the wheel's templates and static files.
            admin = admin_session(install_flow.web)
            status = admin.get(f"{install_flow.web}/admin/xpm/", timeout=HTTP_TIMEOUT)
            assert status.status_code == 200
            assert 'data-xpm-status="connected"' in status.text
            sync = admin.get(f"{install_flow.web}/admin/xpm/sync/", timeout=HTTP_TIMEOUT)
            assert sync.status_code == 200
            script = re.search(r'src="(/static/wagtail_xpm/sync[^"]*\.js)"', sync.text)
            assert script, "the sync page does not load wagtail_xpm/sync.js"
            js = admin.get(install_flow.web + script.group(1), timeout=HTTP_TIMEOUT)
            assert js.status_code == 200 and "function" in js.text
            contacts = admin.get(f"{install_flow.web}/admin/contacts/", timeout=HTTP_TIMEOUT)
            assert contacts.status_code == 200
            first_email = rows[1].split(",", 1)[0]
            assert first_email in contacts.text or "<table" in contacts.text

            # Step 7's templates: the home page with its StreamField, and a contact page.
            home = requests.get(f"{install_flow.web}/", timeout=HTTP_TIMEOUT)
            assert home.status_code == 200 and "<h1>" in home.text, home.text[:2000]
            script_file = runner.logs / "contact_page.py"
            script_file.write_text(CONTACT_PAGE, encoding="utf-8")
            made = runner.bash(f"python manage.py shell < {script_file}", timeout=120)
            url = re.search(r"^URL=(\S+)", made.stdout, re.M).group(1)
            contact = requests.get(install_flow.web + url, timeout=HTTP_TIMEOUT)
            assert contact.status_code == 200, contact.text[:3000]
            assert "data-xpm-lead-form" in contact.text and 'name="email"' in contact.text
    finally:
        install_flow.report()


# -- docs/production.md -------------------------------------------------------------------


class BehindTheProxy:
    """Requests to gunicorn as the TLS proxy sends them: the public Host and
    X-Forwarded-Proto, cookies kept by hand (they are Secure, and this is plain HTTP)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(kwargs.pop("headers", {}))
        response = requests.request(
            method,
            self.base + path,
            headers=headers,
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
            **kwargs,
        )
        for header in response.raw.headers.getlist("Set-Cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return response

    def get(self, path: str) -> requests.Response:
        """GET, following redirects within the site (the sync page redirects to its site's)."""
        for _ in range(5):
            response = self.request("GET", path)
            location = response.headers.get("Location", "")
            if response.status_code not in (301, 302) or not location.startswith("/"):
                return response
            path = location
        return response


def test_production_guide(install_flow):
    runner = install_flow.installed()
    try:
        from cryptography.fernet import Fernet

        project = runner.cwd
        doc = PRODUCTION.read_text(encoding="utf-8")
        runner.env_file_values = {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{project / 'db.sqlite3'}",  # no PostgreSQL here
            "REDIS_URL": "",  # nor Redis: the settings fall back to SqliteHuey
            "XPM_CLIENT_ID": "sandbox-client-id",
            "XPM_CLIENT_SECRET": "sandbox-client-secret",
            "XPM_TOKEN_KEYS": Fernet.generate_key().decode(),
            "SMTP_USER": "mysite",
            "SMTP_PASSWORD": "not-used-by-the-test",
        }
        steps = parse_guide(PRODUCTION)
        # Every variable the settings require is in the guide's environment file.
        env_file = next(s for s in steps if s.verb == "env-file")
        listed = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", env_file.code, re.M))
        required = set(re.findall(r'os\.environ\["([A-Z_][A-Z0-9_]*)"\]', doc)) - {"REDIS_URL"}
        assert required <= listed, f"not in the environment file: {required - listed}"

        with install_flow.phase("follow docs/production.md"):
            runner.follow(steps)

        with install_flow.phase("check the production results"):
            deploy = runner.outputs["deploy"].text
            ids = check_ids(deploy)
            print("check --deploy:", sorted(ids))
            assert "ERRORS:" not in deploy
            assert not {i for i in ids if i.startswith("wagtail_xpm.")}, deploy
            unexplained = {i for i in ids if i not in doc}
            assert not unexplained, (
                f"check --deploy printed what the guide does not explain: {unexplained}"
            )

            manifest = json.loads((project / "static" / "staticfiles.json").read_text())
            assert "wagtail_xpm/sync.js" in manifest["paths"]

            # The admin's sync page behind gunicorn: logging in (CSRF_TRUSTED_ORIGINS, secure
            # cookies) and its progress script under its hashed name (WhiteNoise).
            proxy = BehindTheProxy(install_flow.web)
            assert proxy.request("GET", "/admin/login/").status_code == 200
            origin = f"https://{PUBLIC_HOST}"
            login = proxy.request(
                "POST",
                "/admin/login/",
                data={
                    "username": ADMIN_USER,
                    "password": ADMIN_PASSWORD,
                    "csrfmiddlewaretoken": proxy.cookies["csrftoken"],
                    "next": "/admin/",
                },
                headers={"Origin": origin, "Referer": f"{origin}/admin/login/"},
            )
            assert login.status_code == 302, login.text[:2000]
            sync = proxy.get("/admin/xpm/sync/")
            assert sync.status_code == 200, (sync.headers, sync.text[:3000])
            script = re.search(r'src="(/static/wagtail_xpm/sync\.[0-9a-f]+\.js)"', sync.text)
            assert script, "the sync page does not load a hashed wagtail_xpm/sync.js"
            js = proxy.get(script.group(1))
            assert js.status_code == 200 and "function" in js.text
            assert "max-age" in js.headers.get("Cache-Control", "")
    finally:
        install_flow.report()
