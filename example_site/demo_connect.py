"""Connect the demo site to the sandbox through the real OAuth flow, as a person would.

Logs in to the Wagtail admin, presses "Connect to Xero", approves the sandbox's consent page
and follows the redirect back to the site's callback. Used by ``make demo``.
"""

from __future__ import annotations

import argparse
import html
import re
import sys

import requests

from example_site.htmlforms import parse_forms

TIMEOUT = 15


def connect(base: str, username: str, password: str) -> str:
    web = requests.Session()
    login_url = f"{base}/admin/login/"
    web.get(login_url, timeout=TIMEOUT).raise_for_status()
    response = web.post(
        login_url,
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": web.cookies["csrftoken"],
            "next": "/admin/xpm/",
        },
        headers={"Referer": login_url},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    status_page = web.get(f"{base}/admin/xpm/", timeout=TIMEOUT)
    status_page.raise_for_status()
    match = re.search(r'action="(/admin/xpm/connect/\d+/)"', status_page.text)
    if not match:
        raise SystemExit("Could not find the Connect to Xero button (is the login right?)")
    # Press "Connect to Xero": the site answers with a redirect to the authorize endpoint.
    response = web.post(
        base + match.group(1),
        data={"csrfmiddlewaretoken": web.cookies["csrftoken"]},
        headers={"Referer": status_page.url},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    authorize_url = response.headers["Location"]
    consent = web.get(authorize_url, timeout=TIMEOUT)
    consent.raise_for_status()
    form = parse_forms(consent.text, consent.url)[0]
    # Approve on the consent page; the sandbox redirects back to the site's callback.
    approved = web.request(
        form.method.upper(),
        form.action,
        data=form.submit_data("allow"),
        timeout=TIMEOUT,
    )
    approved.raise_for_status()
    page = web.get(f"{base}/admin/xpm/", timeout=TIMEOUT).text
    if 'data-xpm-status="connected"' not in page:
        raise SystemExit("The site did not end up connected; see var/web.log")
    name = re.search(r"<dt>Practice</dt><dd>([^<]+)<", page)
    return html.unescape(name.group(1).strip()) if name else "the practice"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    practice = connect(args.base.rstrip("/"), args.username, args.password)
    print(f"Connected to {practice}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
