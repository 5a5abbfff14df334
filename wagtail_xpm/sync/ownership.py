"""The firm's same-email rule: which website contact an XPM contact's address belongs to.

The contacts table keeps one contact per address (``Contact.email_key``: trimmed,
case-insensitive; wagtail_xpm/models/contacts.py), while XPM lets several contacts share
one. The rule (docs/architecture.md, "A sync", step 3):

* **own**: an XPM contact writes to its own row, found by its ContactID, or to a new one
  when its address is blank or nobody holds it yet;
* **adopt**: a contact a website form (or an editor) made, holding the address and tied to
  no XPM contact, becomes this XPM contact's row: one person, not two; what the visitor
  typed stays (``form_locked_fields``);
* **skip**: the address already belongs to another XPM contact, from an earlier run or
  earlier in this one (XPM's list order): this contact is skipped and reported, and the
  holder is linked to its client too.

Ownership never flips: a contact whose address in XPM moves to one another contact holds
keeps the address it has (``may_take_address``).

Whether a holder is tied to an XPM contact is read from the ContactID it carries, not from
``Contact.source``: an adopted form contact keeps ``source = form`` but belongs to the XPM
contact that adopted it, so a later contact with the same address is skipped.
"""

from __future__ import annotations

import enum
from typing import Protocol


class AddressHolder(Protocol):
    """The contact that holds an address: a row already stored, or one this run gave it to."""

    @property
    def xpm_contact_id(self) -> str:
        """The XPM contact it belongs to; empty for a contact a form or an editor made."""
        ...


class Ownership(enum.Enum):
    """What the same-email rule decides for one XPM contact."""

    OWN = "own"  # its own row, or a new one
    ADOPT = "adopt"  # the form or hand-made contact holding the address becomes its row
    SKIP = "skip"  # another XPM contact holds the address: skipped, holder linked to its client


def decide(address_key: str, *, has_own_row: bool, holder: AddressHolder | None) -> Ownership:
    """The rule for one XPM contact.

    ``address_key`` is its address as ``email_key`` makes it ("" when blank); ``has_own_row``
    says whether a contact carries its ContactID already; ``holder`` is the contact holding
    the address, stored or claimed earlier in this run (None when nobody does).
    """
    if has_own_row or not address_key or holder is None:
        return Ownership.OWN
    if holder.xpm_contact_id:
        return Ownership.SKIP
    return Ownership.ADOPT


def may_take_address(address_key: str, *, holder: object | None, contact: object) -> bool:
    """Whether ``contact`` takes the address XPM has for it: never a blank one (it keeps the
    address it has) and never one another contact holds (ownership never flips)."""
    return bool(address_key) and (holder is None or holder is contact)
