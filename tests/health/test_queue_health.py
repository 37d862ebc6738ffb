"""Queue health on a real Redis: consumers across two supervisors' worker records, latency, the backlog
trend, stuck jobs, warnings, and the Prometheus gauges built from them."""

from __future__ import annotations

from prometheus_client.registry import CollectorRegistry

from wellqueue_tui.health.metrics import HealthCollector
from wellqueue_tui.health.queue_health import (
    ActiveJob,
    read_health,
    record_backlog,
    stuck_jobs,
)
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.workers.worker_records import WorkerState

from .conftest import publish, running_worker, wait_for, worker_record


def by_queue(broker, **kwargs):
    return {h.queue: h for h in read_health(broker.client, broker.keys, **kwargs)}


def test_consumers_are_counted_across_supervisors_and_missing_ones_warned(broker) -> None:
    publish(
        broker,
        worker_record("host-a:100", 0, ("samples", "webhooks")),
        worker_record("host-a:100", 1, ("samples",)),
        worker_record("host-b:200", 0, ("samples",)),
        worker_record("host-b:200", 1, ("webhooks",), WorkerState.CRASH_LOOP),
    )
    health = by_queue(broker)
    assert health["samples"].consumers == 3 and "no consumer" not in health["samples"].warnings
    assert health["webhooks"].consumers == 1 and health["webhooks"].crash_looping == 1
    assert "crash loop 1" in health["webhooks"].warnings
    assert health["email-notifications"].consumers == 0 and "no consumer" in health["email-notifications"].warnings


def test_latency_backlog_and_trend(broker) -> None:
    assert by_queue(broker)["samples"].latency_s is None
    record_backlog(broker.client, broker.keys, read_health(broker.client, broker.keys, ["samples"]))
    for n in range(12):
        enqueue("samples", {"n": n}, broker=broker)
    item = by_queue(broker)["samples"]
    assert item.waiting == 12 and item.latency_s >= 0
    assert item.backlog_growing and "backlog growing" in item.warnings and item.drain_s is None
    assert item.arrival_per_min > 0 and item.as_dict()["warnings"] == list(item.warnings)


def test_stuck_means_past_the_time_limit_or_an_absent_heartbeat() -> None:
    now = 1_000_000
    beats = {"aaaaaaaa": now - 1000, "bbbbbbbb": now - 60_000}
    jobs = [
        ActiveJob("fresh", now - 5000, "h:1:aaaaaaaa", 60_000),
        ActiveJob("overdue", now - 100_000, "h:1:aaaaaaaa", 60_000),
        ActiveJob("silent-worker", now - 5000, "h:2:bbbbbbbb", None),
        ActiveJob("gone-worker", now - 5000, "h:3:cccccccc", None),
        ActiveJob("unknown-worker", now - 5000, None, None),
    ]
    assert stuck_jobs(jobs, beats, now, heartbeat_timeout_ms=15_000) == ["overdue", "silent-worker", "gone-worker"]


def test_health_gauges(broker) -> None:
    enqueue("samples", {"n": 1}, broker=broker)
    registry = CollectorRegistry()
    registry.register(HealthCollector(broker.client, broker.keys))
    assert registry.get_sample_value("wellqueue_queue_consumers", {"queue": "samples"}) == 0
    assert registry.get_sample_value("wellqueue_queue_latency_seconds", {"queue": "samples"}) >= 0
    assert registry.get_sample_value("wellqueue_queue_stuck_jobs", {"queue": "samples"}) == 0


def test_arrivals_and_retried_attempts_are_counted_per_minute(broker, registry) -> None:
    """enqueue.lua counts new jobs as `arrived`; finish.lua counts attempts that will run again as `retried`,
    so a failure rate sees failures that a retry later hides."""
    for n in range(3):
        enqueue("samples", {"n": n, "fail_times": 1}, broker=broker)
    with running_worker(broker, queues=("samples",)):
        wait_for(lambda: registry.queue_counts("samples").completed == 3, timeout=30)
    item = by_queue(broker)["samples"]
    assert (item.completed, item.failed) == (3, 3) and item.failure_rate == 0.5
    assert item.arrival_per_min == 3 * 60 / item.window_s
    minute = int(broker.client.time()[0]) // 60
    counted = [broker.client.hmget(broker.keys.stats("samples", m), "arrived", "retried") for m in (minute - 1, minute)]
    assert sum(int(a or 0) for a, _r in counted) == 3 and sum(int(r or 0) for _a, r in counted) == 3
    assert all(
        broker.client.ttl(broker.keys.stats("samples", m)) > 0
        for m in (minute - 1, minute)
        if broker.client.exists(broker.keys.stats("samples", m))
    )
