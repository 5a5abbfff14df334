from .connection import XpmConnection
from .contacts import Contact, ContactClientLink, email_key
from .mapping import FieldMapping
from .practice import PracticeClient, PracticeClientGroup, PracticeCustomField, PracticeStaff
from .settings import XpmSiteSettings
from .sync import SyncRun

__all__ = [
    "Contact",
    "ContactClientLink",
    "FieldMapping",
    "PracticeClient",
    "PracticeClientGroup",
    "PracticeCustomField",
    "PracticeStaff",
    "SyncRun",
    "XpmConnection",
    "XpmSiteSettings",
    "email_key",
]
