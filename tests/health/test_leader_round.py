"""The leader's health round: defaults installed once, breakers and alerts stepped every round, and a Redis
error in one part logged instead of stopping the leader's tick."""

from __future__ import annotations

import logging

import redis

from wellqueue_tui.health.alert_rules import AlertStore
from wellqueue_tui.health.alerts import firing_alerts
from wellqueue_tui.health.breaker import BreakerStore
from wellqueue_tui.health.breaker_state import BreakerConfig
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.workers.health_round import LeaderHealthRound


def test_one_round_installs_the_defaults_and_evaluates(broker, enqueue_fn) -> None:
    health_round = LeaderHealthRound(broker.client, broker.keys, enqueue_fn, heartbeat_timeout_ms=15_000)
    for n in range(101):
        enqueue("samples", {"n": n}, broker=broker)
    health_round()
    names = [rule.name for rule in AlertStore(broker.client, broker.keys).list()]
    assert names == ["failure-rate", "queue-depth", "redis-connection", "stalled-jobs"]
    AlertStore(broker.client, broker.keys).update("queue-depth", for_s=0)
    health_round()
    assert [(a.rule, a.queue) for a in firing_alerts(broker.client, broker.keys)] == [("queue-depth", "samples")]


def test_a_redis_error_is_logged_and_the_next_part_still_runs(broker, enqueue_fn, caplog, monkeypatch) -> None:
    BreakerStore(broker.client, broker.keys).configure(BreakerConfig(queue="samples"))
    health_round = LeaderHealthRound(broker.client, broker.keys, enqueue_fn, heartbeat_timeout_ms=15_000)

    def broken(*_args, **_kwargs):
        raise redis.ConnectionError("connection refused")

    monkeypatch.setattr(health_round.breakers, "run_once", broken)
    with caplog.at_level(logging.WARNING):
        health_round()
    assert "Circuit breakers skipped a round" in caplog.text
    assert AlertStore(broker.client, broker.keys).list()  # the rest of the round ran: defaults installed
