"""R8 connection faults (reliability.md §5): every client connection killed every 2 s, and all clients paused
for 3 s, while workers run 2,000 jobs: none is lost and every duplicate shows. Also: a worker process with
many threads must not run out of Redis connections."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
import redis

from wellqueue_tui.jobs import enqueue_bulk
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry

from jobs.conftest import wait_for

from .conftest import (
    QUEUE_MODULE,
    ReaperLoop,
    audit_jobs,
    queue_backlog,
    report,
    sample_jobs,
    settle,
    start_worker,
    stranded_acks,
)
from .sample_queues import KINDS

pytestmark = pytest.mark.reliability

JOBS = 2000
PROCESSES, THREADS = 2, 4
CLIENT_KILLS = 10
KILL_EVERY_S = 2.0
PAUSE_MS = 3000
PAUSE_AFTER_KILL = 5  # the pause comes between the 5th and 6th kill
QUEUE = KINDS[0].queue
#: How long the scenario may take to settle before the test gives up, however slow the machine.
PATIENCE_S = 300


def stop_workers(processes) -> list[int | None]:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=PATIENCE_S))
        except Exception:
            os.killpg(process.pid, signal.SIGKILL)
            codes.append(process.wait(timeout=10))
    return codes


def count_safely(registry, what: str) -> int:
    """A registry count that a killed connection or a pause only delays (-1 when Redis did not answer)."""
    try:
        return getattr(registry.queue_counts(QUEUE), what)
    except redis.ConnectionError:
        return -1


def test_killed_and_paused_connections_lose_no_job(redis_client, redis_url, settings, tmp_path):
    rng = random.Random(8)
    broker = build_broker(redis_url, settings=settings, kinds=KINDS)
    registry = Registry(broker.client, broker.keys)
    jobs = sample_jobs(rng, JOBS, [QUEUE], sleep_ms=(40, 120))
    ids = enqueue_bulk(jobs, broker=broker)
    meant_to_fail = {job_id for job_id, job in zip(ids, jobs) if job["payload"]["permanent"]}
    admin = redis.Redis.from_url(redis_url, socket_timeout=10)  # spared by CLIENT KILL (SKIPME yes)
    log = open(tmp_path / "workers.log", "wb")  # noqa: SIM115  (closed in the finally, after the workers)
    workers = [
        start_worker(
            redis_url, settings.data_dir, threads=THREADS, queues=QUEUE, output=log, kind_modules=(QUEUE_MODULE,)
        )
        for _ in range(PROCESSES)
    ]
    killed_connections = 0
    started = time.monotonic()
    try:
        with ReaperLoop(redis_url, timeout_ms=2000, interval_s=0.5) as reaper:
            wait_for(lambda: count_safely(registry, "completed") > 0, timeout=PATIENCE_S)
            for kill in range(1, CLIENT_KILLS + 1):
                time.sleep(KILL_EVERY_S)
                killed_connections += admin.execute_command("CLIENT", "KILL", "TYPE", "normal")
                if kill == PAUSE_AFTER_KILL:
                    time.sleep(KILL_EVERY_S / 2)
                    admin.execute_command("CLIENT", "PAUSE", PAUSE_MS, "ALL")
            done_during_faults = count_safely(registry, "completed")
            drained = settle(
                lambda: count_safely(registry, "completed") + count_safely(registry, "failed") >= JOBS,
                timeout=PATIENCE_S,
                interval=0.2,
            )
            elapsed = time.monotonic() - started
        alive = [process.poll() is None for process in workers]
        exit_codes = stop_workers(workers)
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()
        admin.close()
        broker.client.close()

    audit = audit_jobs(redis_client, ids)
    counts = Registry(redis_client).queue_counts(QUEUE)
    lost = JOBS - audit.count("completed", "failed")
    stranded = stranded_acks(redis_client)
    report(
        "R8 connection faults",
        jobs=JOBS,
        client_kills=CLIENT_KILLS,
        connections_killed=killed_connections,
        pause_ms=PAUSE_MS,
        done_during_faults=done_during_faults,
        lost=lost,
        drained=drained,
        left=counts.waiting + counts.active + counts.delayed,
        reaped_workers=reaper.dead_workers,
        requeued=reaper.requeued,
        started_twice=len(audit.started_twice),
        invisible=len(audit.invisible),
        finished_twice=audit.finished_twice,
        repeated_log_lines=audit.repeated_log_lines,
        stranded=stranded,
        workers_alive=sum(alive),
        exit_codes=exit_codes,
        seconds=round(elapsed, 1),
    )

    assert all(alive), "no worker process died of the faults"
    left_jobs = {
        state: [
            {
                k.decode(): v.decode("utf-8", "replace")[:120]
                for k, v in redis_client.hgetall(f"wq:job:{job_id.decode()}").items()
            }
            for job_id in redis_client.zrange(f"wq:q:{QUEUE}:{state}", 0, 5)
        ]
        for state in ("waiting", "active", "delayed")
    }
    assert lost == 0 and not audit.missing, (left_jobs, queue_backlog(redis_client, [QUEUE]))
    assert audit.ids_in("failed") == meant_to_fail, "only the jobs meant to fail failed"
    assert audit.invisible == [], "every job that started twice shows attempts >= 2 or redeliveries >= 1"
    assert queue_backlog(redis_client, [QUEUE]) == 0 and stranded == 0
    assert exit_codes == [0] * PROCESSES


def test_a_worker_with_many_threads_never_runs_out_of_redis_connections(
    broker, registry, redis_url, settings, tmp_path
):
    """200 threads each logging and reporting progress at once: no job may fail (and run again) for want of
    a pooled connection."""
    threads, jobs = 200, 400
    ids = enqueue_bulk(
        [{"queue": "samples", "payload": {"n": n, "sleep_ms": 300}, "remove_on_complete": False} for n in range(jobs)],
        broker=broker,
    )
    with open(tmp_path / "worker.log", "wb") as log:
        process = start_worker(redis_url, settings.data_dir, threads=threads, output=log)
    try:
        drained = settle(lambda: registry.queue_counts("samples").completed == jobs, timeout=PATIENCE_S)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=PATIENCE_S)
        except Exception:
            os.killpg(process.pid, signal.SIGKILL)
    audit = audit_jobs(broker.client, ids)
    retried = sum(1 for job_id in ids if (broker.client.hget(f"wq:job:{job_id}", "attempt_errors") or b"[]") != b"[]")
    output = (tmp_path / "worker.log").read_text()
    pool_errors = output.count("Too many connections")
    report(
        "R8 connection pool",
        threads=threads,
        jobs=jobs,
        completed=audit.count("completed"),
        drained=drained,
        jobs_with_failed_attempts=retried,
        ran_more_than_once=sum(1 for n in audit.starts.values() if n > 1),
        too_many_connections_errors=pool_errors,
    )

    assert pool_errors == 0, "the worker's Redis pool is sized for its threads"
    assert audit.count("completed") == jobs and retried == 0
    assert all(n == 1 for n in audit.starts.values())
