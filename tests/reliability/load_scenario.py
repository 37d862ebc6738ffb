"""The L1 sustained-load scenario (reliability.md §5), shared by tests/reliability/test_load.py (which asserts
its correctness figures) and benchmarks/load.py (which prints its speed figures): a paced producer enqueues
`rate` jobs/s for `seconds` into supervised worker processes under the default retention, then waits for the
workers to finish everything."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.workers.worker_records import read_rss_bytes

from .conftest import (
    PacedProducer,
    RunningSupervisor,
    multi_queue_pythonpath,
    queue_backlog,
    sample_settings,
    sample_supervisor,
    stranded_acks,
    unfinished,
)
from .sample_queues import KINDS, QUEUES

BATCHES_PER_S = 10
BASELINE_AT_S = 10  # memory is compared between this point of the load and the end of the drain
#: How long the workers may take to finish the backlog once the producer stops, however slow the machine.
DRAIN_TIMEOUT_S = 600
MiB = 2**20


@dataclass(frozen=True)
class LoadFigures:
    """What one run did: correctness figures (lost, counts, restarts, memory) and speed figures (rate,
    backlog, drain time)."""

    rate: int
    seconds: int
    acked: int
    refused: int
    achieved_rate: float
    completed: int
    failed: int
    drained: bool
    backlog: list[int]  # jobs waiting, sampled once a second while producing
    rss_growth: dict[int, int]  # worker pid -> bytes, from BASELINE_AT_S into the load to after the drain
    final_rss: dict[int, int]
    redis_growth: int  # used_memory, same two points
    final_redis: int
    records_kept: int
    drain_s: float
    restarts: int
    processes: int
    stranded: int
    clean_stop: bool

    @property
    def lost(self) -> int:
        return self.acked - self.completed

    def summary(self) -> dict:
        """The figures as printed by the test and the benchmark."""
        return dict(
            rate=self.rate,
            seconds=self.seconds,
            acked=self.acked,
            refused=self.refused,
            achieved_rate=round(self.achieved_rate),
            completed=self.completed,
            failed=self.failed,
            lost=self.lost,
            max_backlog=max(self.backlog, default=0),
            mean_backlog=round(sum(self.backlog) / len(self.backlog), 1) if self.backlog else 0,
            rss_mib=[round(rss / MiB, 1) for rss in self.final_rss.values()],
            rss_growth_mib=[round(g / MiB, 2) for g in self.rss_growth.values()],
            redis_mib=round(self.final_redis / MiB, 1),
            redis_growth_mib=round(self.redis_growth / MiB, 2),
            records_kept=self.records_kept,
            drain_s=round(self.drain_s, 1),
            restarts=self.restarts,
        )


def counted(client: redis.Redis, since_minute: int, until_minute: int) -> tuple[int, int]:
    """Completed and failed jobs of the sample queues by the per-minute counters."""
    with client.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            for minute in range(since_minute, until_minute + 1):
                pipe.hmget(KEYS.stats(queue, minute), "completed", "failed")
        rows = pipe.execute()
    return sum(int(c or 0) for c, _f in rows), sum(int(f or 0) for _c, f in rows)


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def run_load(
    redis_url: str, data_dir: Path, *, rate: int = 400, seconds: int = 60, processes: int = 2, threads: int = 4
) -> LoadFigures:
    """Run the scenario against the Redis at `redis_url` (its sample-queue keys should be empty)."""
    os.environ["PYTHONPATH"] = multi_queue_pythonpath()  # the worker processes inherit it
    settings = sample_settings(data_dir)
    producer_broker = build_broker(redis_url, settings=settings, kinds=KINDS)
    client = producer_broker.client
    registry = Registry(client, producer_broker.keys)
    per_batch = rate // BATCHES_PER_S

    def batch(index: int) -> list[dict]:  # default retention: the registry keeps the newest jobs only
        return [
            {"queue": QUEUES[(index * per_batch + i) % len(QUEUES)], "payload": {"n": index * per_batch + i}}
            for i in range(per_batch)
        ]

    producer = PacedProducer(producer_broker, batch, 1 / BATCHES_PER_S)
    backlog: list[int] = []
    first_minute = int(registry.server_time() // 60)
    try:
        with RunningSupervisor(sample_supervisor(settings, redis_url, processes, threads, QUEUES)) as running:
            ready = wait_until(lambda: client.zcard(KEYS.brokers) >= processes, timeout=DRAIN_TIMEOUT_S)
            assert ready, "the worker processes never sent a heartbeat"
            pids = running.live_pids()
            started = time.monotonic()
            producer.start()
            baseline_redis, baseline_rss = 0, {}
            while time.monotonic() - started < seconds:
                time.sleep(1.0)
                backlog.append(sum(c.waiting for c in registry.all_counts(queues=list(QUEUES))))
                if not baseline_rss and time.monotonic() - started >= BASELINE_AT_S:
                    baseline_redis = client.info("memory")["used_memory"]
                    baseline_rss = {pid: read_rss_bytes(pid) for pid in pids}
            producer.stop()
            produced_s = time.monotonic() - started
            drained = wait_until(
                lambda: unfinished(registry, QUEUES) == 0 and queue_backlog(client, QUEUES) == 0,
                timeout=DRAIN_TIMEOUT_S,
            )
            drain_s = time.monotonic() - started - produced_s
            final_rss = {pid: read_rss_bytes(pid) for pid in pids}
            final_redis = client.info("memory")["used_memory"]
            restarts = sum(p.restarts for p in running.processes())
            clean_stop = running.stop()
        completed, failed = counted(client, first_minute, int(registry.server_time() // 60))
        growth = {
            pid: final_rss[pid] - baseline_rss[pid]
            for pid in pids
            if final_rss.get(pid) is not None and baseline_rss.get(pid) is not None
        }
        kept = sum(c.completed for c in registry.all_counts(queues=list(QUEUES)))
        return LoadFigures(
            rate=rate,
            seconds=seconds,
            acked=len(producer.acked),
            refused=len(producer.refusals),
            achieved_rate=len(producer.acked) / produced_s,
            completed=completed,
            failed=failed,
            drained=drained,
            backlog=backlog,
            rss_growth=growth,
            final_rss={p: final_rss[p] for p in growth},
            redis_growth=final_redis - baseline_redis,
            final_redis=final_redis,
            records_kept=kept,
            drain_s=drain_s,
            restarts=restarts,
            processes=processes,
            stranded=stranded_acks(client),
            clean_stop=clean_stop,
        )
    finally:
        if producer.is_alive():
            producer.stop()
        client.close()
