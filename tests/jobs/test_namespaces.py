"""Two deployments with different namespaces on one Redis database share no key: jobs, pause, schedules,
audit, worker records and the leader lease of one are invisible to the other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wellqueue_tui.auth.audit import AuditLog
from wellqueue_tui.auth.identity import LOCAL_DEV
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.actions import pause_queue, remove_job, retry_job
from wellqueue_tui.jobs.keys import DEFAULT_KEYS, KeySchema
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import Settings
from wellqueue_tui.workers.leader import LeaderLease
from wellqueue_tui.workers.schedules import Schedule, ScheduleStore
from wellqueue_tui.workers.worker_records import (
    WorkerRecord,
    WorkerRecords,
    WorkerState,
)

from .conftest import make_broker, running_worker, state_of, wait_for
from .sample_kinds import KIND as SAMPLE_KIND

OTHER = "other"


@pytest.fixture
def other_settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, kind_modules=["sample_kinds"], namespace=OTHER)


def test_the_default_namespace_keeps_the_wq_prefix_and_others_get_their_own():
    assert KeySchema.for_namespace("wellqueue") == DEFAULT_KEYS
    assert DEFAULT_KEYS.job("j1") == "wq:job:j1" and DEFAULT_KEYS.audit == "wq:audit"
    assert KeySchema.for_namespace(OTHER).job("j1") == "other:wq:job:j1"
    assert KeySchema.for_namespace(OTHER, "legacy").queues == "legacy:queues"
    assert KeySchema.from_settings(Settings(namespace=OTHER, key_prefix="wq")).paused == "wq:paused"
    with pytest.raises(ValueError, match="WELLQUEUE_KEY_PREFIX"):
        KeySchema.for_namespace(OTHER, "has space")


def test_jobs_and_pause_of_one_namespace_are_invisible_to_the_other(broker, redis_client, other_settings):
    ours, theirs = Registry(redis_client, broker.keys), Registry(redis_client, KeySchema.from_settings(other_settings))
    job_id = enqueue("samples", {"n": 1}, broker=broker)
    pause_queue(ours, "samples")

    assert theirs.known_queues() == [] and theirs.paused_queues() == set()
    assert theirs.get_job(job_id) is None
    assert theirs.queue_counts("samples").waiting == 0
    assert ours.queue_counts("samples").waiting == 1 and ours.paused_queues() == {"samples"}


def test_stores_of_one_namespace_are_invisible_to_the_other(redis_client):
    ours, theirs = DEFAULT_KEYS, KeySchema.for_namespace(OTHER)
    schedule = Schedule.build(
        name="nightly",
        cron="0 2 * * *",
        queue="webhooks",
        payload={"url": "https://example.com/a", "event": "x", "data": {}},
    )
    ScheduleStore(redis_client, ours).add(schedule)
    ScheduleStore(redis_client, ours).install_defaults()
    AuditLog(redis_client, ours.audit).record(LOCAL_DEV, "pause", "samples", 1, "ok")
    WorkerRecords(redis_client, ours).publish(
        [
            WorkerRecord(
                id="h:1:g:0",
                supervisor="h:1",
                host="h",
                group="g",
                queues=("samples",),
                threads=1,
                state=WorkerState.RUNNING,
                pid=1,
                started=1.0,
                restarts=0,
                last_exit_code=None,
                rss_bytes=None,
                active=0,
            )
        ]
    )
    leader = LeaderLease(redis_client, ours.leader, ttl_ms=5000)
    leader.tick()

    assert ScheduleStore(redis_client, theirs).list() == []
    assert ScheduleStore(redis_client, theirs).overview(datetime.now(UTC)) == []
    assert AuditLog(redis_client, theirs.audit).recent() == []
    assert WorkerRecords(redis_client, theirs).list_workers() == []
    other_leader = LeaderLease(redis_client, theirs.leader, ttl_ms=5000)
    other_leader.tick()
    assert leader.is_leader and other_leader.is_leader  # one scheduler per deployment, not one per database
    assert [w.id for w in WorkerRecords(redis_client, ours).list_workers()] == ["h:1:g:0"]
    leader.stop()
    other_leader.stop()


def test_a_namespaced_deployment_runs_jobs_entirely_under_its_own_prefix(redis_client, redis_url, other_settings):
    """Every script path (enqueue, fetch, mark active, finish with retry and failure, retry, remove,
    heartbeat) writes under `other:wq:`; the default deployment's `wq:` keys stay untouched."""
    with make_broker(redis_url, other_settings, [SAMPLE_KIND]) as broker:
        registry = Registry(broker.client, broker.keys)
        done = enqueue("samples", {"n": 1, "sleep_ms": 300}, broker=broker)
        flaky = enqueue(
            "samples", {"n": 2, "fail_times": 1}, attempts=2, backoff={"type": "fixed", "delay": 10}, broker=broker
        )
        doomed = enqueue("samples", {"n": 3, "permanent": True}, broker=broker)
        with running_worker(broker):
            wait_for(
                lambda: [state_of(registry, j) for j in (done, flaky, doomed)] == ["completed", "completed", "failed"]
            )
            retry_job(registry, doomed)
            wait_for(lambda: state_of(registry, doomed) == "failed" and registry.get_job(doomed).summary.attempts)
        remove_job(registry, doomed)

        assert registry.get_job(flaky).summary.attempts == 2
        assert sum(m.completed for m in registry.throughput("samples", minutes=2)) == 2
        keys = {k.decode() for k in redis_client.scan_iter(count=1000)}
        assert not [k for k in keys if k.startswith("wq:")], "a namespaced deployment wrote default-prefix keys"
        assert broker.keys.job(done) in keys and broker.keys.tomb(doomed) in keys
        assert Registry(redis_client, DEFAULT_KEYS).known_queues() == []
