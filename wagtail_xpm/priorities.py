"""Huey priorities: short tasks run ahead of sync steps.

A sync is a chain of steps (wagtail_xpm/sync/steps.py) that can keep every worker busy when
many practices are due at once; a lead delivery, a campaign batch, the scheduler or a Slack
reply queued behind them would wait for minutes. With a storage that orders by priority
(Huey's MemoryHuey, SqliteHuey, PriorityRedisHuey: docs/production.md "Huey consumers") a
worker that frees up takes the short task first. Plain ``RedisHuey`` refuses any priority,
so there every task is queued without one (in arrival order, as before).

Only the ``tasks.py`` adapters import this module (it reads Huey's configured storage).
"""

from __future__ import annotations

# Higher runs first; tasks given no priority count as 0.
SHORT = 10
SYNC_STEP = 0


def _supported() -> bool:
    from huey.contrib.djhuey import HUEY

    return bool(getattr(HUEY.storage, "priority", False))


def short() -> int | None:
    """The priority of a task that takes seconds and someone may be waiting for."""
    return SHORT if _supported() else None


def sync_step() -> int | None:
    """The priority of one step of a sync chain."""
    return SYNC_STEP if _supported() else None
