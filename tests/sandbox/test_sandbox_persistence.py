"""State files, ``python -m wagtail_xpm.sandbox`` and ``manage.py xpm_sandbox``."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from sandbox_helpers import API, REDIRECT_URI, query_of

from wagtail_xpm.sandbox import Sandbox, cli

ROOT = Path(__file__).resolve().parents[2]


def test_save_and_load_round_trip(tmp_path):
    sb = Sandbox.generate(clients=25, seed=4)
    tokens = sb.issue_tokens()
    with sb.serve() as server:
        api_headers = sb.auth_headers(tokens)
        added = requests.post(
            f"{server.url}{API}client.api/add",
            data=b"<Client><Name>Persisted Pty Ltd</Name><Contacts><Contact><Name>Pat</Name>"
            b"</Contact></Contacts></Client>",
            headers=api_headers,
            timeout=10,
        )
        assert b"<Status>OK</Status>" in added.content
    path = tmp_path / "state.json"
    sb.save(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "wagtail-xpm-sandbox" and document["version"] == 1
    loaded = Sandbox.load(path, rate_limits=False)
    assert loaded.state == sb.state
    assert loaded.tenant_id == sb.tenant_id
    assert any(
        c.name == "Persisted Pty Ltd" and c.created_via_api for c in loaded.state.clients.values()
    )
    # Derived indexes are rebuilt: shared contacts still know their clients.
    for contact_uuid in list(loaded.state.contacts)[:10]:
        assert [c.uuid for c in loaded.state.clients_of_contact(contact_uuid)] == [
            c.uuid for c in sb.state.clients_of_contact(contact_uuid)
        ]
    # Grants survive a restart: the site's tokens keep working.
    with loaded.serve() as server:
        response = requests.get(
            f"{server.url}{API}staff.api/list", headers=loaded.auth_headers(tokens), timeout=10
        )
        assert response.status_code == 200
        rotated = requests.post(
            f"{server.url}/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(loaded.client_id, loaded.client_secret),
            timeout=10,
        )
        assert rotated.status_code == 200


def test_load_rejects_foreign_files(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(ValueError, match="not a wagtail-xpm sandbox state file"):
        Sandbox.load(path)


def test_run_in_process_saves_state_and_prints_settings(tmp_path):
    state_file = tmp_path / "nested" / "practice.json"
    out = io.StringIO()
    stop = threading.Event()
    ready = threading.Event()
    seen = {}

    def on_ready(sb, url):
        seen["sb"], seen["url"] = sb, url
        ready.set()

    options = {
        "port": 0,
        "clients": 5,
        "seed": 9,
        "state": str(state_file),
        "auto_consent": True,
        "redirect_uri": [REDIRECT_URI],
    }
    thread = threading.Thread(
        target=cli.run, args=(options, out), kwargs={"stop": stop, "on_ready": on_ready}
    )
    thread.start()
    try:
        assert ready.wait(10)
        sb, url = seen["sb"], seen["url"]
        assert sb.auto_consent
        assert sb.oauth.config.allowed_redirect_uris == (REDIRECT_URI,)
        assert requests.get(f"{url}/_sandbox/", timeout=10).status_code == 200
    finally:
        stop.set()
        thread.join(10)
    text = out.getvalue()
    assert f"XPM_API_URL={url}/practicemanager/3.1/" in text
    assert f"XPM_TOKEN_URL={url}/connect/token" in text
    assert f"XPM_AUTHORIZE_URL={url}/identity/connect/authorize" in text
    assert "XPM_CLIENT_ID=sandbox-client-id" in text
    assert "XPM_CLIENT_SECRET=sandbox-client-secret" in text
    assert state_file.exists()
    assert len(Sandbox.load(state_file).state.clients) == 5


def test_python_dash_m_serves_until_sigterm_and_saves(tmp_path):
    state_file = tmp_path / "practice.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wagtail_xpm.sandbox",
            "--port",
            "0",
            "--clients",
            "6",
            "--state",
            str(state_file),
            "--auto-consent",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", first)
        assert match, first + proc.stderr.read()
        url = match.group(1)
        # The real browser-less flow: authorize (auto-consent), exchange, call the API.
        redirect = requests.get(
            f"{url}/identity/connect/authorize",
            params={
                "response_type": "code",
                "client_id": "sandbox-client-id",
                "redirect_uri": REDIRECT_URI,
                "scope": "offline_access practicemanager",
                "state": "s",
            },
            allow_redirects=False,
            timeout=10,
        )
        code = query_of(redirect.headers["Location"])["code"]
        tokens = requests.post(
            f"{url}/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
            auth=("sandbox-client-id", "sandbox-client-secret"),
            timeout=10,
        ).json()
        connections = requests.get(
            f"{url}/connections",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=10,
        ).json()
        tenant = next(c["tenantId"] for c in connections if c["tenantType"] == "PRACTICEMANAGER")
        added = requests.post(
            f"{url}{API}client.api/add",
            data=b"<Client><Name>From The CLI Ltd</Name></Client>",
            headers={"Authorization": f"Bearer {tokens['access_token']}", "xero-tenant-id": tenant},
            timeout=10,
        )
        assert b"<Status>OK</Status>" in added.content
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Saved practice to" in out
    loaded = Sandbox.load(state_file)
    assert any(c.name == "From The CLI Ltd" for c in loaded.state.clients.values())
    assert len(loaded.state.clients) == 7

    # A second start loads the file instead of generating a new practice.
    proc = subprocess.Popen(
        [sys.executable, "-m", "wagtail_xpm.sandbox", "--port", "0", "--state", str(state_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("Loaded practice from")
        assert "listening on" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_management_command_shares_the_options(monkeypatch):
    from wagtail_xpm.management.commands import xpm_sandbox

    command = xpm_sandbox.Command()
    parser = command.create_parser("manage.py", "xpm_sandbox")
    options = vars(
        parser.parse_args(
            [
                "--port",
                "0",
                "--clients",
                "40",
                "--seed",
                "3",
                "--state",
                "x.json",
                "--auto-consent",
                "--no-rate-limits",
                "--day-limit",
                "1000",
                "--redirect-uri",
                "http://a.example/cb",
                "--redirect-uri",
                "http://b.example/cb",
            ]
        )
    )
    assert options["clients"] == 40 and options["seed"] == 3 and options["port"] == 0
    assert options["auto_consent"] and options["no_rate_limits"]
    assert options["day_limit"] == 1000
    assert options["redirect_uri"] == ["http://a.example/cb", "http://b.example/cb"]
    calls = []
    from wagtail_xpm.sandbox import cli

    monkeypatch.setattr(cli, "run", lambda opts, out: calls.append(opts))
    command.handle(**options)
    assert calls and calls[0]["clients"] == 40
