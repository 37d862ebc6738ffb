"""The Python side of benchmarks/peers.py: produce or consume no-op jobs with bare Dramatiq, WellQueue or RQ.

    python benchmarks/peers_python.py produce SYSTEM URL --jobs N [--batch B] [--rate R]
    python benchmarks/peers_python.py consume SYSTEM URL [--threads T] [--expect N]

`produce` prints {"seconds": ...} for the enqueue calls alone. With --rate it paces the jobs and stamps each with
its enqueue time, for the latency runs. `consume` prints "ready" once its worker runs; with --expect it stops after
that many jobs and prints {"seconds": ...} from the worker's start to the last job, else it runs until a line
arrives on stdin (or SIGTERM, for RQ) and every job records enqueue → handler start (ms) in the list LATENCIES."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

QUEUE = "bench"
LATENCIES = "peers:latencies"
_done = threading.Event()
_state = {"expect": 0, "count": 0, "client": None}
_lock = threading.Lock()


def noop(payload: dict) -> None:
    """The job: note its start latency when it carries an enqueue time, count it when the run expects a total."""
    started_ms = time.time() * 1000
    if payload.get("t") is not None:
        _state["client"].rpush(LATENCIES, f"{started_ms - payload['t']:.3f}")
    if _state["expect"]:
        with _lock:
            _state["count"] += 1
            if _state["count"] >= _state["expect"]:
                _done.set()


def bare_broker(url: str):
    import dramatiq
    import redis
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(client=redis.Redis.from_url(url), namespace="bare")
    actor = dramatiq.Actor(noop, broker=broker, actor_name="noop", queue_name=QUEUE, priority=0, options={})
    return broker, actor


def wellqueue_broker(url: str):
    from pydantic import BaseModel

    from wellqueue_tui.jobs.broker import build_broker
    from wellqueue_tui.jobs.kind import JobKind
    from wellqueue_tui.settings import Settings

    class Payload(BaseModel):
        i: int
        t: float | None = None

    kind = JobKind(name="noop", queue=QUEUE, payload=Payload, process=lambda p, ctx: noop(p.model_dump()))
    return build_broker(url, settings=Settings(data_dir=tempfile.mkdtemp()), kinds=[kind])


def sender(system: str, url: str):
    """(send one, send a batch) for the system; a batch sender is None where the system has none."""
    if system == "bare":
        _broker, actor = bare_broker(url)
        return actor.send, None
    if system == "wellqueue":
        from wellqueue_tui.jobs import enqueue, enqueue_bulk

        broker = wellqueue_broker(url)
        return (
            lambda payload: enqueue(QUEUE, payload, broker=broker),
            lambda payloads: enqueue_bulk([{"queue": QUEUE, "payload": p} for p in payloads], broker=broker),
        )
    import redis
    from rq import Queue

    queue = Queue(QUEUE, connection=redis.Redis.from_url(url))
    return (
        lambda payload: queue.enqueue("peers_python.noop", payload),
        lambda payloads: queue.enqueue_many([Queue.prepare_data("peers_python.noop", (p,)) for p in payloads]),
    )


def produce(args) -> None:
    send_one, send_batch = sender(args.system, args.url)
    started = time.perf_counter()
    if args.rate:
        interval = 1 / args.rate
        for i in range(args.jobs):
            pause = started + i * interval - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            send_one({"i": i, "t": time.time() * 1000})
    elif args.batch:
        if send_batch is None:
            raise SystemExit(f"{args.system} has no bulk enqueue")
        for start in range(0, args.jobs, args.batch):
            send_batch([{"i": i} for i in range(start, min(start + args.batch, args.jobs))])
    else:
        for i in range(args.jobs):
            send_one({"i": i})
    print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)


def consume(args) -> None:
    import redis

    _state["client"] = redis.Redis.from_url(args.url)
    _state["expect"] = args.expect
    if args.system == "rq":
        return consume_rq(args)
    import dramatiq

    if args.system == "bare":
        broker, _actor = bare_broker(args.url)
    else:
        broker = wellqueue_broker(args.url)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=args.threads)
    started = time.perf_counter()
    worker.start()
    print("ready", flush=True)
    if args.expect:
        _done.wait()
        print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)
    else:
        sys.stdin.readline()
    worker.stop()


def consume_rq(args) -> None:
    from rq import Queue, SimpleWorker

    connection = _state["client"]
    worker = SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection)
    print("ready", flush=True)
    started = time.perf_counter()
    # RQ logs every job at INFO: on the parent's pipe that would fill it and stall the worker
    if args.expect:
        worker.work(burst=True, logging_level="WARNING")
        print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)
    else:
        worker.work(burst=False, logging_level="WARNING")  # until SIGTERM


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["produce", "consume"])
    parser.add_argument("system", choices=["bare", "wellqueue", "rq"])
    parser.add_argument("url")
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--expect", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.modules.setdefault("peers_python", sys.modules[__name__])  # RQ imports the job as peers_python.noop
    os.environ.setdefault("WELLQUEUE_LOG_LEVEL", "WARNING")
    (produce if args.role == "produce" else consume)(args)


if __name__ == "__main__":
    main()
