"""Token upkeep: keeping idle connections' refresh tokens alive and rotating the key that
encrypts them (wagtail_xpm/tokenstore.py, wagtail_xpm/crypto.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..crypto import rotate
from ..models import XpmConnection
from ..tokenstore import DatabaseTokenStore
from ..xpm.errors import XpmError
from .oauth import oauth

logger = logging.getLogger(__name__)


def keep_tokens_fresh(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Refresh idle connections' tokens: unused Xero refresh tokens expire after 60 days."""
    cutoff = timezone.now() - older_than
    refreshed = 0
    idle = XpmConnection.objects.filter(
        status=XpmConnection.Status.CONNECTED, last_refreshed_at__lt=cutoff
    )
    for connection in idle:
        store = DatabaseTokenStore(connection.pk)
        try:
            store.refresh(store.load(), oauth().refresh)
        except XpmError as exc:
            logger.warning("Could not refresh idle connection %s: %s", connection.pk, exc)
            continue
        refreshed += 1
    return refreshed


def rotate_token_keys() -> int:
    """Re-encrypt every stored token set with the newest TOKEN_KEYS entry."""
    count = 0
    ids = XpmConnection.objects.exclude(token_ciphertext="").values_list("pk", flat=True)
    for pk in list(ids):
        # Same row lock as a refresh, so a rotation never overwrites a newer token set.
        with transaction.atomic():
            connection = XpmConnection.objects.select_for_update().get(pk=pk)
            if connection.token_ciphertext:
                connection.token_ciphertext = rotate(connection.token_ciphertext)
                connection.save(update_fields=["token_ciphertext", "updated_at"])
                count += 1
    return count
