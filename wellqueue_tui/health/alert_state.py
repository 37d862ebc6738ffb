"""The state of one rule on one queue and the pure step that moves it, with hysteresis: a value must stay
above the threshold for `for_s` to fire, and at or below the lower resolve level for `clear_for_s` to
resolve, so a value hovering at the threshold neither fires early nor flaps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .alert_rules import AlertRule

Status = Literal["ok", "pending", "firing", "resolving"]
Transition = Literal["fired", "resolved"]


class AlertState(BaseModel):
    """Where a rule stands on a queue; `outbox` holds notifications decided but not yet enqueued."""

    model_config = ConfigDict(extra="ignore")

    rule: str
    queue: str
    kind: str | None = None  # the rule's kind, so a value can be shown in its unit (a share, a count, seconds)
    status: Status = "ok"
    since: float = 0.0  # when the status began (Redis server time)
    value: float | None = None  # the last value evaluated
    fired_at: float | None = None  # the current (or last) firing; part of the notification ids
    resolved_at: float | None = None
    outbox: list[Transition] = Field(default_factory=list)
    notify_error: str | None = None

    @property
    def firing(self) -> bool:
        """Firing, or firing and waiting out its clear time (still shown in the alert bar)."""
        return self.status in ("firing", "resolving")


def alert_state_field(rule: str, queue: str) -> str:
    """The field of one (rule, queue) state in the schema's `alert_state` hash."""
    return f"{rule}|{queue}"


def step(rule: AlertRule, state: AlertState, value: float | None, now: float) -> tuple[AlertState, Transition | None]:
    """The next state for `value` at `now`, and the transition it made (None when it made none).
    A missing value (no data, too few samples) counts as clear."""
    breach = value is not None and value > rule.threshold
    clear = value is None or value <= rule.resolve_level
    status, since = state.status, state.since

    if status in ("ok", "pending"):
        if not breach:
            return _update(state, "ok", since if status == "ok" else now, value), None
        start = since if status == "pending" else now
        if now - start >= rule.for_s:
            return _fire(state, value, now), "fired"
        return _update(state, "pending", start, value), None

    if not clear:  # firing, or resolving and back above the resolve level: firing, no new notification
        return _update(state, "firing", since if status == "firing" else now, value), None
    start = since if status == "resolving" else now
    if now - start >= rule.clear_for_s:
        resolved = state.model_copy(
            update={
                "status": "ok",
                "since": now,
                "value": value,
                "resolved_at": now,
                "outbox": [*state.outbox, "resolved"],
            }
        )
        return resolved, "resolved"
    return _update(state, "resolving", start, value), None


def _update(state: AlertState, status: Status, since: float, value: float | None) -> AlertState:
    return state.model_copy(update={"status": status, "since": since, "value": value})


def _fire(state: AlertState, value: float | None, now: float) -> AlertState:
    return state.model_copy(
        update={
            "status": "firing",
            "since": now,
            "value": value,
            "fired_at": now,
            "resolved_at": None,
            "outbox": [*state.outbox, "fired"],
        }
    )
