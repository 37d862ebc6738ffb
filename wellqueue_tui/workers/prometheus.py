"""Prometheus metrics endpoint: queue depths, recent outcomes and durations, and worker processes, plus queue
health, alert and breaker states (health.metrics), all read from Redis at scrape time (so any host's endpoint
reports the whole cluster). Binds 127.0.0.1 by default."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

import redis
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from ..health.metrics import HealthCollector
from ..jobs.keys import KeySchema
from ..jobs.models import STATES, QueueCounts
from ..jobs.registry import Registry
from .worker_records import WorkerRecords, WorkerState

logger = logging.getLogger(__name__)

OUTCOME_WINDOW_MINUTES = 48 * 60  # the per-minute stats hashes live 48 h
DURATION_WINDOW_MINUTES = 60


@dataclass(frozen=True)
class QueueOutcomes:
    """One queue's finished jobs, summed from the per-minute stats hashes."""

    completed_48h: int
    failed_48h: int
    completed_60m: int
    duration_s_60m: float


@dataclass(frozen=True)
class MetricsSnapshot:
    counts: list[QueueCounts]
    outcomes: dict[str, QueueOutcomes]
    workers: Counter = field(default_factory=Counter)  # (host, state) -> processes


def read_snapshot(registry: Registry, workers: WorkerRecords) -> MetricsSnapshot:
    """Everything one scrape reports: ZCARDs per state, minute stats, worker records."""
    now = registry.server_time()
    counts = registry.all_counts()
    outcomes = {}
    for queue_counts in counts:
        minutes = registry.throughput(queue_counts.queue, minutes=OUTCOME_WINDOW_MINUTES, now=now)
        recent = minutes[-DURATION_WINDOW_MINUTES:]
        outcomes[queue_counts.queue] = QueueOutcomes(
            completed_48h=sum(m.completed for m in minutes),
            failed_48h=sum(m.failed for m in minutes),
            completed_60m=sum(m.completed for m in recent),
            duration_s_60m=sum(m.duration_ms_sum for m in recent) / 1000,
        )
    processes = Counter((w.host, w.state) for w in workers.list_workers())
    return MetricsSnapshot(counts, outcomes, processes)


class WellQueueCollector(Collector):
    """Reads a fresh snapshot on every scrape; `wellqueue_up` is 0 (and nothing else is reported) when Redis
    cannot be read."""

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self.registry = Registry(client, keys)
        self.workers = WorkerRecords(client, keys)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("wellqueue_up", "1 when the metrics endpoint could read Redis, else 0")
        try:
            snapshot = read_snapshot(self.registry, self.workers)
        except (redis.RedisError, OSError) as exc:
            logger.warning("Metrics scrape could not read Redis: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from describe(snapshot)


def describe(snapshot: MetricsSnapshot) -> Iterator[Metric]:
    """The metric families for one snapshot."""
    jobs = GaugeMetricFamily(
        "wellqueue_queue_jobs", "Jobs per queue and state (size of the state set)", labels=["queue", "state"]
    )
    paused = GaugeMetricFamily("wellqueue_queue_paused", "1 when the queue is paused", labels=["queue"])
    for counts in snapshot.counts:
        for state in STATES:
            jobs.add_metric([counts.queue, str(state)], counts.of(state))
        paused.add_metric([counts.queue], 1 if counts.paused else 0)
    yield jobs
    yield paused

    completed = GaugeMetricFamily(
        "wellqueue_jobs_completed_last_48h",
        "Jobs completed in the last 48 hours (a sliding window, not a counter)",
        labels=["queue"],
    )
    failed = GaugeMetricFamily(
        "wellqueue_jobs_failed_last_48h",
        "Jobs failed permanently in the last 48 hours (a sliding window, not a counter)",
        labels=["queue"],
    )
    duration = SummaryMetricFamily(
        "wellqueue_job_duration_seconds",
        "Run time of jobs completed in the last 60 minutes (count and sum)",
        labels=["queue"],
    )
    for queue, outcome in sorted(snapshot.outcomes.items()):
        completed.add_metric([queue], outcome.completed_48h)
        failed.add_metric([queue], outcome.failed_48h)
        duration.add_metric([queue], outcome.completed_60m, outcome.duration_s_60m)
    yield completed
    yield failed
    yield duration

    processes = GaugeMetricFamily(
        "wellqueue_worker_processes", "Worker processes with a fresh record, by state", labels=["host", "state"]
    )
    up = GaugeMetricFamily("wellqueue_worker_processes_up", "Worker processes running, by host", labels=["host"])
    running: Counter = Counter()
    for (host, state), number in sorted(snapshot.workers.items()):
        processes.add_metric([host, state], number)
        if state == WorkerState.RUNNING:
            running[host] += number
    for host in sorted({host for host, _state in snapshot.workers}):
        up.add_metric([host], running[host])
    yield processes
    yield up


@dataclass
class MetricsServer:
    """A running metrics endpoint; `close()` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.server_port

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(port: int, client: redis.Redis, keys: KeySchema, host: str = "127.0.0.1") -> MetricsServer:
    """Serve `/metrics` on host:port (port 0 picks a free one) from a daemon thread."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WellQueueCollector(client, keys))
    registry.register(HealthCollector(client, keys))
    server, thread = start_http_server(port, addr=host, registry=registry)
    logger.info("Prometheus metrics on http://%s:%d/metrics", host, server.server_port)
    return MetricsServer(server, thread)
