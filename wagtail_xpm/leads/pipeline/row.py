"""The claimed submission during one attempt, and how each step's result is stored.

Every result is saved at once, in its own (auto-committed) write, before the next step
starts: a worker that dies mid-way leaves a row the next attempt can carry on from without
creating anything twice in XPM (docs/leads.md, "Nothing lost").
"""

from __future__ import annotations

from typing import Any

from ...models import LeadSubmission, email_key


class DeliveryRow:
    """One claimed submission being delivered, with what the steps share about it."""

    def __init__(self, submission: LeadSubmission) -> None:
        self.sub = submission
        # The visitor's email as the website CRM matches it (trimmed, any case).
        self.key = email_key(submission.email)
        # Set once the client the CRM remembered was refused and looked up again: the CRM
        # is not asked a second time, and the lookup is not repeated (lead_step.py).
        self.refound = False

    def save(self, **values: Any) -> None:
        """Store a step's result now, in its own (auto-committed) write."""
        for name, value in values.items():
            setattr(self.sub, name, value)
        self.sub.save(update_fields=[*values, "updated_at"])

    def note(self, text: str) -> None:
        """Add a line to the row's notes (shown in the admin)."""
        notes = f"{self.sub.notes}\n{text}".strip() if self.sub.notes else text
        self.save(notes=notes)
