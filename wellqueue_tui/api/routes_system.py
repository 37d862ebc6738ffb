"""`/api/jobs/health` (for load balancers, no token), `/metrics` (Prometheus), `/stats`, per-queue stats and
the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

import redis
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..health.metrics import HealthReading, describe_health
from ..jobs.keys import KeySchema
from ..workers.prometheus import MetricsSnapshot, describe
from ..workers.worker_records import ALIVE_WITHIN_S, WorkerRecords, WorkerState
from .endpoints import Endpoint
from .models import FailureGroupOut, FailuresOut, HealthOut, QueueStats, StatsOut
from .responses import reply
from .services import services_of
from .stats import read_health_out, read_queue_stats


def check_health(client: redis.Redis, keys: KeySchema) -> HealthOut:
    """Redis answers, some worker process runs, a scheduler holds the lease; nothing more is told."""
    try:
        client.ping()
        workers = any(
            w.state == WorkerState.RUNNING and w.heartbeat_age_s < ALIVE_WITHIN_S
            for w in WorkerRecords(client, keys).list_workers()
        )
        scheduler = client.exists(keys.leader) == 1
    except redis.RedisError:
        return HealthOut(status="unavailable", redis=False, workers=False, scheduler=False)
    return HealthOut(
        status="ok" if workers and scheduler else "unavailable", redis=True, workers=workers, scheduler=scheduler
    )


async def health(request: web.Request) -> web.Response:
    services = services_of(request)
    report = await services.run(check_health, services.client, services.registry.keys)
    return reply(report, 200 if report.status == "ok" else 503)


class SnapshotCollector(Collector):
    """The metric families of one snapshot already read (so a Redis failure is a 503, not a partial page)."""

    def __init__(self, snapshot: MetricsSnapshot, health: HealthReading) -> None:
        self.snapshot = snapshot
        self.health = health

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("wellqueue_up", "1 when the metrics endpoint could read Redis, else 0")
        up.add_metric([], 1)
        yield up
        yield from describe(self.snapshot)
        yield from describe_health(*self.health)


async def metrics(request: web.Request) -> web.Response:
    snapshot, health = await services_of(request).operate(request, lambda s: (s.cluster_metrics(), s.cluster_health()))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot, health))
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def stats(request: web.Request) -> web.Response:
    services = services_of(request)

    def work(session) -> StatsOut:
        names = sorted(set(session.known_queues()) | set(services.broker.kinds))
        health = read_health_out(session, names)
        return StatsOut(queues={name: read_queue_stats(session, name, health.get(name)) for name in names})

    return reply(await services.operate(request, work))


async def queue_stats(request: web.Request) -> web.Response:
    services, name = services_of(request), request.match_info["name"]

    def work(session) -> QueueStats:
        services.require_queue(name)
        return read_queue_stats(session, name)

    return reply(await services.operate(request, work))


async def failures(request: web.Request) -> web.Response:
    def work(session) -> FailuresOut:
        now = session.server_time()
        return FailuresOut(
            groups=[
                FailureGroupOut(
                    id=group.id,
                    signature=group.signature,
                    count=group.count,
                    firstSeen=group.first_seen,
                    lastSeen=group.last_seen,
                    error=group.error,
                    queues=group.queues,
                    hourly=group.trend(now),
                    topValues=group.top_values,
                )
                for group in session.failure_groups()
            ]
        )

    return reply(await services_of(request).operate(request, work))


async def openapi(request: web.Request) -> web.Response:
    from .openapi import openapi_document

    return web.json_response(openapi_document(tuple(services_of(request).broker.kinds.values())))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/jobs/health",
        health,
        "Whether this system can take and run jobs (200) or not (503)",
        "monitoring",
        response=HealthOut,
        public=True,
        errors=(503,),
    ),
    Endpoint(
        "GET",
        "/api/jobs/metrics",
        metrics,
        "Queue, job and worker metrics in the Prometheus text format",
        "monitoring",
        media=CONTENT_TYPE_LATEST.split(";")[0],
    ),
    Endpoint(
        "GET",
        "/api/jobs/stats",
        stats,
        "Counts and last-hour throughput of every queue",
        "monitoring",
        response=StatsOut,
    ),
    Endpoint(
        "GET",
        "/api/jobs/queues/{name}/stats",
        queue_stats,
        "Counts and last-hour throughput of one queue",
        "queues",
        response=QueueStats,
        errors=(404,),
    ),
    Endpoint(
        "GET",
        "/api/jobs/failures",
        failures,
        "Failed jobs of every queue grouped by error signature, largest group first (not for org-scoped tokens)",
        "monitoring",
        response=FailuresOut,
        errors=(403,),
    ),
    Endpoint("GET", "/api/jobs/openapi.json", openapi, "This API described in OpenAPI 3.1", "monitoring", public=True),
]
