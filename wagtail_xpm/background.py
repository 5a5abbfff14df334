"""The one door from the product's code to the background queue.

Cores and ``services.py`` say what should happen later, by name ("deliver_lead", 42); the
Huey adapters (the ``tasks.py`` modules) register how, when ``WagtailXpmConfig.ready``
imports them. So no core imports Huey or a tasks module, and nothing cycles through the
queue (docs/architecture.md). Like Huey's own registry, but one the cores may see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

_tasks: dict[str, Any] = {}


def register(name: str, task: Any) -> Any:
    """Make ``task`` (a Huey task: callable, with ``.schedule``) the one queued as ``name``."""
    _tasks[name] = task
    return task


def _task(name: str) -> Any:
    try:
        return _tasks[name]
    except KeyError:
        raise LookupError(
            f"No background task named {name!r}: is 'wagtail_xpm' in INSTALLED_APPS?"
        ) from None


def enqueue(name: str, *args: Any, delay: float | None = None) -> None:
    """Queue ``name(*args)`` now, or in ``delay`` seconds."""
    task = _task(name)
    if delay:
        task.schedule(args, delay=delay)
    else:
        task(*args)


def enqueue_on_commit(name: str, *args: Any) -> Callable[[], None]:
    """Queue ``name(*args)`` once the current transaction commits (at once outside one), so
    a worker never looks for a row that is not there yet."""
    task = _task(name)

    def send() -> None:
        task(*args)

    transaction.on_commit(send)
    return send
