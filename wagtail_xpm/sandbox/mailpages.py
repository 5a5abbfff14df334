"""``/_sandbox/mail/``: the emails the demo's mail catcher received, readable in a browser.

The list, each email (its HTML in a sandboxed frame whose links open in a new tab, so an
unsubscribe link works when clicked; its text part with clickable links; the raw message),
a JSON list for scripts, and buttons that stop and restart the mail server (to see a
campaign stop and resume). No template engine: every value is escaped here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .pages import STYLE

if TYPE_CHECKING:
    from .mail import CaughtMessage, MailCatcher

PREFIX = "/_sandbox/mail"

URLS = Map(
    [
        Rule(f"{PREFIX}/", endpoint="index", methods=["GET"]),
        Rule(f"{PREFIX}.json", endpoint="list_json", methods=["GET"]),
        Rule(f"{PREFIX}/<int:message_id>/", endpoint="message", methods=["GET"]),
        Rule(f"{PREFIX}/<int:message_id>/html", endpoint="html", methods=["GET"]),
        Rule(f"{PREFIX}/<int:message_id>.eml", endpoint="raw", methods=["GET"]),
        Rule(f"{PREFIX}/server", endpoint="server", methods=["POST"]),
        Rule(f"{PREFIX}/clear", endpoint="clear", methods=["POST"]),
        Rule(f"{PREFIX}/faults", endpoint="faults", methods=["GET", "POST"]),
    ],
    strict_slashes=False,
)

MAIL_STYLE = """
main{max-width:1040px}
table{width:100%;border-collapse:collapse;margin:0 0 24px;font-size:14px;background:#fff}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #eef2f4;vertical-align:top}
th{color:#5b6b77;font-weight:600}
.status{display:flex;align-items:center;gap:12px;flex-wrap:wrap;margin:0 0 20px}
.pill{border-radius:999px;padding:2px 10px;font-size:13px;font-weight:600}
.up{background:#d6f5e3;color:#0b6b36}.down{background:#fde2e1;color:#8a1c14}
form{display:inline}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 16px;
font-size:14px}
dt{color:#5b6b77}dd{margin:0;word-break:break-all}
iframe{width:100%;height:640px;border:1px solid #dfe6ea;border-radius:8px;background:#fff}
pre{background:#fff;border:1px solid #dfe6ea;padding:14px;border-radius:8px;overflow:auto;
white-space:pre-wrap;font-size:13px}
h2{font-size:18px;margin:28px 0 10px}
.muted{color:#5b6b77;font-size:14px}
"""

_URL = re.compile(r"https?://[^\s<>\"']+")


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}{MAIL_STYLE}</style></head><body>"
        '<div class="bar">xero <small>XPM sandbox: sent mail</small></div>'
        f"<main>{body}</main></body></html>"
    )


def _linkify(text: str) -> str:
    """Escaped text whose URLs are links (opening in a new tab)."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last : match.start()]))
        url = match.group(0).rstrip(".,);")
        out.append(f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(url)}</a>')
        out.append(escape(match.group(0)[len(url) :]))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


class MailApp:
    """The WSGI app for ``/_sandbox/mail``."""

    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        adapter = URLS.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
            response = getattr(self, f"on_{endpoint}")(request, **values)
        except HTTPException as exc:
            response = exc
        return response(environ, start_response)

    def _message(self, message_id: int) -> CaughtMessage:
        message = self.catcher.mailbox.get(message_id)
        if message is None:
            raise NotFound("No such email (the catcher keeps the latest ones).")
        return message

    # -- pages ---------------------------------------------------------------------------------

    def on_index(self, request: Request) -> Response:
        catcher = self.catcher
        state = (
            '<span class="pill up">running</span>'
            if catcher.is_up
            else '<span class="pill down">stopped: connections are refused</span>'
        )
        toggle = "down" if catcher.is_up else "up"
        label = "Stop the mail server" if catcher.is_up else "Start the mail server"
        rows = []
        for message in reversed(catcher.mailbox.messages()):
            rows.append(
                "<tr>"
                f"<td>{escape(message.received_at.strftime('%H:%M:%S'))}</td>"
                f"<td>{escape(', '.join(message.rcpt_tos))}</td>"
                f'<td><a href="{PREFIX}/{message.id}/">{escape(message.subject or "(no subject)")}'
                "</a></td></tr>"
            )
        table = (
            '<table><thead><tr><th scope="col">Received</th><th scope="col">To</th>'
            f'<th scope="col">Subject</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            if rows
            else '<p class="muted">No email yet. Send a campaign or a test email from the '
            "admin; it appears here.</p>"
        )
        body = (
            f"<h1>Sent mail</h1>"
            f'<p class="muted">Every email the website sends goes to this local mail server '
            f"(SMTP on {escape(catcher.host)}:{catcher.port}) and is shown here; nothing leaves "
            "this machine.</p>"
            f'<div class="status">Mail server: {state}'
            f'<form method="post" action="{PREFIX}/server"><input type="hidden" name="state" '
            f'value="{toggle}"><button type="submit">{label}</button></form>'
            f'<form method="post" action="{PREFIX}/clear"><button type="submit">Delete all'
            "</button></form>"
            f'<a href="{PREFIX}.json">JSON</a> &middot; <a href="/_sandbox/">Sandbox</a></div>'
            f"{table}"
        )
        return Response(_page("Sent mail", body), mimetype="text/html")

    def on_message(self, request: Request, message_id: int) -> Response:
        message = self._message(message_id)
        facts = [
            ("From", message.header("From") or message.mail_from),
            ("To", ", ".join(message.rcpt_tos)),
            ("Subject", message.subject),
            ("Date", message.header("Date")),
        ]
        unsubscribe = message.header("List-Unsubscribe").strip().strip("<>")
        rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts if v)
        if unsubscribe:
            rows += f"<dt>List-Unsubscribe</dt><dd>{_linkify(unsubscribe)}</dd>"
        html = message.html
        frame = (
            f'<h2>HTML</h2><iframe title="The email as HTML" src="{PREFIX}/{message.id}/html" '
            'sandbox="allow-popups allow-popups-to-escape-sandbox"></iframe>'
            if html
            else ""
        )
        text = message.text
        text_part = f"<h2>Text</h2><pre>{_linkify(text)}</pre>" if text else ""
        body = (
            f'<p><a href="{PREFIX}/">&larr; All sent mail</a></p>'
            f"<h1>{escape(message.subject or '(no subject)')}</h1><dl>{rows}</dl>"
            f'<p class="muted">Links open in a new tab. <a href="{PREFIX}/{message.id}.eml">'
            "Raw message</a></p>"
            f"{frame}{text_part}"
        )
        return Response(_page(message.subject or "Email", body), mimetype="text/html")

    def on_html(self, request: Request, message_id: int) -> Response:
        html = self._message(message_id).html
        if not html:
            raise NotFound("This email has no HTML part.")
        # Links leave the frame for a new tab; the email's own scripts never run.
        base = '<base target="_blank">'
        if re.search(r"(?i)<head[^>]*>", html):
            html = re.sub(r"(?i)(<head[^>]*>)", lambda m: m.group(1) + base, html, count=1)
        else:
            html = base + html
        response = Response(html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            "sandbox allow-popups allow-popups-to-escape-sandbox; script-src 'none'"
        )
        return response

    def on_raw(self, request: Request, message_id: int) -> Response:
        return Response(self._message(message_id).raw, mimetype="text/plain")

    def on_list_json(self, request: Request) -> Response:
        full = request.args.get("full") == "1"
        items = []
        for message in self.catcher.mailbox.messages():
            item = message.summary()
            if full:
                item.update(text=message.text, html=message.html)
            items.append(item)
        return Response(
            json.dumps({"server_up": self.catcher.is_up, "messages": items}),
            mimetype="application/json",
        )

    # -- actions -------------------------------------------------------------------------------

    def on_server(self, request: Request) -> Response:
        state = request.form.get("state") or (request.get_json(silent=True) or {}).get("state")
        if state == "down":
            self.catcher.down()
        elif state == "up":
            self.catcher.up()
        else:
            raise BadRequest('state must be "up" or "down"')
        return redirect(f"{PREFIX}/", 303)

    def on_clear(self, request: Request) -> Response:
        self.catcher.mailbox.clear()
        return redirect(f"{PREFIX}/", 303)

    def on_faults(self, request: Request) -> Response:
        faults = self.catcher.faults
        if request.method == "POST":
            data = request.get_json(silent=True)
            if not isinstance(data, dict):
                raise BadRequest("Send a JSON object.")
            if data.get("reset"):
                faults.reset()
            if "reject" in data:
                faults.reject(*[str(a) for a in data["reject"]])
            if "require_login" in data:
                login = data["require_login"]
                faults.login = (str(login[0]), str(login[1])) if login else None
            for name in ("drop_in_data", "stall_data", "temporary"):
                if name in data:
                    setattr(faults, name, bool(data[name]))
        return Response(json.dumps(faults.describe()), mimetype="application/json")
