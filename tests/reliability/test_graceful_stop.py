"""R5 graceful stop under load (reliability.md §5): SIGTERM to `wellqueue --workers-only` with ~200 jobs in
flight exits 0 (every process stopped within the grace time); the running jobs finish, the rest wait for the
next run, none is lost and none starts twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from wellqueue_tui.jobs import enqueue_bulk
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry

from jobs.conftest import wait_for

from .conftest import QUEUE_MODULE, TESTS_DIR, audit_jobs, report, start_worker, stranded_acks, worker_env
from .sample_queues import KINDS

pytestmark = pytest.mark.reliability

JOBS = 400
PROCESSES, THREADS = 4, 50  # 200 jobs of QUEUE at once
QUEUE = KINDS[0].queue
JOB_MS = 2000  # long enough for all 200 to be seen running at once, however slowly the registry is polled
GRACE_S = 10
#: How long a process may take to boot, drain or exit before the test gives up, however slow the machine.
PATIENCE_S = 120
READY = "Worker ready"  # logged by each worker process once it consumes (relayed into the workers-only log)


def workers_only(redis_url: str, data_dir, log_path) -> subprocess.Popen:
    """`wellqueue --workers-only` running PROCESSES x THREADS for QUEUE. The built-in queues get as many
    processes too (WELLQUEUE_WORKER_PROCESSES applies to every group; concurrency merges with the defaults)."""
    env = worker_env(
        redis_url,
        data_dir,
        kind_modules=(QUEUE_MODULE,),
        WELLQUEUE_CONCURRENCY=json.dumps({QUEUE: THREADS}),
        WELLQUEUE_WORKER_PROCESSES=str(PROCESSES),
        WELLQUEUE_GRACE_SECONDS=str(GRACE_S),
    )
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR.parent), env["PYTHONPATH"]])
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "wellqueue_tui.cli", "--workers-only"],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def stop_within(process: subprocess.Popen, timeout: float = PATIENCE_S) -> tuple[int | None, float]:
    """SIGTERM, then the exit code (None if still running after `timeout`) and how long the drain took."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    return code, time.monotonic() - started


def wait_until_ready(log_path, run: int) -> None:
    """Wait until the `run`-th workers-only process has started all its worker processes and each of them
    consumes (the log is shared by the runs, so the lines of earlier runs are counted too)."""

    def ready() -> bool:
        text = log_path.read_text(errors="replace")
        return text.count("Workers running against") >= run and text.count(READY) == text.count("Started worker")

    wait_for(ready, timeout=PATIENCE_S, interval=0.1)


def kill_group(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_sigterm_with_200_jobs_in_flight_drains_them_and_loses_none(redis_client, redis_url, settings, tmp_path):
    broker = build_broker(redis_url, settings=settings, kinds=KINDS)
    registry = Registry(broker.client, broker.keys)
    jobs = [{"queue": QUEUE, "payload": {"n": n, "sleep_ms": JOB_MS}, "remove_on_complete": False} for n in range(JOBS)]
    log_path = tmp_path / "workers-only.log"
    first = workers_only(redis_url, settings.data_dir, log_path)
    second = None
    try:
        wait_until_ready(log_path, run=1)  # all four take their share at once, however long each took to boot
        ids = enqueue_bulk(jobs, broker=broker)
        in_flight = wait_for(
            lambda: (n := registry.queue_counts(QUEUE).active) >= PROCESSES * THREADS * 0.9 and n,
            timeout=PATIENCE_S,
            interval=0.02,
        )
        first_code, first_drain_s = stop_within(first)
        after_first = registry.queue_counts(QUEUE)
        stranded_after_first = stranded_acks(broker.client)

        second = workers_only(redis_url, settings.data_dir, log_path)
        wait_until_ready(log_path, run=2)
        wait_for(lambda: registry.queue_counts(QUEUE).completed == JOBS, timeout=PATIENCE_S)
        second_code, second_drain_s = stop_within(second)
    finally:
        kill_group(first)
        kill_group(second)
        broker.client.close()

    audit = audit_jobs(redis_client, ids)
    ran_more_than_once = [job_id for job_id, starts in audit.starts.items() if starts > 1]
    redelivered = sum(1 for job_id in ids if int(redis_client.hget(f"wq:job:{job_id}", "redeliveries") or 0))
    report(
        "R5 graceful stop",
        jobs=JOBS,
        workers=f"{PROCESSES}x{THREADS}",
        in_flight_at_sigterm=in_flight,
        exit=first_code,
        drain_s=round(first_drain_s, 1),
        completed_in_drain=after_first.completed,
        left_waiting=after_first.waiting,
        left_active=after_first.active,
        stranded=stranded_after_first,
        second_run_exit=second_code,
        second_drain_s=round(second_drain_s, 1),
        lost=JOBS - audit.count("completed"),
        ran_more_than_once=len(ran_more_than_once),
        finished_twice=audit.finished_twice,
        redelivered=redelivered,
    )

    assert first_code == 0, log_path.read_text()[-3000:]  # 0: every process stopped within the grace time
    assert after_first.active == 0 and stranded_after_first == 0
    assert after_first.completed >= in_flight, "every job running at SIGTERM finished within the drain"
    assert after_first.completed + after_first.waiting == JOBS
    assert second_code == 0, "idle workers stop cleanly too"
    assert audit.count("completed") == JOBS and not audit.missing
    assert ran_more_than_once == [] and audit.finished_twice == 0 and redelivered == 0
    assert stranded_acks(redis_client) == 0


def test_sigterm_lets_jobs_of_different_lengths_finish_within_the_grace(
    broker, registry, redis_url, settings, tmp_path
):
    """Twelve jobs of 1.0-4.3 s and a 10 s grace: every one finishes and the process exits 0. Nothing may stay
    behind in its acks set with the heartbeat removed: the reaper would never redeliver it."""
    ids = enqueue_bulk(
        [
            {"queue": "samples", "payload": {"n": n, "sleep_ms": 1000 + 300 * n}, "remove_on_complete": False}
            for n in range(12)
        ],
        broker=broker,
    )
    with open(tmp_path / "worker.log", "wb") as log:
        process = start_worker(redis_url, settings.data_dir, threads=12, grace_ms=GRACE_S * 1000, output=log)
    try:
        wait_for(lambda: registry.queue_counts("samples").active == 12, timeout=PATIENCE_S, interval=0.02)
        code, drain_s = stop_within(process)
    finally:
        kill_group(process)
    counts = registry.queue_counts("samples")
    stranded = stranded_acks(broker.client)
    heartbeats = broker.client.zcard("wq:brokers")
    report(
        "R5 graceful stop, mixed lengths",
        jobs=len(ids),
        longest_s=4.3,
        grace_s=GRACE_S,
        exit=code,
        drain_s=round(drain_s, 1),
        completed=counts.completed,
        left_active=counts.active,
        stranded=stranded,
        heartbeats_left=heartbeats,
    )

    # 0: every job finished within the grace time (a job cut off by it makes the worker exit 1)
    assert code == 0, (tmp_path / "worker.log").read_text()[-2000:]
    assert counts.completed == len(ids) and counts.active == 0
    assert stranded == 0 or heartbeats > 0, "whatever is left unacked stays reapable (heartbeat kept)"
