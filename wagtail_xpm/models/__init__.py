from .connection import XpmConnection
from .settings import XpmSiteSettings

__all__ = ["XpmConnection", "XpmSiteSettings"]
