"""The metrics endpoint: text exposition with queue, outcome, duration and worker metrics read at scrape time."""

from __future__ import annotations

import urllib.request

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from wellqueue_tui.connection import redis_client as make_client
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.redis_server import free_port
from wellqueue_tui.workers import worker_records
from wellqueue_tui.workers.prometheus import serve_metrics
from wellqueue_tui.workers.worker_records import WorkerRecord, WorkerState


def scrape(port: int) -> tuple[str, dict[str, dict[tuple, float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return text, samples


def seed(client: redis.Redis) -> None:
    now_minute = worker_records.server_ms(client) // 60_000
    client.sadd("wq:queues", "webhooks", "report-generation")
    client.zadd("wq:q:webhooks:waiting", {"a": 1, "b": 2})
    client.zadd("wq:q:webhooks:failed", {"c": 1})
    client.zadd("wq:q:report-generation:completed", {"d": 1})
    client.sadd("wq:paused", "report-generation")
    client.hset(f"wq:stats:webhooks:{now_minute}", mapping={"completed": 3, "failed": 1, "duration_ms_sum": 1500})
    client.hset(f"wq:stats:webhooks:{now_minute - 120}", mapping={"completed": 10, "duration_ms_sum": 99_000})
    client.hset(f"wq:stats:webhooks:{now_minute - 49 * 60}", mapping={"completed": 1000})  # beyond 48 h
    records = [
        WorkerRecord(
            id=f"rig-1:10:webhooks:{i}",
            supervisor="rig-1:10",
            host="rig-1",
            group="webhooks",
            queues=("webhooks",),
            threads=5,
            state=state,
            pid=100 + i,
            started=1.0,
            restarts=0,
            last_exit_code=None,
            rss_bytes=None,
            active=0,
        )
        for i, state in enumerate([WorkerState.RUNNING, WorkerState.RUNNING, WorkerState.CRASH_LOOP])
    ]
    worker_records.WorkerRecords(client, KEYS).publish(records)


def test_metrics_endpoint_serves_the_expected_metrics(redis_url, redis_client):
    seed(redis_client)
    client = make_client(redis_url)
    server = serve_metrics(0, client, KEYS)
    try:
        assert server.server.server_address[0] == "127.0.0.1"
        text, samples = scrape(server.port)
    finally:
        server.close()
        client.close()

    for name in (
        "wellqueue_up",
        "wellqueue_queue_jobs",
        "wellqueue_queue_paused",
        "wellqueue_jobs_completed_last_48h",
        "wellqueue_jobs_failed_last_48h",
        "wellqueue_job_duration_seconds",
        "wellqueue_worker_processes",
        "wellqueue_worker_processes_up",
    ):
        assert f"# TYPE {name} " in text
    assert samples["wellqueue_up"][()] == 1
    assert samples["wellqueue_queue_consumers"][(("queue", "webhooks"),)] == 2  # the running two; from health.metrics
    assert samples["wellqueue_queue_stuck_jobs"][(("queue", "webhooks"),)] == 0
    jobs = samples["wellqueue_queue_jobs"]
    assert jobs[(("queue", "webhooks"), ("state", "waiting"))] == 2
    assert jobs[(("queue", "webhooks"), ("state", "failed"))] == 1
    assert jobs[(("queue", "webhooks"), ("state", "active"))] == 0
    assert jobs[(("queue", "report-generation"), ("state", "completed"))] == 1
    assert samples["wellqueue_queue_paused"] == {(("queue", "report-generation"),): 1, (("queue", "webhooks"),): 0}
    assert samples["wellqueue_jobs_completed_last_48h"][(("queue", "webhooks"),)] == 13
    assert samples["wellqueue_jobs_failed_last_48h"][(("queue", "webhooks"),)] == 1
    assert samples["wellqueue_job_duration_seconds_count"][(("queue", "webhooks"),)] == 3
    assert samples["wellqueue_job_duration_seconds_sum"][(("queue", "webhooks"),)] == pytest.approx(1.5)
    processes = samples["wellqueue_worker_processes"]
    assert processes[(("host", "rig-1"), ("state", "running"))] == 2
    assert processes[(("host", "rig-1"), ("state", "crash-loop"))] == 1
    assert samples["wellqueue_worker_processes_up"][(("host", "rig-1"),)] == 2


def test_unreachable_redis_reports_wellqueue_up_0():
    client = make_client(f"redis://127.0.0.1:{free_port()}/0")
    server = serve_metrics(0, client, KEYS)
    try:
        _text, samples = scrape(server.port)
    finally:
        server.close()
    assert samples["wellqueue_up"] == {(): 0}
    assert "wellqueue_queue_jobs" not in samples
