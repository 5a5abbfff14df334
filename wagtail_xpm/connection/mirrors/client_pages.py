"""The client's page in XPM, fetched once and kept on its mirror row (``PracticeClient``)."""

from __future__ import annotations

from ...models import PracticeClient, XpmConnection
from ..factory import client_for


def client_web_url(connection: XpmConnection, client_uuid: str) -> str:
    """The client's page in XPM, or "" when XPM gives none.

    XPM's client list carries no web address, only ``client.api/get`` does: it is fetched
    once (one API call) and kept on the client's mirror row. Raises XpmError.
    """
    mirror = PracticeClient.objects.filter(connection=connection, uuid=client_uuid).first()
    if mirror is not None and mirror.web_url:
        return mirror.web_url
    url = client_for(connection).get_client(client_uuid).web_url or ""
    if not url.startswith(("https://", "http://")):
        return ""
    PracticeClient.objects.filter(connection=connection, uuid=client_uuid).update(web_url=url)
    return url
