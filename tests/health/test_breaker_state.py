"""The pure breaker decision: open on the failure rate, half-open after the cool-down, close on a good probe,
open again with a doubled (capped) cool-down on a bad one."""

from __future__ import annotations

from wellqueue_tui.health.breaker_state import (
    BreakerConfig,
    BreakerState,
    Observation,
    decide,
)

CONFIG = BreakerConfig(queue="webhooks", failure_rate=0.5, min_samples=4, cooldown_s=10, max_cooldown_s=25)


def closed() -> BreakerState:
    return BreakerState(queue="webhooks")


def test_stays_closed_below_the_rate_or_the_minimum_samples() -> None:
    assert decide(CONFIG, closed(), Observation(10, 4, paused=False), 0) == (closed(), None)
    assert decide(CONFIG, closed(), Observation(3, 3, paused=False), 0) == (closed(), None)


def test_opens_at_the_rate_then_half_opens_after_the_cool_down() -> None:
    state, action = decide(CONFIG, closed(), Observation(4, 2, paused=False), 100)
    assert action == "open" and state.status == "open" and state.cooldown_s == 10 and "2 of 4" in state.reason
    assert decide(CONFIG, state, Observation(0, 0, paused=True), 109.9)[1] is None
    state, action = decide(CONFIG, state, Observation(0, 0, paused=True), 110)
    assert action == "half_open" and state.status == "half_open" and state.probe_offered_at == 110


def test_a_good_probe_closes_and_a_bad_one_doubles_the_cool_down_up_to_the_cap() -> None:
    state, _ = decide(CONFIG, closed(), Observation(4, 4, paused=False), 0)
    state, _ = decide(CONFIG, state, Observation(0, 0, True), 10)
    state, action = decide(CONFIG, state, Observation(0, 0, True, probe="failure"), 11)
    assert action == "reopen" and state.cooldown_s == 20 and state.opened == 2
    state, _ = decide(CONFIG, state, Observation(0, 0, True), 31)
    state, action = decide(CONFIG, state, Observation(0, 0, True, probe="failure"), 32)
    assert action == "reopen" and state.cooldown_s == 25
    state, _ = decide(CONFIG, state, Observation(0, 0, True), 57)
    assert decide(CONFIG, state, Observation(0, 0, True, probe="running"), 58)[1] is None
    state, action = decide(CONFIG, state, Observation(0, 0, True, probe="success"), 59)
    assert action == "close" and state.status == "closed" and state.opened == 0 and state.closed_minute == 0


def test_a_probe_that_never_finishes_counts_as_failed_and_a_lost_token_is_offered_again() -> None:
    state, _ = decide(CONFIG, closed(), Observation(4, 4, paused=False), 0)
    state, _ = decide(CONFIG, state, Observation(0, 0, True), 10)
    assert decide(CONFIG, state, Observation(0, 0, True, probe="lost"), 11)[1] is None
    offered, action = decide(CONFIG, state, Observation(0, 0, True, probe="lost"), 12)
    assert action == "reoffer" and offered.probe_offered_at == 12
    assert decide(CONFIG, state, Observation(0, 0, True, probe="running"), 10 + CONFIG.probe_timeout_s)[1] == "reopen"


def test_an_operator_resuming_the_queue_stands_the_breaker_down() -> None:
    state, _ = decide(CONFIG, closed(), Observation(4, 4, paused=False), 0)
    state, action = decide(CONFIG, state, Observation(0, 0, paused=False), 1)
    assert action == "reset" and state.status == "closed"
