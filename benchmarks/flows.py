"""Flows: how fast whole flows are created (one script call per flow) compared with enqueueing the same
number of jobs with enqueue_bulk, and how long a flow takes from creation until its parent completed with an
in-process worker (no-op steps). Prints jobs/s and flow latencies.

    .venv/bin/python benchmarks/flows.py [--flows 500] [--children 10] [--threads 8]

Runs against a private redis-server started in a temp dir on a random port and stopped at the end."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import dramatiq
from pydantic import BaseModel

from wellqueue_tui.jobs import enqueue_bulk, enqueue_flow
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.kind import JobKind
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.redis_server import start_redis
from wellqueue_tui.settings import Settings

QUEUE = "flow-bench"


class Step(BaseModel):
    i: int


KIND = JobKind(name="flow_bench_step", queue=QUEUE, payload=Step, process=lambda p, ctx: None)
#: Where the enqueue_bulk comparison goes (never consumed), so the flows' queue starts empty.
BULK_KIND = JobKind(name="flow_bench_bulk", queue=QUEUE + "-bulk", payload=Step, process=lambda p, ctx: None)


def flow(n: int, children: int) -> dict:
    return {
        "queue": QUEUE,
        "data": {"i": n},
        "opts": {"jobId": f"flow-{n}", "removeOnComplete": False},  # kept, to read each parent's times
        "children": [{"queue": QUEUE, "data": {"i": c}} for c in range(children)],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=500)
    parser.add_argument("--children", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    jobs = args.flows * (args.children + 1)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), port=0)
        try:
            broker = build_broker(server.url, settings=Settings(data_dir=Path(tmp)), kinds=[KIND, BULK_KIND])
            registry = Registry(broker.client, broker.keys)

            started = time.perf_counter()
            for start in range(0, jobs, 2000):
                count = min(2000, jobs - start)
                batch = [{"queue": BULK_KIND.queue, "payload": {"i": start + i}} for i in range(count)]
                enqueue_bulk(batch, broker=broker)
            bulk_rate = jobs / (time.perf_counter() - started)

            created: dict[str, float] = {}
            started = time.perf_counter()
            for n in range(args.flows):
                created[enqueue_flow(flow(n, args.children), broker=broker).id] = time.time()
            flow_rate = jobs / (time.perf_counter() - started)

            broker.emit_after("process_boot")
            worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=args.threads)
            started = time.perf_counter()
            worker.start()
            latencies = []
            try:
                pending = set(created)
                while pending:
                    time.sleep(0.05)
                    for root in list(pending):
                        job = registry.get_job(root)
                        if job and job.summary.state == "completed":
                            latencies.append(job.summary.finished_at - job.summary.created_at)
                            pending.discard(root)
                run_s = time.perf_counter() - started
            finally:
                worker.stop()
        finally:
            server.stop()
    print(f"flows: {args.flows} x (1 parent + {args.children} children) = {jobs} jobs")
    print(f"enqueue_bulk, same jobs without flows: {bulk_rate:,.0f} jobs/s")
    print(f"enqueue_flow, one script per flow:     {flow_rate:,.0f} jobs/s")
    print(f"processing every flow ({args.threads} threads): {jobs / run_s:,.0f} jobs/s, {run_s:.1f} s")
    print(
        f"flow latency created -> parent completed (backlog of every flow at once): "
        f"median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s"
    )


if __name__ == "__main__":
    main()
