"""The ``/xpm`` sub-commands: what they are called, how their text is read, who may use them.

Pure (no Bolt; of Django only its translations): :func:`parse_command` turns the text after
``/xpm`` into a :class:`Command`, and :data:`COMMANDS` is the catalogue ``/xpm help`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .expressions import clean_slack_text

# Django permissions (any one of them suffices) per action; docs/contracts.md 4.4's rule.
MANAGE = "wagtail_xpm.manage_connection"
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "sync": (MANAGE,),
    "status": (
        MANAGE,
        "wagtail_xpm.run_sync",
        "wagtail_xpm.view_xpmconnection",
        "wagtail_xpm.view_syncrun",
    ),
    "staff": ("wagtail_xpm.view_practicestaff", MANAGE),
    "set_lead_owner": (MANAGE,),
    "segment": ("wagtail_xpm.view_contact",),
    "segments": ("wagtail_xpm.view_contact",),
    "who": ("wagtail_xpm.view_contact",),
    "save_segment": ("wagtail_xpm.add_segment",),
}


@dataclass(frozen=True)
class CommandInfo:
    """One line of ``/xpm help``."""

    name: str
    usage: str
    summary: str | Promise  # translated when shown
    example: str = ""


COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo(
        "sync",
        "sync [full] [dry-run]",
        _(
            "Sync XPM clients into the website CRM now; this message shows progress, then a "
            "summary. `full` re-reads every client; `dry-run` shows what would change."
        ),
        "/xpm sync full",
    ),
    CommandInfo(
        "status",
        "status",
        _(
            "Connection health, the last sync, XPM calls left today, and website enquiries "
            "waiting or failed."
        ),
    ),
    CommandInfo(
        "staff",
        "staff <name or email>",
        _("XPM staff with their ids, and a button to make one the owner of website leads."),
        "/xpm staff jo",
    ),
    CommandInfo(
        "segment",
        "segment <expression>",
        _(
            "Count the contacts that match, with a sample and a Save button. Operators: =, !=, "
            "contains, starts with, in, not in, is blank, >, <, before, after, within the next "
            "N days. Alone, it opens a builder with a live count."
        ),
        "/xpm segment Account Manager = John and Balance Month = June",
    ),
    CommandInfo("segments", "segments", _("Saved segments with their current counts.")),
    CommandInfo(
        "who",
        "who <email>",
        _("A contact, their XPM clients and the segments they are in."),
        "/xpm who jo@example.com",
    ),
    CommandInfo("help", "help", _("This list.")),
)
COMMAND_NAMES = frozenset(c.name for c in COMMANDS)
# Words people reach for, mapped to the command they mean.
_ALIASES = {
    "?": "help",
    "": "help",
    "health": "status",
    "stat": "status",
    "lookup": "who",
    "whois": "who",
    "contact": "who",
    "seg": "segment",
    "segs": "segments",
    "find": "segment",
}


@dataclass(frozen=True)
class Command:
    """A parsed ``/xpm`` invocation: the sub-command and the rest of the text."""

    name: str
    args: str = ""
    # What was typed when the sub-command is unknown.
    typed: str = ""

    @property
    def known(self) -> bool:
        return self.name in COMMAND_NAMES


class UsageError(ValueError):
    """The sub-command's arguments are not understood."""


def parse_command(text: str) -> Command:
    """``"sync full"`` → ``Command("sync", "full")``; unknown words → ``Command("unknown")``."""
    text = clean_slack_text(text or "").strip()
    head, _, rest = text.partition(" ")
    word = head.casefold().lstrip("-")
    name = _ALIASES.get(word, word)
    if name not in COMMAND_NAMES:
        return Command("unknown", text, typed=head)
    return Command(name, rest.strip())


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    dry_run: bool = False


def parse_sync_options(args: str) -> SyncOptions:
    """``full`` and ``dry-run`` (also ``--full``, ``dryrun``, ``dry_run``) in any order."""
    full = dry_run = False
    for word in args.casefold().split():
        word = word.lstrip("-").replace("_", "-")
        if word == "full":
            full = True
        elif word in ("dry-run", "dryrun", "dry", "preview"):
            dry_run = True
        elif word in ("run",):  # "dry run" typed as two words
            continue
        else:
            raise UsageError(
                gettext("%(word)s is not a sync option: use `/xpm sync [full] [dry-run]`.")
                % {"word": f"`{word}`"}
            )
    return SyncOptions(full=full, dry_run=dry_run)
