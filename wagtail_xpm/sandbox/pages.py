"""HTML for the login host: the consent page and the error page (no templates engine, so
the sandbox stays standalone; every value is escaped)."""

from __future__ import annotations

from html import escape

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,
Arial,sans-serif;background:#f2f5f7;color:#1e2a33}
.bar{background:#13b5ea;color:#fff;padding:14px 24px;font-weight:600;letter-spacing:.02em}
.bar small{font-weight:400;opacity:.85;margin-left:8px}
main{max-width:560px;margin:40px auto;padding:0 16px}
.card{background:#fff;border-radius:10px;box-shadow:0 2px 10px rgba(0,40,60,.08);padding:32px}
h1{font-size:22px;margin:0 0 8px}
p{margin:0 0 16px}
.who{color:#5b6b77;font-size:14px}
.tenant{display:flex;align-items:center;gap:12px;border:1px solid #dfe6ea;border-radius:8px;
padding:12px 14px;margin:0 0 20px}
.tenant .logo{width:36px;height:36px;border-radius:8px;background:#1e2a33;color:#fff;
display:flex;align-items:center;justify-content:center;font-weight:700}
.tenant .kind{color:#5b6b77;font-size:13px}
ul.scopes{list-style:none;margin:0 0 24px;padding:0}
ul.scopes li{padding:10px 0 10px 30px;border-bottom:1px solid #eef2f4;position:relative}
ul.scopes li:before{content:"\\2713";position:absolute;left:4px;color:#13b5ea;font-weight:700}
ul.scopes code{color:#8795a1;font-size:12px;display:block}
.actions{display:flex;gap:12px;justify-content:flex-end}
button{font:inherit;font-weight:600;border-radius:6px;padding:10px 22px;cursor:pointer;
border:1px solid #c9d3d9;background:#fff;color:#1e2a33}
button.allow{background:#13b5ea;border-color:#13b5ea;color:#fff}
button:focus{outline:3px solid #9be0f7}
.note{margin-top:20px;color:#8795a1;font-size:12px;text-align:center}
.error h1{color:#b3261e}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        '<div class="bar">xero <small>XPM sandbox</small></div>'
        f"<main>{body}</main></body></html>"
    )


def consent_page(
    *,
    app_name: str,
    practice_name: str,
    user_name: str,
    user_email: str,
    scopes: list[tuple[str, str]],
    hidden: dict[str, str],
    action: str,
) -> str:
    """The "Allow access" page; both buttons post the original parameters back."""
    items = "".join(
        f"<li>{escape(words)}<code>{escape(scope)}</code></li>" for scope, words in scopes
    )
    fields = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    initial = escape(practice_name[:1].upper() or "P")
    body = (
        '<div class="card">'
        f"<h1>{escape(app_name)} wants access to your practice</h1>"
        f'<p class="who">Signed in as {escape(user_name)} ({escape(user_email)})</p>'
        '<div class="tenant">'
        f'<div class="logo">{initial}</div>'
        f'<div><div class="practice-name">{escape(practice_name)}</div>'
        '<div class="kind">Xero Practice Manager</div></div></div>'
        f"<p>{escape(app_name)} will be able to:</p>"
        f'<ul class="scopes">{items}</ul>'
        f'<form method="post" action="{escape(action)}">{fields}'
        '<div class="actions">'
        '<button type="submit" name="decision" value="deny" class="deny">Deny</button>'
        '<button type="submit" name="decision" value="allow" class="allow">Allow access'
        "</button></div></form>"
        '<p class="note">This is a local emulator of Xero&#39;s consent screen. '
        "No real Xero account is involved.</p>"
        "</div>"
    )
    return _page(f"Allow {app_name} access", body)


def error_page(message: str) -> str:
    """Shown instead of redirecting when the client or redirect URI cannot be trusted."""
    body = (
        '<div class="card error"><h1>Sorry, something went wrong</h1>'
        f'<p class="message">{escape(message)}</p>'
        '<p class="who">Check the app&#39;s client id and that the redirect URI is registered '
        "exactly.</p></div>"
    )
    return _page("Error", body)
