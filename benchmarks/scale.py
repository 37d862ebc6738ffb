"""Registry reads stay flat as a queue grows: list page, counts, detail and search times with 10k, 100k
and 1M jobs in one queue, plus Redis memory per job. Enqueues go through `enqueue_bulk` (pipelined),
whose rate is printed too.

    .venv/bin/python benchmarks/scale.py [--sizes 10000,100000,1000000]

Runs against a private redis-server (AOF `appendfsync always`, as the embedded Redis runs it) in a temp dir, stopped at the end."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import BaseModel

from wellqueue_tui.jobs import enqueue_bulk
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.kind import JobKind
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.redis_server import start_redis
from wellqueue_tui.settings import Settings

QUEUE = "scale"
BATCH = 2000


class Reading(BaseModel):
    wellId: str
    oil: float
    gas: float
    water: float


KIND = JobKind(name="scale_job", queue=QUEUE, payload=Reading, process=lambda p, ctx: None)


def timed(fn, repeat: int = 20) -> float:
    """Median milliseconds of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), port=0)
        try:
            broker = build_broker(server.url, settings=Settings(data_dir=Path(tmp)), kinds=[KIND])
            registry = Registry(broker.client, broker.keys)
            base_memory = broker.client.info("memory")["used_memory"]
            print(
                f"{'jobs':>9} {'enqueue/s':>10} {'page ms':>8} {'last page ms':>12} {'counts ms':>9} "
                f"{'detail ms':>9} {'search ms':>9} {'bytes/job':>9}"
            )
            enqueued = 0
            for size in sizes:
                added = size - enqueued
                started = time.perf_counter()
                while enqueued < size:
                    count = min(BATCH, size - enqueued)
                    enqueue_bulk(
                        [
                            {
                                "queue": QUEUE,
                                "payload": {
                                    "wellId": f"WELL-{enqueued + i:07d}",
                                    "oil": 1.5,
                                    "gas": 10.0,
                                    "water": 0.5,
                                },
                            }
                            for i in range(count)
                        ],
                        broker=broker,
                    )
                    enqueued += count
                rate = added / max(time.perf_counter() - started, 1e-9)
                some_id = registry.list_jobs(QUEUE, "waiting", 0, 1).jobs[0].id
                page = timed(lambda: registry.list_jobs(QUEUE, "waiting", 0, 50))
                last = timed(lambda size=size: registry.list_jobs(QUEUE, "waiting", size - 50, 50))
                counts = timed(lambda: registry.all_counts())
                detail = timed(lambda some_id=some_id: registry.get_job(some_id))
                search = timed(lambda: registry.search_jobs(QUEUE, "waiting", "WELL-0000042"), repeat=5)
                memory = (broker.client.info("memory")["used_memory"] - base_memory) / enqueued
                print(
                    f"{size:>9} {rate:>10.0f} {page:>8.2f} {last:>12.2f} {counts:>9.2f} {detail:>9.2f} "
                    f"{search:>9.2f} {memory:>9.0f}"
                )
        finally:
            server.stop()
    print(
        "page = newest 50 of the waiting set (ZRANGE + pipelined HMGET); search looks at the newest 2,000 only;"
        " enqueue/s = enqueue_bulk in batches of 2,000 for the jobs added at that step"
    )


if __name__ == "__main__":
    main()
