"""The mail catcher (wagtail_xpm/sandbox/mail.py) and its pages at /_sandbox/mail/: what
`make demo` shows of every email the site sends, and the SMTP server the tests fail."""

from __future__ import annotations

import io
import smtplib
import threading
from email.message import EmailMessage

import pytest
import requests

from wagtail_xpm.sandbox import Sandbox, cli
from wagtail_xpm.sandbox.mail import Mailbox, MailCatcher
from wagtail_xpm.sandbox.mailpages import MailApp


def email(to="ann@example.com", subject="June news", html=True) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Example Accounting <news@example.com>"
    message["To"] = to
    message["Subject"] = subject
    message["List-Unsubscribe"] = "<http://127.0.0.1:8000/xpm/unsubscribe/abc/>"
    message.set_content("Hello Ann.\n\nUnsubscribe: http://127.0.0.1:8000/xpm/unsubscribe/abc/")
    if html:
        message.add_alternative(
            "<html><head><title>x</title></head><body><p>Hello <b>Ann</b>.</p>"
            '<a href="http://127.0.0.1:8000/xpm/unsubscribe/abc/">Unsubscribe</a>'
            "<script>alert(1)</script></body></html>",
            subtype="html",
        )
    return message


def deliver(catcher: MailCatcher, message: EmailMessage, **login) -> None:
    with smtplib.SMTP(catcher.host, catcher.port, timeout=5) as smtp:
        if login:
            smtp.login(login["user"], login["password"])
        smtp.send_message(message)


@pytest.fixture
def served(tmp_path):
    """A sandbox with a mail catcher, as `make demo` runs it."""
    sb = Sandbox.generate(clients=3, seed=1)
    with MailCatcher(mailbox=Mailbox(tmp_path / "mail")) as catcher:
        sb.wsgi_app.mail = MailApp(catcher)
        with sb.serve() as server:
            yield catcher, server.url


def test_the_catcher_keeps_what_it_is_sent(tmp_path):
    with MailCatcher(mailbox=Mailbox(tmp_path)) as catcher:
        deliver(catcher, email())
        [caught] = catcher.mailbox.messages()
        assert caught.rcpt_tos == ["ann@example.com"] and caught.subject == "June news"
        assert "Hello Ann." in caught.text and "<b>Ann</b>" in caught.html
        assert catcher.mailbox.to("ANN@example.com") == [caught]
    # Written to the directory: a restarted catcher shows it again, and numbers on.
    again = Mailbox(tmp_path)
    assert [m.subject for m in again.messages()] == ["June news"]
    with MailCatcher(mailbox=again) as catcher:
        deliver(catcher, email(subject="Second"))
        assert [m.id for m in catcher.mailbox.messages()] == [1, 2]


def test_faults(tmp_path):
    with MailCatcher() as catcher:
        catcher.faults.reject("bob@example.com")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            deliver(catcher, email(to="bob@example.com"))

        catcher.faults.reset()
        catcher.faults.require_login("news", "secret")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            deliver(catcher, email(), user="news", password="nope")
        deliver(catcher, email(), user="news", password="secret")

        catcher.faults.reset()
        catcher.faults.temporary = True
        with pytest.raises(smtplib.SMTPDataError) as temporary:
            deliver(catcher, email())
        assert temporary.value.smtp_code == 451

        catcher.faults.reset()
        catcher.faults.drop_in_data = True
        with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)):
            deliver(catcher, email())

        catcher.faults.reset()
        catcher.down()
        with pytest.raises(ConnectionRefusedError):
            deliver(catcher, email())
        catcher.up()
        deliver(catcher, email())
        assert len(catcher.mailbox) == 2  # the login one and the last one


def test_the_mail_pages(served):
    catcher, url = served
    empty = requests.get(f"{url}/_sandbox/mail/", timeout=10)
    assert empty.status_code == 200 and "No email yet" in empty.text
    deliver(catcher, email())
    listing = requests.get(f"{url}/_sandbox/mail/", timeout=10).text
    assert "June news" in listing and 'href="/_sandbox/mail/1/"' in listing
    assert "Sent mail" in requests.get(f"{url}/_sandbox/", timeout=10).text

    page = requests.get(f"{url}/_sandbox/mail/1/", timeout=10).text
    assert '<iframe title="The email as HTML" src="/_sandbox/mail/1/html"' in page
    # The text part's links and the List-Unsubscribe header are clickable.
    assert 'href="http://127.0.0.1:8000/xpm/unsubscribe/abc/" target="_blank"' in page

    html = requests.get(f"{url}/_sandbox/mail/1/html", timeout=10)
    assert '<head><base target="_blank">' in html.text  # links open in a new tab
    assert "script-src 'none'" in html.headers["Content-Security-Policy"]
    assert requests.get(f"{url}/_sandbox/mail/1.eml", timeout=10).text.startswith("From: ")

    listed = requests.get(f"{url}/_sandbox/mail.json?full=1", timeout=10).json()
    assert listed["server_up"] is True
    [item] = listed["messages"]
    assert item["to"] == ["ann@example.com"] and "Hello Ann." in item["text"]
    assert item["list_unsubscribe"] == "<http://127.0.0.1:8000/xpm/unsubscribe/abc/>"
    assert requests.get(f"{url}/_sandbox/mail/9/", timeout=10).status_code == 404


def test_the_page_stops_and_restarts_the_mail_server(served):
    catcher, url = served
    stopped = requests.post(f"{url}/_sandbox/mail/server", data={"state": "down"}, timeout=10)
    assert "stopped: connections are refused" in stopped.text
    with pytest.raises(ConnectionRefusedError):
        deliver(catcher, email())
    requests.post(f"{url}/_sandbox/mail/server", data={"state": "up"}, timeout=10)
    deliver(catcher, email())
    armed = requests.post(
        f"{url}/_sandbox/mail/faults", json={"reject": ["Bob@example.com"]}, timeout=10
    ).json()
    assert armed["rejected"] == ["bob@example.com"]
    requests.post(f"{url}/_sandbox/mail/clear", timeout=10)
    assert requests.get(f"{url}/_sandbox/mail.json", timeout=10).json()["messages"] == []


def test_the_sandbox_command_runs_a_catcher(tmp_path):
    out, stop, ready, seen = io.StringIO(), threading.Event(), threading.Event(), {}

    def on_ready(sb, url):
        seen["url"] = url
        ready.set()

    options = {"port": 0, "clients": 2, "smtp_port": 0, "mail_dir": str(tmp_path)}
    thread = threading.Thread(
        target=cli.run, args=(options, out), kwargs={"stop": stop, "on_ready": on_ready}
    )
    thread.start()
    try:
        assert ready.wait(10)
        assert "mail catcher    SMTP 127.0.0.1:" in out.getvalue()
        port = int(out.getvalue().split("mail catcher    SMTP 127.0.0.1:")[1].split(";")[0])
        deliver(MailCatcherAddress(port), email())
        listed = requests.get(f"{seen['url']}/_sandbox/mail.json", timeout=10).json()
        assert [m["subject"] for m in listed["messages"]] == ["June news"]
    finally:
        stop.set()
        thread.join(10)
    assert list(tmp_path.glob("*.eml"))


class MailCatcherAddress:
    host = "127.0.0.1"

    def __init__(self, port: int) -> None:
        self.port = port
