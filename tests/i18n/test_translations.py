"""The French translation: the catalogs are complete and compiled, and the public contact
page, the admin screens, the admin JavaScript and the Slack bot speak French when asked.

The catalogs are read with a few lines of pure Python (no polib), so this runs wherever the
suite does; the compiled ``.mo`` files are checked against their ``.po`` by content.
"""

from __future__ import annotations

import gettext
import hashlib
import hmac
import html
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

import slackbot
import wagtail_xpm
from wagtail_xpm import services
from wagtail_xpm.leads import spam
from wagtail_xpm.models import LeadSubmission

CATALOGS = sorted(
    [
        *Path(wagtail_xpm.__file__).parent.glob("locale/*/LC_MESSAGES/*.po"),
        *Path(slackbot.__file__).parent.glob("locale/*/LC_MESSAGES/*.po"),
    ]
)
SOURCE_LANGUAGE = "en"  # the English catalogs are sources: empty msgstrs mean "as written"


def text_of(response) -> str:
    return html.unescape(response.content.decode())


# --- the catalogs ----------------------------------------------------------------------------


def _unquote(line: str) -> str:
    body = line.strip()[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append(escapes[body[i + 1]])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr or msgstr[n], flags."""
    entries: list[dict] = []
    entry: dict = {}
    field = ""
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if "msgid" in entry:
                entries.append(entry)
            entry, field = {}, ""
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[field] += _unquote(line)
        else:
            field, _, value = line.partition(" ")
            entry[field] = _unquote(value)
    return [e for e in entries if not e.get("obsolete")]


def plural_forms(entries: list[dict]) -> int:
    header = next(e for e in entries if e["msgid"] == "")["msgstr"]
    forms = next(line for line in header.splitlines() if line.startswith("Plural-Forms:"))
    return int(forms.split("nplurals=")[1].split(";")[0])


def catalog_id(path: Path) -> str:
    return "/".join(path.parts[-5:])


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_catalog_has_no_fuzzy_or_untranslated_entries(path):
    entries = read_po(path)
    language = path.parts[-3]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", ())]
    assert not fuzzy, f"fuzzy entries in {path}: {fuzzy[:5]}"
    if language == SOURCE_LANGUAGE:
        return
    nplurals = plural_forms(entries)
    untranslated = []
    for entry in entries[1:]:
        if "msgid_plural" in entry:
            forms = [entry.get(f"msgstr[{i}]", "") for i in range(nplurals)]
            if not all(forms):
                untranslated.append(entry["msgid"])
        elif not entry.get("msgstr"):
            untranslated.append(entry["msgid"])
    assert not untranslated, f"untranslated in {path}: {untranslated[:5]}"


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_compiled_catalog_matches_its_po(path):
    """The .mo holds exactly the .po's translations: compile after every .po change."""
    mo = path.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run compilemessages"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    entries = read_po(path)
    expected: dict = {}
    for entry in entries:
        key = entry["msgid"]
        if "msgctxt" in entry:
            key = f"{entry['msgctxt']}\x04{key}"
        if "msgid_plural" in entry:
            forms = {int(k[7:-1]): v for k, v in entry.items() if k.startswith("msgstr[")}
            if all(forms.values()):
                expected.update({(key, i): text for i, text in forms.items()})
        elif entry.get("msgstr"):
            expected[key] = entry["msgstr"]
    # msgfmt leaves the POT-Creation-Date out of the compiled header.
    expected[""] = "".join(
        line for line in expected[""].splitlines(True) if not line.startswith("POT-Creation-Date:")
    )
    # GNUTranslations keeps what msgfmt wrote; compare both ways (nothing stale, nothing new).
    assert compiled._catalog == expected
    for entry in entries[1:]:
        if "msgid_plural" in entry or not entry.get("msgstr"):
            continue
        if "msgctxt" in entry:
            assert compiled.pgettext(entry["msgctxt"], entry["msgid"]) == entry["msgstr"]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"]


def test_french_catalogs_ship_for_python_javascript_and_the_bot():
    languages = {(p.parts[-5], p.parts[-3], p.stem) for p in CATALOGS}
    assert {
        ("wagtail_xpm", "fr", "django"),
        ("wagtail_xpm", "fr", "djangojs"),
        ("slackbot", "fr", "django"),
        ("wagtail_xpm", "en", "django"),
        ("slackbot", "en", "django"),
    } <= languages


# --- the public contact page -----------------------------------------------------------------


@pytest.fixture
def french_site(settings, db):
    """A site whose LANGUAGE_CODE is French (the example site has no LocaleMiddleware)."""
    settings.LANGUAGE_CODE = "fr"
    return settings


def test_contact_page_in_french(french_site):
    client = Client()
    response = client.get("/contact/")
    assert response.status_code == 200
    page = text_of(response)
    assert "(facultatif)" in page  # the optional fields' marker
    assert "Envoyer la demande" in page  # the submit button
    assert "Laissez ce champ vide" in page  # the anti-spam field's label (hidden)

    response = client.post("/contact/", {})
    assert response.status_code == 200
    page = text_of(response)
    with translation.override("fr"):
        # Django's words, as the installed apps' catalogs give them ("Champ requis.").
        required = translation.gettext("This field is required.")
    assert required != "This field is required."
    assert f'<p class="xpm-lead-field__error">{required}</p>' in page
    assert not LeadSubmission.objects.exists()


def test_spam_reason_is_stored_in_the_sites_language(french_site):
    client = Client()
    data = {
        "name": "Jo Bot",
        "email": "jo@example.com",
        "message": "Cheap pills",
        spam.HONEYPOT_FIELD: "https://spam.example.com",
        spam.TIMESTAMP_FIELD: spam.form_started_token(time.time() - 30),
    }
    response = client.post("/contact/", data, REMOTE_ADDR="203.0.113.9", follow=True)
    assert response.status_code == 200
    submission = LeadSubmission.objects.get()
    assert submission.status == LeadSubmission.Status.SPAM
    assert submission.spam_reason == "Le champ anti-spam caché a été rempli."


def test_public_text_stays_english_by_default(db):
    page = text_of(Client().get("/contact/"))
    assert "(optional)" in page and "Send enquiry" in page


# --- the admin, for a user whose admin language is French ------------------------------------


@pytest.fixture
def french_admin(db, django_user_model):
    from wagtail.users.models import UserProfile

    user = django_user_model.objects.create_superuser("marie", "marie@example.com", "pw-123456")
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "fr"
    profile.save()
    client = Client()
    client.force_login(user)
    return client


def test_xpm_connection_page_in_french(french_admin, default_site):
    page = text_of(french_admin.get(reverse("wagtail_xpm:status")))
    assert "Chaque site Wagtail se connecte à un cabinet Xero Practice Manager." in page
    assert "Se connecter à Xero" in page
    assert "Non connecté" in page
    assert "Connect to Xero" not in page


def test_contacts_listing_and_sync_page_in_french(french_admin, connected_site):
    run = services.run_sync(connected_site, trigger="cli")
    assert run.status == "succeeded", run.message

    page = text_of(french_admin.get(reverse("wagtail_xpm_contact:index")))
    assert "Client XPM" in page  # the listing's column
    assert "Abonné" in page  # the subscription filter and badges

    page = text_of(
        french_admin.get(reverse("wagtail_xpm_sync:site", args=[connected_site.site_id]))
    )
    assert "Synchroniser maintenant" in page
    assert "Synchronisation terminée. Contacts\u00a0:" in page  # the run's headline, from Python
    # The page loads the app's JavaScript catalog before its script.
    catalog_url = reverse("wagtail_xpm:javascript_catalog")
    assert page.index(catalog_url) < page.index("wagtail_xpm/sync.js")


def test_admin_javascript_catalog_follows_the_users_language(french_admin, admin_client):
    url = reverse("wagtail_xpm:javascript_catalog")
    french = french_admin.get(url).content.decode()
    assert '"Retirer le groupe"' in french  # segment_builder.js
    assert '"Dur\\u00e9e\\u00a0: %(duration)s"' in french  # sync.js
    english = admin_client.get(url).content.decode()
    assert "Retirer le groupe" not in english


def test_admin_stays_english_for_other_users(admin_client, default_site):
    page = text_of(admin_client.get(reverse("wagtail_xpm:status")))
    assert "Connect to Xero" in page


# --- the Slack bot ---------------------------------------------------------------------------

SLACK_SECRET = "i18n-test-signing-secret"
TEAM = "T0I18N"


@pytest.fixture
def french_slack(french_site):
    french_site.SLACK_SIGNING_SECRET = SLACK_SECRET
    french_site.SLACK_BOT_TOKEN = "xoxb-i18n-test"
    french_site.SLACK_ALLOWED_TEAM_IDS = [TEAM]
    french_site.SLACK_BACKGROUND_WORK = False
    return french_site


def slack_command(text: str, team: str = TEAM):
    """``/xpm <text>`` as Slack sends it, signed, to the bot's HTTP endpoint."""
    body = urlencode(
        {
            "command": "/xpm",
            "text": text,
            "team_id": team,
            "user_id": "U0MARIE",
            "channel_id": "C0OPS",
            "response_url": "https://hooks.slack.invalid/commands/1",
            "trigger_id": "1.2.3",
        }
    )
    timestamp = str(int(time.time()))
    digest = hmac.new(
        SLACK_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
    ).hexdigest()
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}
    response = Client().post(
        "/slack/events",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def test_slack_bot_answers_in_the_sites_language(french_slack):
    answer = slack_command("help")
    assert answer["text"].startswith("Commandes XPM\u00a0:")
    assert "Les segments enregistrés avec leur effectif actuel." in answer["text"]
    blocks = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "Commandes du bot XPM" in blocks

    answer = slack_command("frobnicate")
    assert answer["text"].startswith("Je ne connais pas “frobnicate”.")

    refused = slack_command("status", team="T0ELSEWHERE")
    assert (
        refused["text"] == "Cet espace de travail Slack n'est pas autorisé à utiliser le bot XPM."
    )


def test_slack_messages_follow_the_active_language():
    """Replies are built in the active language: a caller may choose one per message."""
    from slackbot import blocks

    with translation.override("fr"):
        french = blocks.help_message()
    english = blocks.help_message()
    assert french.text.startswith("Commandes XPM")
    assert english.text.startswith("XPM commands:")


# The names xgettext reads for Python when `makemessages` runs (Django passes the lazy and
# contextual ones as keywords): a message marked through any other alias is never extracted,
# so it would silently stay English (as the sync usage table did under `gettext_lazy as _lazy`).
EXTRACTED_NAMES = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}


def test_messages_are_marked_only_with_names_makemessages_extracts() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    alias = re.compile(r"^from django\.utils\.translation import (.+)$", re.MULTILINE)
    wrong = []
    for package in ("wagtail_xpm", "slackbot"):
        for path in (root / package).rglob("*.py"):
            for names in alias.findall(path.read_text()):
                for name in names.strip("()").split(","):
                    local = name.split(" as ")[-1].strip()
                    original = name.split(" as ")[0].strip()
                    if original in EXTRACTED_NAMES and local not in EXTRACTED_NAMES:
                        wrong.append(f"{path.relative_to(root)}: {name.strip()}")
    assert wrong == []
