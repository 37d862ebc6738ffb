"""Holds on one destination of a queue: while a per-destination circuit breaker (health/breaker.py) is open
for an outside service that a queue's jobs call (a webhook host), the queue keeps running but its jobs bound
for that destination are held back, and one of them goes through as the probe when the breaker half-opens.
This module names the hold and reads it; the breaker writes it and jobs/middleware/destinations.py obeys it."""

from __future__ import annotations

import json
from dataclasses import dataclass

#: Bounds on how long one held job waits before it looks again.
MIN_HOLD_MS = 1_000
MAX_HOLD_MS = 10 * 60_000


def hold_field(queue: str, destination: str) -> str:
    """The field naming one destination of one queue in the holds, breaker state and probe hashes."""
    return f"{queue}@{destination}"


def split_field(field: str) -> tuple[str, str]:
    """(queue, destination) of a `hold_field` (queue names hold no "@"; a destination may)."""
    queue, _, destination = field.partition("@")
    return queue, destination


@dataclass(frozen=True)
class DestinationHold:
    """Set when the breaker opens: held jobs wait until `until_ms`, then `every_ms` at a time while it probes."""

    until_ms: int
    every_ms: int

    def delay_ms(self, now_ms: int) -> int:
        wait = self.until_ms - now_ms if self.until_ms > now_ms else self.every_ms
        return max(MIN_HOLD_MS, min(wait, MAX_HOLD_MS))

    def encode(self) -> str:
        return json.dumps({"until_ms": self.until_ms, "every_ms": self.every_ms})

    @classmethod
    def decode(cls, raw: bytes | str) -> DestinationHold | None:
        try:
            fields = json.loads(raw)
            return cls(int(fields["until_ms"]), int(fields["every_ms"]))
        except (ValueError, TypeError, KeyError):
            return None  # a garbled hold holds nothing back


def read_holds(raw: dict) -> dict[str, DestinationHold]:
    """The holds hash (as HGETALL returns it) decoded, garbled entries left out."""
    holds = {}
    for field, value in raw.items():
        hold = DestinationHold.decode(value)
        if hold is not None:
            holds[field.decode("utf-8", "replace") if isinstance(field, bytes) else str(field)] = hold
    return holds
