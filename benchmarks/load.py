"""Sustained load (L1): a paced producer enqueues 400 jobs/s for 60 s into 2 supervised worker processes x 4
threads, the same scenario as tests/reliability/test_load.py. Prints how well the workers keep up: achieved
rate, backlog (max and mean), drain time, lost jobs, worker RSS and Redis memory growth.

    .venv/bin/python benchmarks/load.py [--rate 400] [--seconds 60] [--processes 2] [--threads 4]

Runs against one private redis-server (AOF `appendfsync always`, as the embedded Redis runs it), started in a temp dir on a random
port and stopped at the end. Targets from reliability.md: backlog < 100, RSS growth < 10 MiB, 0 lost."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=400, help="jobs per second")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    # the scenario and its sample queues live with the reliability tests
    sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "jobs")]
    from reliability.load_scenario import run_load

    from wellqueue_tui.redis_server import start_redis

    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis", port=0)
        try:
            figures = run_load(
                server.url,
                Path(tmp),
                rate=args.rate,
                seconds=args.seconds,
                processes=args.processes,
                threads=args.threads,
            )
        finally:
            server.stop()
    summary = figures.summary()
    print(
        f"{args.rate} jobs/s for {args.seconds} s, {args.processes} process(es) x {args.threads} threads, AOF appendfsync always"
    )
    width = max(len(name) for name in summary)
    for name, value in summary.items():
        print(f"  {name:<{width}}  {value}")
    print(f"  {'drained':<{width}}  {figures.drained}")


if __name__ == "__main__":
    main()
