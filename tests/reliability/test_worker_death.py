"""R1 worker death (reliability.md §5): worker processes SIGKILLed at random under the real supervisor lose
no job, and every job that started twice shows it in the registry."""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time

import pytest

from wellqueue_tui.jobs import enqueue_bulk
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry

from jobs.conftest import wait_for

from .conftest import (
    ReaperLoop,
    RunningSupervisor,
    audit_jobs,
    finished,
    multi_queue_pythonpath,
    queue_backlog,
    report,
    sample_jobs,
    sample_settings,
    sample_supervisor,
    settle,
    stranded_acks,
    unfinished,
)
from .sample_queues import KINDS, QUEUES

pytestmark = pytest.mark.reliability

JOBS = 5000
KILLS = 10
PROCESSES, THREADS = 2, 4
#: How long the scenario may take to settle before the test gives up, however slow the machine.
PATIENCE_S = 300


class ReadyProcesses(logging.Handler):
    """The pids of supervised worker processes that logged "Worker ready": each has sent its first heartbeat,
    so once killed the reaper must find it dead (one killed while it boots has no heartbeat and holds nothing)."""

    def __init__(self) -> None:
        super().__init__()
        self.pids: set[int] = set()
        self._lock_pids = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "Worker ready" and isinstance(getattr(record, "pid", None), int):
            with self._lock_pids:
                self.pids.add(record.pid)

    def __enter__(self) -> ReadyProcesses:
        relayed = logging.getLogger("wellqueue_tui.workers.process")
        relayed.addHandler(self)
        self._level = relayed.level
        relayed.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc_info) -> None:
        relayed = logging.getLogger("wellqueue_tui.workers.process")
        relayed.removeHandler(self)
        relayed.setLevel(self._level)


def kill_random_workers(running: RunningSupervisor, ready: ReadyProcesses, rng: random.Random, kills: int) -> int:
    """SIGKILL `kills` worker processes, 0.5-1.5 s apart, each chosen among those that are consuming."""
    done = 0
    while done < kills:
        time.sleep(rng.uniform(0.5, 1.5))
        consuming = wait_for(
            lambda: sorted(p.pid for p in running.processes() if p.pid in ready.pids), timeout=PATIENCE_S, interval=0.1
        )
        os.kill(rng.choice(consuming), signal.SIGKILL)
        done += 1
    return done


def test_sigkilled_workers_lose_no_job_and_every_rerun_shows(redis_client, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", multi_queue_pythonpath())
    rng = random.Random(1)
    settings = sample_settings(tmp_path)
    producer = build_broker(redis_url, settings=settings, kinds=KINDS)
    registry = Registry(producer.client, producer.keys)
    jobs = sample_jobs(rng, JOBS, QUEUES)
    ids = [
        job_id for start in range(0, JOBS, 500) for job_id in enqueue_bulk(jobs[start : start + 500], broker=producer)
    ]
    meant_to_fail = {job_id for job_id, job in zip(ids, jobs) if job["payload"]["permanent"]}

    supervisor = sample_supervisor(settings, redis_url, PROCESSES, THREADS, QUEUES)
    started = time.monotonic()
    with (
        ReaperLoop(redis_url, timeout_ms=2000, interval_s=0.5) as reaper,
        ReadyProcesses() as ready,
        RunningSupervisor(supervisor) as running,
    ):
        wait_for(lambda: finished(registry, QUEUES) > 0, timeout=PATIENCE_S)
        kills = kill_random_workers(running, ready, rng, KILLS)
        settle(lambda: finished(registry, QUEUES) >= JOBS, timeout=PATIENCE_S, interval=0.2)
        # the last one killed may have held nothing: its heartbeat goes stale after the work is done
        settle(lambda: reaper.dead_workers >= kills, timeout=PATIENCE_S, interval=0.2)
        settle(lambda: sum(p.restarts for p in running.processes()) >= kills, timeout=PATIENCE_S, interval=0.2)
        elapsed = time.monotonic() - started
        restarts = sum(p.restarts for p in running.processes())
        clean_stop = running.stop()

    audit = audit_jobs(producer.client, ids)
    left = unfinished(registry, QUEUES)
    backlog = queue_backlog(producer.client, QUEUES)
    lost = len(audit.missing) + (JOBS - audit.count("completed", "failed"))
    stranded = stranded_acks(producer.client)
    report(
        "R1 worker death",
        jobs=JOBS,
        kills=kills,
        restarts=restarts,
        reaped_workers=reaper.dead_workers,
        requeued=reaper.requeued,
        lost=lost,
        failed_on_purpose=len(meant_to_fail),
        started_twice=len(audit.started_twice),
        invisible=len(audit.invisible),
        finished_twice=audit.finished_twice,
        left=left,
        stranded=stranded,
        seconds=round(elapsed, 1),
    )
    producer.client.close()

    assert lost == 0 and not audit.missing
    assert audit.ids_in("failed") == meant_to_fail, "only the jobs meant to fail failed"
    assert audit.count("completed") == JOBS - len(meant_to_fail)
    assert left == 0 and backlog == 0 and stranded == 0
    assert kills == KILLS and restarts >= KILLS
    assert reaper.dead_workers == kills, "the reaper took only the killed workers for dead, no live one"
    # a killed process reruns what it started and had not acked yet: Dramatiq acks from each queue's consumer
    # thread, so a busy machine can leave finished jobs unacked, up to each ready-queue consumer's prefetch
    assert len(audit.started_twice) <= KILLS * len(QUEUES) * THREADS
    assert audit.invisible == [], "every job that started twice shows attempts >= 2 or redeliveries >= 1"
    assert clean_stop
