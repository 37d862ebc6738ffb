"""What one delivery of a message came to: set by the middleware, read by the consumer's ack/nack, which
records it in the same script call that acknowledges the message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dramatiq.message import Message

from ..signature import failure_group_args

#: `ack`: acknowledged without touching the registry (e.g. a delayed copy moved to its ready queue).
#: `held`: not run, scheduled again later without spending an attempt (its destination's breaker is open).
OutcomeKind = Literal["completed", "retry", "failed", "requeued", "held", "ack"]
_ATTRIBUTE = "_wq_outcome"


@dataclass(frozen=True)
class Outcome:
    """The finish script's inputs for one delivery (error and traceback only for retry and failed)."""

    kind: OutcomeKind
    duration_ms: int = 0
    worker: str = ""
    error: str = ""
    traceback: str = ""
    result: str = ""  # JSON, size-capped; "" for none
    retry: Message | None = None  # the delayed copy to schedule, for kinds "retry" and "held"


def record_outcome(message, outcome: Outcome) -> None:
    """Attach `outcome` to the message proxy the worker will ack or nack."""
    setattr(message, _ATTRIBUTE, outcome)


def outcome_of(message) -> Outcome | None:
    return getattr(message, _ATTRIBUTE, None)


def storable(text: str) -> str:
    """Text Redis can take: lone surrogates (from undecodable bytes) become visible backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def failure_group_of(message, outcome: Outcome) -> list[str]:
    """The finish script's failure-group arguments (group id, signature, payload fields JSON): for a job failed
    for good, filed by its error's signature; three empty strings for every other outcome."""
    if outcome.kind != "failed":
        return ["", "", ""]
    args = getattr(message, "args", ())
    return failure_group_args(outcome.error, args[0] if args else None)
