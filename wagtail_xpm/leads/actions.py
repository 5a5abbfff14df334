"""The one way an enquiry is deleted: Website enquiries -> Delete, by someone allowed to
delete enquiries on its site, logged (registered for LeadSubmission with Wagtail's
``register_actions`` hook in ``wagtail_hooks``).

The outbox row is the enquiry: once deleted, the visitor's message is gone. The model refuses
every other delete (``models/leads.py``), so Wagtail's Forms screens, a bulk delete or a
cascade cannot lose one.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext
from wagtail.actions.delete import DeleteAction
from wagtail.log_actions import log

from ..models.leads import enquiry_delete_allowed


def enquiry_label(submission) -> str:
    """How the log names a deleted enquiry: its number, never the visitor's name."""
    return gettext("Website enquiry #%(id)s") % {"id": submission.pk}


class DeleteEnquiryAction(DeleteAction):
    """Checks the permission on the enquiry's site every time, even when the view says it
    already did, then logs and deletes."""

    def execute(self, skip_permission_checks=False):
        if self.user is None or not self.user_has_permission():
            raise self.permission_error_class(
                "Deleting a website enquiry needs a user allowed to delete enquiries on its site."
            )
        return self._delete()

    def _delete(self):
        with transaction.atomic():
            if self.log_action:
                log(
                    instance=self.instance,
                    action=self.log_action,
                    user=self.user,
                    deleted=True,
                    title=enquiry_label(self.instance),
                )
            with enquiry_delete_allowed():
                return self.instance.delete()
