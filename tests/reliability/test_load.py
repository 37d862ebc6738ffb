"""L1 sustained load (reliability.md §5): 400 jobs/s for 60 s into 2 supervised processes x 4 threads on the
AOF Redis: the backlog stays small, worker memory and Redis memory stay flat under the default retention, and
every job is accounted for by the per-minute counters (the records themselves are trimmed)."""

from __future__ import annotations

import time

import pytest

from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.workers.worker_records import read_rss_bytes

from .conftest import (
    PacedProducer,
    RunningSupervisor,
    multi_queue_pythonpath,
    queue_backlog,
    report,
    sample_settings,
    sample_supervisor,
    settle,
    stranded_acks,
    unfinished,
)
from .sample_queues import KINDS, QUEUES

pytestmark = pytest.mark.reliability

RATE = 400  # jobs per second
SECONDS = 60
BATCHES_PER_S = 10
PROCESSES, THREADS = 2, 4
BASELINE_AT_S = 10  # memory is compared between this point and the end
MAX_BACKLOG = 100
MAX_RSS_GROWTH = 10 * 2**20
MAX_REDIS_GROWTH = 5 * 2**20
MiB = 2**20


def counted(client, since_minute: int, until_minute: int) -> tuple[int, int]:
    """Completed and failed jobs of the sample queues by the per-minute counters."""
    with client.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            for minute in range(since_minute, until_minute + 1):
                pipe.hmget(KEYS.stats(queue, minute), "completed", "failed")
        rows = pipe.execute()
    return sum(int(c or 0) for c, _f in rows), sum(int(f or 0) for _c, f in rows)


def test_400_jobs_per_second_for_a_minute_keeps_up_with_flat_memory(redis_client, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", multi_queue_pythonpath())
    settings = sample_settings(tmp_path)
    producer_broker = build_broker(redis_url, settings=settings, kinds=KINDS)
    registry = Registry(producer_broker.client, producer_broker.keys)
    per_batch = RATE // BATCHES_PER_S

    def batch(index: int) -> list[dict]:  # default retention: the registry keeps the newest jobs only
        return [{"queue": QUEUES[(index * per_batch + i) % len(QUEUES)],
                 "payload": {"n": index * per_batch + i}} for i in range(per_batch)]

    producer = PacedProducer(producer_broker, batch, 1 / BATCHES_PER_S)
    backlog: list[int] = []
    baseline_rss: dict[int, int] = {}
    final_rss: dict[int, int] = {}
    first_minute = int(registry.server_time() // 60)
    with RunningSupervisor(sample_supervisor(settings, redis_url, PROCESSES, THREADS, QUEUES)) as running:
        settle(lambda: all(p.pid for p in running.processes()), timeout=30)
        time.sleep(2.0)  # let the workers boot before the load starts
        pids = running.live_pids()
        started = time.monotonic()
        producer.start()
        baseline_redis = None
        while time.monotonic() - started < SECONDS:
            time.sleep(1.0)
            backlog.append(sum(c.waiting for c in registry.all_counts(queues=list(QUEUES))))
            if baseline_redis is None and time.monotonic() - started >= BASELINE_AT_S:
                baseline_redis = redis_client.info("memory")["used_memory"]
                baseline_rss = {pid: read_rss_bytes(pid) for pid in pids}
        producer.stop()
        produced_s = time.monotonic() - started
        final_rss = {pid: read_rss_bytes(pid) for pid in pids}
        final_redis = redis_client.info("memory")["used_memory"]
        drained = settle(lambda: unfinished(registry, QUEUES) == 0 and queue_backlog(redis_client, QUEUES) == 0,
                         timeout=30, interval=0.2)
        drain_s = time.monotonic() - started - produced_s
        restarts = sum(p.restarts for p in running.processes())
        clean_stop = running.stop()

    completed, failed = counted(redis_client, first_minute, int(registry.server_time() // 60))
    acked = len(producer.acked)
    growth = {pid: final_rss[pid] - baseline_rss[pid] for pid in pids
              if final_rss.get(pid) is not None and baseline_rss.get(pid) is not None}
    kept = sum(c.completed for c in registry.all_counts(queues=list(QUEUES)))
    report("L1 load", rate=RATE, seconds=SECONDS, acked=acked, refused=len(producer.refusals),
           achieved_rate=round(acked / produced_s), completed=completed, failed=failed, lost=acked - completed,
           max_backlog=max(backlog), mean_backlog=round(sum(backlog) / len(backlog), 1),
           rss_mib=[round(final_rss[p] / MiB, 1) for p in growth], rss_growth_mib=[round(g / MiB, 2) for g in
                                                                                 growth.values()],
           redis_mib=round(final_redis / MiB, 1), redis_growth_mib=round((final_redis - baseline_redis) / MiB, 2),
           records_kept=kept, drain_s=round(drain_s, 1), restarts=restarts)
    producer_broker.client.close()

    assert producer.refusals == [] and acked >= RATE * SECONDS * 0.98, "the producer kept its pace"
    assert drained and completed == acked and failed == 0, "every acknowledged job completed exactly once"
    assert max(backlog) < MAX_BACKLOG
    assert len(growth) == PROCESSES and restarts == 0, "the same worker processes ran throughout"
    assert max(growth.values()) < MAX_RSS_GROWTH
    assert final_redis - baseline_redis < MAX_REDIS_GROWTH
    assert stranded_acks(redis_client) == 0 and clean_stop
