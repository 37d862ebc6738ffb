"""A per-queue circuit breaker's configuration, state and the pure decision that moves it:
closed → open (queue paused) → after the cool-down half-open (one probe job let through) → closed on
success (queue resumed), or open again with a doubled cool-down on failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

BreakerStatus = Literal["closed", "open", "half_open"]
ProbeOutcome = Literal["none", "offered", "lost", "running", "success", "failure"]
BreakerAction = Literal["open", "half_open", "reoffer", "close", "reopen", "reset"]
#: A probe token that was claimed but brought no job (nothing was waiting) is offered again after this long.
REOFFER_AFTER_S = 2.0


class BreakerConfig(BaseModel):
    """Opt-in per queue: open when at least `min_samples` attempts finished in the last `window_minutes`
    and `failure_rate` of them (or more) failed. With `per_destination`, one breaker per outside service the
    queue's jobs call (a webhook's host; see `JobKind.destination_of`): opening holds back only the jobs bound
    for that destination, and the queue keeps running."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    queue: str = Field(min_length=1, max_length=100)
    failure_rate: float = Field(default=0.5, gt=0, le=1)
    window_minutes: int = Field(default=1, ge=1, le=60)
    min_samples: int = Field(default=5, ge=1)
    cooldown_s: float = Field(default=30.0, gt=0, le=86_400)
    max_cooldown_s: float = Field(default=600.0, gt=0, le=7 * 86_400)
    probe_timeout_s: float = Field(default=120.0, gt=0, le=86_400)
    per_destination: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def _coherent(self) -> BreakerConfig:
        if self.max_cooldown_s < self.cooldown_s:
            raise ValueError("max_cooldown_s must be at least cooldown_s")
        return self


class BreakerState(BaseModel):
    """Where one queue's (or one destination's) breaker stands; `queue` is the queue name, or
    "{queue}@{destination}" for a per-destination breaker; `baseline` holds the counters of the minute it closed in, so the
    failures that opened it are not counted again."""

    model_config = ConfigDict(extra="ignore")

    queue: str
    status: BreakerStatus = "closed"
    since: float = 0.0
    cooldown_s: float = 0.0  # of the current (or last) opening
    opened: int = 0  # times opened since it was last closed by a successful probe
    closed_minute: int | None = None
    baseline: tuple[int, int] = (0, 0)  # (finished, failed) in `closed_minute` when it closed
    probe_offered_at: float | None = None
    last_rate: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class Observation:
    """What the breaker sees this round: outcomes since it closed, the pause flag and the probe."""

    finished: int
    failed: int
    paused: bool
    probe: ProbeOutcome = "none"

    @property
    def rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


def decide(
    config: BreakerConfig, state: BreakerState, seen: Observation, now: float
) -> tuple[BreakerState, BreakerAction | None]:
    """The next state and the action the runner must carry out (None: nothing changes)."""
    if state.status == "closed":
        rate = seen.rate
        if rate is not None and seen.finished >= config.min_samples and rate >= config.failure_rate:
            reason = f"{seen.failed} of {seen.finished} attempts failed ({rate:.0%} >= {config.failure_rate:.0%})"
            return _open(state, now, config.cooldown_s, reason, rate), "open"
        return state, None
    if not seen.paused:  # an operator resumed the queue: the breaker stands down
        return _closed(state, now, "resumed by an operator"), "reset"
    if state.status == "open":
        if now - state.since >= state.cooldown_s:
            return state.model_copy(
                update={
                    "status": "half_open",
                    "since": now,
                    "probe_offered_at": now,
                    "reason": "cool-down over: one probe job may run",
                }
            ), "half_open"
        return state, None
    # half open
    if seen.probe == "success":
        return _closed(state, now, "the probe job succeeded"), "close"
    timed_out = seen.probe == "running" and now - (state.probe_offered_at or state.since) >= config.probe_timeout_s
    if seen.probe == "failure" or timed_out:
        cooldown = min(state.cooldown_s * 2, config.max_cooldown_s)
        reason = "the probe job failed" if seen.probe == "failure" else "the probe job did not finish in time"
        return _open(state, now, cooldown, reason, state.last_rate), "reopen"
    if seen.probe == "lost" and now - (state.probe_offered_at or state.since) >= REOFFER_AFTER_S:
        return state.model_copy(update={"probe_offered_at": now}), "reoffer"
    return state, None


def _open(state: BreakerState, now: float, cooldown: float, reason: str, rate: float | None) -> BreakerState:
    return state.model_copy(
        update={
            "status": "open",
            "since": now,
            "cooldown_s": cooldown,
            "opened": state.opened + 1,
            "probe_offered_at": None,
            "last_rate": rate,
            "reason": reason,
        }
    )


def _closed(state: BreakerState, now: float, reason: str) -> BreakerState:
    return state.model_copy(
        update={
            "status": "closed",
            "since": now,
            "opened": 0,
            "probe_offered_at": None,
            "closed_minute": int(now // 60),
            "reason": reason,
        }
    )
