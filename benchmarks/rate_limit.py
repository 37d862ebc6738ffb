"""How closely a queue's rate limit holds: ready jobs behind `10/s` and `100/s`, taken by two worker processes,
and the start times their processor records. Prints the achieved start rate over the run and the most starts
seen in any 1-second window, per limit.

    .venv/bin/python benchmarks/rate_limit.py [--seconds 10] [--processes 2] [--threads 4]

Each limit gets `limit × seconds` no-op jobs, all ready before the workers start; the workers run in fresh
subprocesses against one private redis-server (AOF `appendfsync always`, as the embedded Redis runs it), started in a temp dir and stopped at the end."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUEUE = "bench-limited"
STARTS = "bench:limited:starts"


def make_broker(url: str):
    import redis
    from pydantic import BaseModel

    from wellqueue_tui.jobs.broker import build_broker
    from wellqueue_tui.jobs.kind import JobKind
    from wellqueue_tui.settings import Settings

    client = redis.Redis.from_url(url)
    recorder = redis.Redis.from_url(url)

    class Payload(BaseModel):
        i: int

    def record_start(payload: Payload, ctx) -> None:
        recorder.rpush(STARTS, repr(time.time()))

    kind = JobKind(name="limited", queue=QUEUE, payload=Payload, process=record_start, max_attempts=1)
    return build_broker(url, settings=Settings(data_dir=tempfile.mkdtemp()), client=client, kinds=[kind])


def consume(url: str, threads: int) -> None:
    import dramatiq

    broker = make_broker(url)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=threads)
    worker.queue_prefetch = threads  # as the worker entry point runs it
    worker.start()
    print("ready", flush=True)
    sys.stdin.readline()  # the parent says stop
    worker.stop()


def most_in_any_window(times: list[float], window_s: float) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


def run_limit(url: str, rate: str, per_second: int, seconds: int, processes: int, threads: int) -> dict:
    from wellqueue_tui.jobs import enqueue_bulk
    from wellqueue_tui.jobs.limits import LimitChange, LimitStore

    broker = make_broker(url)
    client = broker.client
    client.delete(STARTS)
    LimitChange(rate=rate).apply(LimitStore(client, broker.keys), QUEUE)
    jobs = per_second * seconds
    for start in range(0, jobs, 1000):
        enqueue_bulk(
            [{"queue": QUEUE, "payload": {"i": i}} for i in range(start, min(jobs, start + 1000))], broker=broker
        )
    me = [sys.executable, __file__, "--role", "consume", "--url", url, "--threads", str(threads)]
    workers = [subprocess.Popen(me, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    while client.llen(STARTS) < jobs:
        time.sleep(0.05)
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("stop\n")
        worker.stdin.flush()
    for worker in workers:
        worker.wait(timeout=60)
    starts = sorted(float(t) for t in client.lrange(STARTS, 0, -1))
    span = starts[-1] - starts[0]
    client.close()
    return {
        "jobs": jobs,
        "span_s": span,
        # every window but the first is a full one: (jobs - one window's worth) started over the span
        "rate": (jobs - per_second) / span if span else float("inf"),
        "most_in_1s": most_in_any_window(starts, 1.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10, help="how many windows' worth of jobs per limit")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--role", choices=["main", "consume"], default="main")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.role == "consume":
        return consume(args.url, args.threads)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from wellqueue_tui.redis_server import start_redis

    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), port=0)
        try:
            results = {
                rate: run_limit(server.url, rate, per, args.seconds, args.processes, args.threads)
                for rate, per in (("10/s", 10), ("100/s", 100))
            }
        finally:
            server.stop()
    print(f"{args.processes} worker process(es) x {args.threads} threads, all jobs ready at the start")
    print(f"{'limit':8}{'jobs':>6}{'span s':>9}{'starts/s':>10}{'most in any 1 s':>17}")
    for rate, r in results.items():
        print(f"{rate:8}{r['jobs']:>6}{r['span_s']:>9.2f}{r['rate']:>10.2f}{r['most_in_1s']:>17}")


if __name__ == "__main__":
    main()
