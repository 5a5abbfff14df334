"""Delivering stored website enquiries to XPM as leads, safely repeatable.

docs/architecture.md ("A website enquiry, from the form to ``lead.api/add``") places this
package; docs/leads.md ("Nothing lost") says what the firm sees. The delivery path::

    leads/intake.py    stores the LeadSubmission (the outbox row), queues deliver_lead
         |             (not while the site's deliveries are paused: pausing.paused_for)
         v
    leads/tasks.py     deliver_lead(id)
         |
         v
    delivery.deliver   not for XPM, not due yet, or paused: return at once
         |             transitions.claim: one conditional UPDATE, one winner
         v
    prerequisites      a connection, leads switched on, a lead owner (a name the config
         |             document left pending resolved through the same client factory)
         v
    client_step        website CRM contact | client.api/search | client.api/add
         |             (marked started before it is sent)
         v
    lead_step          lead.api/current after a lost answer | lead.api/add
         |             (marked started; described by description.describe)
         v
    sent, or outcomes  retry with backoff / postpone / fail, the admins told (notices),
                       the site's other deliveries paused a moment (pausing)

    sweep_leads        sweeper.sweep: due rows, rows a dead worker left, fixed failures
    the admin          transitions.requeue / mark_spam, sweeper.waiting_for_owner,
                       description.describe / owner_label

Every step stores its result on the row (``row.py``) before the next starts; XPM has no
idempotency key, so a create marked *started* is looked up before it is ever sent again.
Callers use this package's names below, not its modules.
"""

from .delivery import deliver
from .description import describe, display_value, owner_label, reference_of
from .notices import admin_url
from .outcomes import Outcome, backoff_seconds, fail, postpone, retry
from .pausing import PAUSE_SECONDS, pause, pause_key, paused_for
from .prerequisites import Blocked, KeepLocal
from .sweeper import FRESH_GRACE, SELF_HEALING, SweepResult, sweep, waiting_for_owner
from .transitions import claim, mark_spam, requeue

__all__ = [
    "FRESH_GRACE",
    "PAUSE_SECONDS",
    "SELF_HEALING",
    "Blocked",
    "KeepLocal",
    "Outcome",
    "SweepResult",
    "admin_url",
    "backoff_seconds",
    "claim",
    "deliver",
    "describe",
    "display_value",
    "fail",
    "mark_spam",
    "owner_label",
    "pause",
    "pause_key",
    "paused_for",
    "postpone",
    "reference_of",
    "requeue",
    "retry",
    "sweep",
    "waiting_for_owner",
]
