"""R6 poison messages and R7 clock skew (reliability.md §5), against a real private redis-server."""

from __future__ import annotations

import pickle
import time

import pytest
from dramatiq.message import Message

from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.reaper import reap_dead_workers

from jobs.conftest import state_of, wait_for

from .conftest import report, start_worker

pytestmark = pytest.mark.reliability

#: How long a worker may take to boot and get through the jobs before the test gives up, however slow the machine.
PATIENCE_S = 120


def test_poison_items_fail_with_a_reason_and_the_good_jobs_run(broker, registry, redis_url, settings):
    ns, client = broker.namespace, broker.client
    poison = {"json": b"{not json", "pickle": pickle.dumps({"actor_name": "sample_job"})}
    for rid, payload in poison.items():
        client.hset(f"{ns}:samples.msgs", rid, payload)
        client.rpush(f"{ns}:samples", rid)
    good = [enqueue("samples", {"n": i}, broker=broker) for i in range(10)]
    broker.submit(
        Message(
            queue_name="samples",
            actor_name="no_such_actor",
            args=({},),
            kwargs={},
            options={},
            message_id="unknown-actor",
        ),
        create_only=True,
    )
    client.hset("wq:job:half-record", mapping={"queue": "samples", "state": "failed"})  # missing most fields
    client.zadd("wq:q:samples:failed", {"half-record": 1})

    process = start_worker(redis_url, settings.data_dir, threads=2)
    started = time.monotonic()
    try:
        wait_for(lambda: all(state_of(registry, j) == "completed" for j in good), timeout=PATIENCE_S)
        for job_id in ("poison:json", "poison:pickle", "unknown-actor"):
            wait_for(lambda job_id=job_id: state_of(registry, job_id) == "failed", timeout=PATIENCE_S)
        elapsed = time.monotonic() - started
        assert process.poll() is None, "the worker survived every poison item"
    finally:
        process.terminate()
        process.wait(timeout=PATIENCE_S)
    assert "undecodable message" in registry.get_job("poison:json").summary.error
    assert "undecodable message" in registry.get_job("poison:pickle").summary.error
    assert "ActorNotFound" in registry.get_job("unknown-actor").summary.error
    half = registry.get_job("half-record")
    assert half.summary.state == "failed" and half.summary.kind == "?"
    stranded = sum(client.scard(k) for k in client.scan_iter(f"{ns}:__acks__.*"))
    assert stranded == 0
    report(
        "R6 poison",
        good=len(good),
        good_completed=len(good),
        poison=3,
        poison_failed=3,
        stranded=stranded,
        seconds=round(elapsed, 1),
        same_worker_pid=process.pid,
    )


def test_worker_with_a_skewed_clock_does_not_make_live_workers_look_dead(broker, registry, redis_url, settings):
    ids = [enqueue("samples", {"n": i, "sleep_ms": 3000}, broker=broker) for i in range(12)]
    skew = (
        "import time, dramatiq.common as common\n_real = time.time\ntime.time = lambda: _real() + 120\n"
        "common.current_millis = lambda: int(time.time() * 1000)"
    )
    honest = start_worker(redis_url, settings.data_dir, threads=6)
    skewed = start_worker(redis_url, settings.data_dir, threads=6, prelude=skew)
    reaped = 0
    try:
        deadline = time.monotonic() + PATIENCE_S
        while registry.queue_counts("samples").completed < 12 and time.monotonic() < deadline:
            reaped += reap_dead_workers(broker.client, broker.keys, timeout_ms=2000).requeued
            time.sleep(0.5)
    finally:
        for process in (honest, skewed):
            process.terminate()
        for process in (honest, skewed):
            process.wait(timeout=PATIENCE_S)
    started_twice = sum(1 for j in ids if registry.get_job(j).redeliveries)
    report(
        "R7 clock skew +120s",
        jobs=12,
        completed=registry.queue_counts("samples").completed,
        requeued_by_reaper=reaped,
        started_twice=started_twice,
    )
    assert registry.queue_counts("samples").completed == 12
    assert reaped == 0 and started_twice == 0
