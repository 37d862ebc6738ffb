"""Throughput of no-op jobs through bare Dramatiq and through WellQueue (registry on), same Redis,
same worker process count and threads, in one run. Prints jobs/s for enqueue and processing, and ratios.

    .venv/bin/python benchmarks/throughput.py [--jobs 20000] [--threads 8] [--processes 1]

Each side runs in fresh subprocesses against one private redis-server (AOF `appendfsync always`, as the embedded Redis runs it),
started in a temp dir on a random port and stopped at the end."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUEUE = "bench"


def noop(payload: dict | None = None) -> None:
    return None


def make_broker(mode: str, url: str):
    import redis

    client = redis.Redis.from_url(url)
    if mode == "bare":
        import dramatiq
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(client=client, namespace="bare")
        actor = dramatiq.Actor(noop, broker=broker, actor_name="noop", queue_name=QUEUE, priority=0, options={})
        return broker, lambda i: actor.send({"i": i})

    from pydantic import BaseModel

    from wellqueue_tui.jobs import enqueue
    from wellqueue_tui.jobs.broker import build_broker
    from wellqueue_tui.jobs.kind import JobKind
    from wellqueue_tui.settings import Settings

    class Payload(BaseModel):
        i: int

    kind = JobKind(name="noop", queue=QUEUE, payload=Payload, process=lambda p, ctx: None)
    broker = build_broker(url, settings=Settings(data_dir=tempfile.mkdtemp()), client=client, kinds=[kind])
    return broker, lambda i: enqueue(QUEUE, {"i": i}, broker=broker)


def produce(mode: str, url: str, jobs: int) -> None:
    _broker, send = make_broker(mode, url)
    started = time.perf_counter()
    for i in range(jobs):
        send(i)
    print(json.dumps({"enqueue_s": time.perf_counter() - started}))


def consume(mode: str, url: str, threads: int) -> None:
    import dramatiq

    broker, _send = make_broker(mode, url)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=threads)
    worker.start()
    print("ready", flush=True)
    sys.stdin.readline()  # the parent says stop
    worker.stop()


def remaining(client, namespace: str) -> int:
    pending = client.hlen(f"{namespace}:{QUEUE}.msgs")
    return pending


def run_side(mode: str, url: str, jobs: int, threads: int, processes: int) -> dict:
    import redis

    client = redis.Redis.from_url(url)
    namespace = "bare" if mode == "bare" else "wellqueue"
    me = [sys.executable, __file__]
    out = subprocess.run(
        [*me, "--role", "produce", "--mode", mode, "--url", url, "--jobs", str(jobs)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    enqueue_s = json.loads(out.strip().splitlines()[-1])["enqueue_s"]
    assert remaining(client, namespace) == jobs, "every job must be queued before the workers start"
    workers = [
        subprocess.Popen(
            [*me, "--role", "consume", "--mode", mode, "--url", url, "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for w in workers:
        assert w.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    while remaining(client, namespace) > 0:
        time.sleep(0.01)
    process_s = time.perf_counter() - started
    for w in workers:
        w.stdin.write("stop\n")
        w.stdin.flush()
    for w in workers:
        w.wait(timeout=60)
    return {"enqueue_per_s": jobs / enqueue_s, "process_per_s": jobs / process_s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--role", choices=["main", "produce", "consume"], default="main")
    parser.add_argument("--mode", choices=["bare", "wellqueue"])
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.role == "produce":
        return produce(args.mode, args.url, args.jobs)
    if args.role == "consume":
        return consume(args.mode, args.url, args.threads)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from wellqueue_tui.redis_server import start_redis

    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), port=0)
        try:
            results = {
                mode: run_side(mode, server.url, args.jobs, args.threads, args.processes)
                for mode in ("bare", "wellqueue")
            }
        finally:
            server.stop()
    bare, wq = results["bare"], results["wellqueue"]
    print(f"{args.jobs} no-op jobs, {args.processes} process(es) x {args.threads} threads, AOF appendfsync always")
    print(f"{'':12}{'enqueue/s':>12}{'process/s':>12}")
    for mode, r in results.items():
        print(f"{mode:12}{r['enqueue_per_s']:>12.0f}{r['process_per_s']:>12.0f}")
    print(
        f"{'ratio':12}{wq['enqueue_per_s'] / bare['enqueue_per_s']:>12.2f}{wq['process_per_s'] / bare['process_per_s']:>12.2f}"
        "   (WellQueue / bare Dramatiq; target >= 0.85)"
    )


if __name__ == "__main__":
    main()
