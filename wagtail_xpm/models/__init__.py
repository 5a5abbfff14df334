from .campaigns import Campaign, CampaignRecipient
from .connection import XpmConnection
from .consent import ConsentConfirmation, ConsentEvent, XpmOptOutWrite
from .contacts import Contact, ContactClientLink, email_key
from .deliverability import DeliveryEvent, EmailSuppression
from .exports import ContactExport
from .leads import LeadSubmission, PracticeLeadCategory
from .mapping import FieldMapping
from .practice import PracticeClient, PracticeClientGroup, PracticeCustomField, PracticeStaff
from .segments import Segment
from .settings import XpmSiteSettings
from .sync import SyncRun, SyncRunState

__all__ = [
    "Campaign",
    "CampaignRecipient",
    "ConsentConfirmation",
    "ConsentEvent",
    "Contact",
    "ContactClientLink",
    "ContactExport",
    "DeliveryEvent",
    "EmailSuppression",
    "FieldMapping",
    "LeadSubmission",
    "PracticeClient",
    "PracticeClientGroup",
    "PracticeCustomField",
    "PracticeLeadCategory",
    "PracticeStaff",
    "Segment",
    "SyncRun",
    "SyncRunState",
    "XpmConnection",
    "XpmOptOutWrite",
    "XpmSiteSettings",
    "email_key",
]
