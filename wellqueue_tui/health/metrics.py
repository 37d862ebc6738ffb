"""Prometheus gauges for queue health, alert states and circuit breakers, read at scrape time. Register
`HealthCollector(client, keys)` next to the WellQueue collector in workers/prometheus.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..jobs.keys import KeySchema
from .alert_state import AlertState
from .alerts import alert_states
from .breaker import BreakerStore
from .breaker_state import BreakerState
from .queue_health import QueueHealth, read_health

log = logging.getLogger(__name__)

BREAKER_LEVELS = {"closed": 0, "half_open": 1, "open": 2}
#: One reading of what the gauges report: queue health, alert states, breaker states.
HealthReading = tuple[list[QueueHealth], list[AlertState], list[BreakerState]]


class HealthCollector(Collector):
    """Yields nothing when Redis cannot be read (`wellqueue_up` from the main collector says so)."""

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self.client = client
        self.keys = keys

    def collect(self) -> Iterator[Metric]:
        try:
            reading = read_health_reading(self.client, self.keys)
        except (redis.RedisError, OSError) as exc:
            log.warning("Health metrics could not read Redis: %s", exc)
            return
        yield from describe_health(*reading)


def read_health_reading(client: redis.Redis, keys: KeySchema) -> HealthReading:
    """Everything the health gauges report, read now."""
    return (read_health(client, keys), alert_states(client, keys), list(BreakerStore(client, keys).states().values()))


def describe_health(
    health: list[QueueHealth], alerts: list[AlertState], breakers: list[BreakerState]
) -> Iterator[Metric]:
    """The metric families for one reading."""
    families = {
        "latency": GaugeMetricFamily(
            "wellqueue_queue_latency_seconds", "Age of the oldest waiting job (0 when nothing waits)", labels=["queue"]
        ),
        "consumers": GaugeMetricFamily(
            "wellqueue_queue_consumers",
            "Running worker processes listening to the queue, on every host",
            labels=["queue"],
        ),
        "stuck": GaugeMetricFamily(
            "wellqueue_queue_stuck_jobs",
            "Active jobs past their time limit or whose worker stopped heartbeating",
            labels=["queue"],
        ),
        "arrival": GaugeMetricFamily(
            "wellqueue_queue_arrivals_per_minute",
            "Jobs entering the backlog per minute (estimated over the last 5 minutes)",
            labels=["queue"],
        ),
        "completion": GaugeMetricFamily(
            "wellqueue_queue_finished_per_minute",
            "Jobs finished (completed or failed) per minute over the last 5 minutes",
            labels=["queue"],
        ),
        "failure": GaugeMetricFamily(
            "wellqueue_queue_failure_ratio",
            "Failed share of the attempts finished in the last 5 minutes",
            labels=["queue"],
        ),
        "growing": GaugeMetricFamily("wellqueue_queue_backlog_growing", "1 when the backlog grows", labels=["queue"]),
        "drain": GaugeMetricFamily(
            "wellqueue_queue_drain_seconds",
            "Estimated time to empty the backlog at the current trend (absent when it does not shrink)",
            labels=["queue"],
        ),
    }
    for item in health:
        labels = [item.queue]
        families["latency"].add_metric(labels, item.latency_s or 0.0)
        families["consumers"].add_metric(labels, item.consumers)
        families["stuck"].add_metric(labels, item.stuck)
        if item.arrival_per_min is not None:
            families["arrival"].add_metric(labels, item.arrival_per_min)
        families["completion"].add_metric(labels, item.completion_per_min)
        if item.failure_rate is not None:
            families["failure"].add_metric(labels, item.failure_rate)
        families["growing"].add_metric(labels, 1 if item.backlog_growing else 0)
        if item.drain_s is not None:
            families["drain"].add_metric(labels, item.drain_s)
    yield from families.values()

    firing = GaugeMetricFamily(
        "wellqueue_alert_firing", "1 while the alert rule fires on the queue", labels=["rule", "queue"]
    )
    for state in alerts:
        firing.add_metric([state.rule, state.queue], 1 if state.firing else 0)
    yield firing

    breaker = GaugeMetricFamily(
        "wellqueue_breaker_state", "Circuit breaker per queue: 0 closed, 1 half-open, 2 open", labels=["queue"]
    )
    for breaker_state in breakers:
        breaker.add_metric([breaker_state.queue], BREAKER_LEVELS[breaker_state.status])
    yield breaker
