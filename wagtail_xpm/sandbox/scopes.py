"""Scopes: what the consent page can grant and what each endpoint accepts (docs/xpm-api.md 1.5)."""

from __future__ import annotations

# Scope -> the words the consent page shows for it.
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "openid": "Confirm your identity",
    "profile": "See your name",
    "email": "See your email address",
    "offline_access": (
        "Keep access to the data you have allowed, even when you are not using the app"
    ),
    "practicemanager": "View and manage your Practice Manager data",
    "practicemanager.read": "View your Practice Manager data",
    "practicemanager.client": "View and manage your Practice Manager client data",
    "practicemanager.client.read": "View your Practice Manager client data",
    "practicemanager.staff": "View and manage your Practice Manager staff data",
    "practicemanager.staff.read": "View your Practice Manager staff data",
    "practicemanager.job": "View and manage your Practice Manager job data",
    "practicemanager.job.read": "View your Practice Manager job data",
    "practicemanager.time": "View and manage your Practice Manager time data",
    "practicemanager.time.read": "View your Practice Manager time data",
    "accounting.contacts": "View and manage your contacts in Xero",
    "accounting.contacts.read": "View your contacts in Xero",
    "accounting.settings.read": "View your organisation settings in Xero",
}

KNOWN_SCOPES = frozenset(SCOPE_DESCRIPTIONS)

# The default set `issue_tokens()` grants: what the website integration asks for.
DEFAULT_SCOPES = (
    "offline_access",
    "practicemanager",
    "practicemanager.client",
    "practicemanager.staff.read",
)

BROAD = frozenset({"practicemanager"})
BROAD_READ = frozenset({"practicemanager", "practicemanager.read"})
CLIENT_READ = frozenset(
    {
        "practicemanager",
        "practicemanager.read",
        "practicemanager.client",
        "practicemanager.client.read",
    }
)
CLIENT_WRITE = frozenset({"practicemanager", "practicemanager.client"})
STAFF_READ = frozenset(
    {
        "practicemanager",
        "practicemanager.read",
        "practicemanager.staff",
        "practicemanager.staff.read",
    }
)


def parse_scope(text: str | None) -> list[str]:
    """Space-separated scopes, de-duplicated, in the order given."""
    seen: list[str] = []
    for scope in (text or "").split():
        if scope not in seen:
            seen.append(scope)
    return seen


def describe(scopes: list[str]) -> list[tuple[str, str]]:
    """(scope, words) pairs for the consent page."""
    return [(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in scopes]
