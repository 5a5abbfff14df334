"""What a run read from XPM: its clients and their contacts, trimmed, as plain data.

The list step (engine.py) builds these from ``client.api/list``; sync/steps.py keeps them as
JSON between steps; planner.py plans the writes from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SeenContact:
    client_uuid: str
    uuid: str
    name: str
    email: str
    phone: str
    mobile: str
    position: str
    is_primary: bool


@dataclass(slots=True)
class SeenClient:
    uuid: str
    name: str
    email: str
    is_archived: bool
    is_deleted: bool
    is_prospect: bool
    web_url: str
    content_hash: str
    standard_data: dict[str, Any]
    contacts: list[SeenContact] = field(default_factory=list)
