"""Registry consistency when a worker process dies: SIGKILL mid-job, reaped, redelivered, completed once more."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from dramatiq.message import Message

from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.broker import REDELIVERY_LIMIT
from wellqueue_tui.jobs.failure_groups import FailureGroups
from wellqueue_tui.jobs.reaper import REPEATED_DEATHS, reap_dead_workers
from wellqueue_tui.jobs.signature import signature

from .conftest import SAMPLE_DIR, running_worker, state_of, wait_for


def start_worker_process(redis_url: str, data_dir, threads: int = 2) -> subprocess.Popen:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "WELLQUEUE_DATA_DIR": str(data_dir),
        "WELLQUEUE_KIND_MODULES": json.dumps(["sample_kinds"]),
        "PYTHONPATH": os.pathsep.join([str(SAMPLE_DIR), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wellqueue_tui.workers.entry",
            "--queues",
            "samples",
            "--threads",
            str(threads),
            "--worker-id",
            "test-slot",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_sigkilled_worker_jobs_are_redelivered_and_complete(broker, registry, redis_url, settings):
    ids = [enqueue("samples", {"n": i, "sleep_ms": 1500}, broker=broker) for i in range(6)]
    process = start_worker_process(redis_url, settings.data_dir, threads=2)
    try:
        wait_for(lambda: registry.queue_counts("samples").active == 2, timeout=20)
        running = [j.id for j in registry.list_jobs("samples", "active").jobs]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    finally:
        if process.poll() is None:
            process.kill()

    # still "active" until the reaper sees the heartbeat go stale (Redis server time)
    assert registry.queue_counts("samples").active == 2
    report = wait_for(
        lambda: reap_dead_workers(broker.client, broker.keys, timeout_ms=1500).dead_workers, timeout=10, interval=0.5
    )
    assert report == 1
    assert registry.queue_counts("samples").active == 0
    for job_id in running:
        detail = registry.get_job(job_id)
        assert detail.summary.state == "waiting" and detail.redeliveries == 1

    with running_worker(broker, threads=3):
        wait_for(lambda: registry.queue_counts("samples").completed == 6, timeout=30)
    counts = registry.queue_counts("samples")
    assert (counts.active, counts.waiting, counts.failed) == (0, 0, 0)
    for job_id in running:  # ran twice, and it shows
        logs = registry.get_job(job_id).logs
        assert sum("attempt 1" in line for line in logs) == 2
    assert set(ids) == {j.id for j in registry.list_jobs("samples", "completed").jobs}
    assert broker.client.zcard("wq:brokers") == 0


def test_undecodable_and_unknown_actor_messages_fail_with_a_reason(broker, registry):
    ns = broker.namespace
    broker.client.hset(f"{ns}:samples.msgs", "bad-rid", b"{not json")
    broker.client.rpush(f"{ns}:samples", "bad-rid")
    good = [enqueue("samples", {"n": i}, broker=broker) for i in range(5)]
    broker.submit(  # a message for an actor this worker does not know
        Message(
            queue_name="samples", actor_name="no_such_actor", args=({},), kwargs={}, options={}, message_id="ghost-1"
        ),
        create_only=True,
    )
    with running_worker(broker):
        wait_for(lambda: all(state_of(registry, j) == "completed" for j in good), timeout=5)
        wait_for(lambda: state_of(registry, "ghost-1") == "failed", timeout=5)
        wait_for(lambda: state_of(registry, "poison:bad-rid") == "failed", timeout=5)
    assert "ActorNotFound" in registry.get_job("ghost-1").summary.error
    poison = registry.get_job("poison:bad-rid")
    assert "undecodable message" in poison.summary.error
    assert poison.summary.data == {"raw": "{not json"}
    assert broker.client.zcard(f"{ns}:samples.XQ") == 2  # both dead-lettered, none stranded in acks
    # both failed for good: each filed under its cause (the nack's error, the poison's reason)
    groups = {group.signature: group.count for group in FailureGroups(broker.client, broker.keys).groups()}
    assert groups == {signature(registry.get_job("ghost-1").summary.error): 1, signature(poison.summary.error): 1}


def test_a_job_that_keeps_killing_its_worker_fails_into_one_failure_group(broker, registry):
    """The sixth death fails the job for good; triage finds it grouped under its cause, counted by organization."""
    job_id = enqueue("samples", {"n": 1, "organizationId": "org-permian"}, broker=broker)
    queue = broker.keys.queue("samples")
    rid = broker.client.lpop(queue.ready)  # taken by a worker "ghost" that then died, as five before it
    broker.client.sadd(f"{broker.keys.acks_prefix('ghost')}samples", rid)
    broker.client.hset(broker.keys.job(job_id), "redeliveries", REDELIVERY_LIMIT)
    broker.client.zadd(broker.keys.brokers, {"ghost": 0})

    report = reap_dead_workers(broker.client, broker.keys, timeout_ms=1000)

    assert (report.dead_workers, report.requeued, report.failed) == (1, 0, 1)
    failed = registry.get_job(job_id).summary
    assert failed.state == "failed"
    assert failed.error == REPEATED_DEATHS.format(n=REDELIVERY_LIMIT + 1)
    (group,) = FailureGroups(broker.client, broker.keys).groups()
    assert (group.signature, group.count, group.queues) == (signature(failed.error), 1, {"samples": 1})
    assert group.top_values["organizationId"] == [("org-permian", 1)]
