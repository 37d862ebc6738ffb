"""The pure alert step: hold times, the lower resolve level, and no flapping at the threshold."""

from __future__ import annotations

import pytest

from wellqueue_tui.health.alert_rules import AlertRuleError, build_rule, default_rules
from wellqueue_tui.health.alert_state import AlertState, step

RULE = build_rule(name="depth", kind="waiting_depth", threshold=100, resolve_below=80, for_s=10, clear_for_s=20)


def run(values: list[tuple[float, float | None]], rule=RULE) -> tuple[AlertState, list[tuple[float, str]]]:
    state = AlertState(rule=rule.name, queue="q")
    transitions = []
    for now, value in values:
        state, transition = step(rule, state, value, now)
        if transition:
            transitions.append((now, transition))
    return state, transitions


def test_fires_only_after_the_value_held_above_the_threshold_for_the_hold_time() -> None:
    state, transitions = run([(0, 150), (5, 150), (9.9, 150)])
    assert state.status == "pending" and transitions == []
    state, transitions = run([(0, 150), (5, 150), (10, 150)])
    assert state.status == "firing" and transitions == [(10, "fired")]
    assert state.fired_at == 10 and state.outbox == ["fired"]


def test_a_value_hovering_at_the_threshold_never_fires() -> None:
    values = [(t, 101.0 if t % 2 == 0 else 100.0) for t in range(120)]
    state, transitions = run(values)
    assert transitions == [] and state.status in ("ok", "pending")


def test_a_firing_alert_ignores_values_between_resolve_level_and_threshold() -> None:
    values = [(0, 150), (10, 150)] + [(t, 90.0 if t % 2 else 101.0) for t in range(11, 200)]
    state, transitions = run(values)
    assert transitions == [(10, "fired")] and state.status == "firing"


def test_resolves_after_staying_at_or_below_the_resolve_level_for_the_clear_time() -> None:
    state, transitions = run([(0, 150), (10, 150), (11, 80), (30, 80)])
    assert state.status == "resolving" and transitions == [(10, "fired")]
    state, transitions = run([(0, 150), (10, 150), (11, 80), (31, 80)])
    assert transitions == [(10, "fired"), (31, "resolved")]
    assert state.status == "ok" and state.resolved_at == 31 and state.outbox == ["fired", "resolved"]


def test_going_back_up_while_resolving_keeps_it_firing_without_a_new_firing() -> None:
    state, transitions = run([(0, 150), (10, 150), (11, 50), (20, 120), (25, 50), (44, 50), (45, 50)])
    assert transitions == [(10, "fired"), (45, "resolved")]
    assert state.fired_at == 10


def test_missing_values_count_as_clear() -> None:
    _state, transitions = run([(0, 150), (10, 150), (11, None), (31, None)])
    assert [t for _, t in transitions] == ["fired", "resolved"]


def test_default_resolve_levels_sit_below_the_threshold() -> None:
    assert build_rule(name="lat", kind="latency", threshold=60).resolve_level == 48
    assert build_rule(name="stuck", kind="stuck_jobs").resolve_level == 0


def test_the_four_defaults_of_the_saas_document() -> None:
    rules = {rule.name: rule for rule in default_rules()}
    assert rules["queue-depth"].kind == "waiting_depth" and rules["queue-depth"].threshold == 100
    assert rules["failure-rate"].threshold == 0.10 and rules["failure-rate"].window_minutes == 5
    assert rules["stalled-jobs"].kind == "stuck_jobs" and rules["stalled-jobs"].for_s == 30
    assert rules["redis-connection"].kind == "redis_unreachable"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"name": "Bad Name", "kind": "latency"}, "name"),
        ({"name": "x", "kind": "failure_rate", "threshold": 10}, "between 0 and 1"),
        ({"name": "x", "kind": "latency", "threshold": 5, "resolve_below": 6}, "resolve_below"),
        ({"name": "x", "kind": "latency", "recipients": ["nobody"]}, "recipients[0]"),
        ({"name": "x", "kind": "latency", "webhook_url": "ftp://x"}, "webhook_url"),
        ({"name": "x", "kind": "bogus"}, "kind"),
    ],
)
def test_invalid_rules_name_the_field(fields: dict, named: str) -> None:
    with pytest.raises(AlertRuleError, match=named.replace("[", r"\[").replace("]", r"\]")):
        build_rule(**fields)
