"""Fault injection: throttling, outages (once or in recurring bursts), failing every Nth
call, slow responses, hostile bodies and dropped connections, so clients can be tested
against a misbehaving XPM.

Refusals (429, injected statuses) happen before the handler runs, so nothing changes;
a replaced body or a dropped connection happens after it, so the change is made but the
client never hears about it: exactly the case where a create must not be retried blindly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

API_PREFIX = "/practicemanager/"


@dataclass(slots=True)
class FaultRule:
    """One injected behaviour. ``remaining`` None means "until reset"."""

    kind: str  # throttle | status | every | burst | slow | body | drop
    remaining: int | None = 1
    path: str | None = None
    status: int = 503
    problem: str = "minute"
    retry_after: int | None = 30
    every: int = 0
    length: int = 0
    seconds: float = 0.0
    # Bytes, or a callable giving byte chunks: a body too big to build is streamed.
    body: bytes | Callable[[], Iterable[bytes]] = b""
    content_type: str = "text/xml; charset=utf-8"
    seen: int = 0

    def payload(self) -> bytes | Iterable[bytes]:
        """The replacement body to send (a fresh chunk iterator for a streamed one)."""
        return self.body() if callable(self.body) else self.body

    def matches(self, path: str) -> bool:
        if self.path is None:
            return path.startswith(API_PREFIX)
        return self.path.lower() in path.lower()


@dataclass(slots=True)
class FaultPlan:
    """What to do to one request, decided before it is handled."""

    delay: float = 0.0
    refuse: FaultRule | None = None
    after: list[FaultRule] = field(default_factory=list)


class Faults:
    """The knobs. Every method returns ``self`` so calls can be chained; ``reset()`` clears."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def _add(self, rule: FaultRule) -> Faults:
        with self._lock:
            self._rules.append(rule)
        return self

    def throttle(
        self,
        n: int = 1,
        *,
        problem: str = "minute",
        retry_after: int | None = 30,
        path: str | None = None,
    ) -> Faults:
        """Answer the next ``n`` calls with 429 (``X-Rate-Limit-Problem: problem``)."""
        if problem in ("concurrent",):
            retry_after = None
        return self._add(
            FaultRule("throttle", n, path, 429, problem=problem, retry_after=retry_after)
        )

    def outage(self, n: int = 1, *, status: int = 503, path: str | None = None) -> Faults:
        """Answer the next ``n`` calls with ``status`` (503 ServiceNotAvailable by default)."""
        return self._add(FaultRule("status", n, path, status))

    def fail_every(
        self,
        n: int,
        *,
        status: int = 500,
        path: str | None = None,
        problem: str = "minute",
        retry_after: int | None = 30,
    ) -> Faults:
        """Fail every ``n``-th matching call with ``status`` until reset (a 429 carries
        ``problem`` and ``retry_after`` like :meth:`throttle`)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        return self._add(
            FaultRule(
                "every", None, path, status, every=n, problem=problem, retry_after=retry_after
            )
        )

    def burst(self, n: int, *, every: int, status: int = 503, path: str | None = None) -> Faults:
        """Fail ``n`` consecutive matching calls out of every ``every`` (the last ``n`` of
        each run of ``every`` calls) with ``status`` until reset: an outage that comes and
        goes, long enough to use up a client's quick retries."""
        if not 1 <= n < every:
            raise ValueError("burst needs 1 <= n < every")
        return self._add(FaultRule("burst", None, path, status, every=every, length=n))

    def slow(self, seconds: float, *, n: int | None = None, path: str | None = None) -> Faults:
        """Delay the next ``n`` calls (all calls when ``n`` is None) by ``seconds``."""
        return self._add(FaultRule("slow", n, path, seconds=seconds))

    def replace_body(
        self,
        body: bytes | str | Callable[[], Iterable[bytes]],
        *,
        n: int = 1,
        status: int = 200,
        content_type: str = "text/xml; charset=utf-8",
        path: str | None = None,
    ) -> Faults:
        """Send ``body`` instead of the real response for the next ``n`` calls.

        ``body`` may be a callable returning an iterable of byte chunks: it is called per
        response and streamed (chunked, no Content-Length), so a 200 MB body is never built.
        """
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self._add(FaultRule("body", n, path, status, body=data, content_type=content_type))

    def drop(self, n: int = 1, *, path: str | None = None) -> Faults:
        """Close the connection without a response on the next ``n`` calls."""
        return self._add(FaultRule("drop", n, path))

    def reset(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._rules.clear()

    @property
    def active(self) -> bool:
        """Whether any fault is armed."""
        return bool(self._rules)

    def plan(self, path: str) -> FaultPlan:
        """Consume the faults that apply to a request to ``path``."""
        plan = FaultPlan()
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(path):
                    continue
                fires = True
                if rule.kind == "every":
                    rule.seen += 1
                    fires = rule.seen % rule.every == 0
                elif rule.kind == "burst":
                    rule.seen += 1
                    fires = (rule.seen - 1) % rule.every >= rule.every - rule.length
                elif rule.kind in ("throttle", "status") and plan.refuse is not None:
                    fires = False
                if not fires:
                    continue
                if rule.kind == "slow":
                    plan.delay += rule.seconds
                elif rule.kind in ("throttle", "status", "every", "burst"):
                    if plan.refuse is not None:
                        continue
                    plan.refuse = rule
                else:
                    plan.after.append(rule)
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
        return plan

    def configure(self, data: dict[str, Any]) -> Faults:
        """Arm faults from JSON (``POST /_sandbox/faults``)::

        {"reset": true,
         "throttle": {"n": 2, "problem": "minute", "retry_after": 5},
         "outage": {"n": 3}, "fail_every": {"n": 4, "status": 500},
         "burst": {"n": 5, "every": 200, "status": 503},
         "slow": {"seconds": 0.5, "n": 10}, "drop": {"n": 1},
         "replace_body": {"body": "<Response>...", "n": 1}}
        """
        if data.get("reset"):
            self.reset()
        if "throttle" in data:
            self.throttle(**_args(data["throttle"], "n", "problem", "retry_after", "path"))
        if "outage" in data:
            self.outage(**_args(data["outage"], "n", "status", "path"))
        if "fail_every" in data:
            self.fail_every(**_args(data["fail_every"], "n", "status", "path"))
        if "burst" in data:
            self.burst(**_args(data["burst"], "n", "every", "status", "path"))
        if "slow" in data:
            self.slow(**_args(data["slow"], "seconds", "n", "path"))
        if "drop" in data:
            self.drop(**_args(data["drop"], "n", "path"))
        if "replace_body" in data:
            self.replace_body(
                **_args(data["replace_body"], "body", "n", "status", "content_type", "path")
            )
        return self

    def snapshot(self) -> list[dict[str, Any]]:
        """The armed faults, JSON-ready."""
        with self._lock:
            rules = [asdict(rule) for rule in self._rules]
        for rule in rules:
            body = rule["body"]
            rule["body"] = (
                body.decode("utf-8", "replace") if isinstance(body, bytes) else "<streamed>"
            )
        return rules


def _args(spec: Any, *allowed: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValueError("each fault takes an object of options")
    unknown = set(spec) - set(allowed)
    if unknown:
        raise ValueError(f"unknown fault options: {sorted(unknown)}")
    return dict(spec)
