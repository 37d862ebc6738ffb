"""The Failures screen with many failed jobs: N jobs (default 100,000) fail for good through real in-process
workers (so the finish script files every one into its group) with G distinct causes (default 200); then

1. the read of the groups list (`OperatorSession.failure_groups`: all groups, and the screen's largest 50), and
2. the first render of the Failures screen: from pressing `f` on the overview until the table shows its rows,

each the median of 5. Goal: < 100 ms to the first render however many jobs failed.

    .venv/bin/python benchmarks/triage.py [--jobs 100000] [--groups 200] [--threads 8]

Private redis-server in a temp dir, stopped at the end."""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dramatiq
from pydantic import BaseModel

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.auth.identity import LOCAL_DEV
from wellqueue_tui.jobs import enqueue_bulk
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.redis_server import start_redis
from wellqueue_tui.screens.failures import SCREEN_GROUPS, FailuresScreen
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import Settings
from wellqueue_tui.widgets.failure_groups import FailureGroupTable
from wellqueue_tui.widgets.job_table import JobTable

QUEUES = ("triage-a", "triage-b", "triage-c")
COUNTIES = ("Howard", "Midland", "Reeves", "Loving", "Ward", "Pecos")


def cause(index: int) -> str:
    """A letters-only word per cause (`bc`, `bd`…): digits would be normalized away into one signature."""
    letters = string.ascii_lowercase
    return "stage" + letters[index // 26 % 26] + letters[index % 26]


class TriagePayload(BaseModel):
    wellId: str
    organizationId: str
    location: dict
    cause: int


def fail(payload: TriagePayload, ctx) -> None:
    raise PermanentJobError(f"{cause(payload.cause)} refused well {payload.wellId} (attempt {ctx.attempt})")


def kinds() -> list[JobKind]:
    return [
        JobKind(name=f"triage_{queue[-1]}", queue=queue, payload=TriagePayload, process=fail, max_attempts=1)
        for queue in QUEUES
    ]


def fill(broker, registry: Registry, jobs: int, groups: int, threads: int) -> float:
    """Enqueue `jobs` jobs (keeping every failed one) and let workers fail them all; returns seconds taken."""
    started = time.perf_counter()
    for offset in range(0, jobs, 2000):
        batch = []
        for n in range(offset, min(jobs, offset + 2000)):
            payload = {
                "wellId": f"WELL-TX-{n % 997:04}",
                "organizationId": f"ORG-{n % 13}",
                "location": {"county": COUNTIES[n % len(COUNTIES)], "state": "TX"},
                "cause": n % groups,
            }
            batch.append({"queue": QUEUES[n % len(QUEUES)], "payload": payload, "remove_on_fail": False})
        enqueue_bulk(batch, broker=broker)
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, queues=set(QUEUES), worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        while sum(registry.queue_counts(queue).failed for queue in QUEUES) < jobs:
            time.sleep(0.5)
    finally:
        worker.stop(timeout=10_000)
    return time.perf_counter() - started


async def wait_for_rows(pilot, app, screen_type: type, table_type: type, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        await pilot.pause(0.002)
        screen = app.screen
        if isinstance(screen, screen_type) and screen.is_mounted:
            tables = screen.query(table_type)
            if tables and tables.first().row_count > 0:
                return
    raise TimeoutError(f"{screen_type.__name__} never showed its rows")


async def measure_render(session: OperatorSession, repeat: int = 5, queue: str | None = None) -> list[float]:
    """From the key to the first rows: the Failures screen, or (`queue`) that queue's failed page for reference."""
    times = []
    app = WellQueueApp(session, refresh_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        for _ in range(repeat):
            started = time.perf_counter()
            if queue is None:
                app.action_open_failures()  # what `f` runs (pilot.press adds its own settling)
                await wait_for_rows(pilot, app, FailuresScreen, FailureGroupTable)
            else:
                app.push_screen(QueueScreen(queue, "failed"))
                await wait_for_rows(pilot, app, QueueScreen, JobTable)
            times.append((time.perf_counter() - started) * 1000)
            await pilot.press("escape")
            await pilot.pause(0.1)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    logging.getLogger("dramatiq").setLevel(logging.CRITICAL)  # every job fails on purpose: no tracebacks
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis", port=0)
        try:
            broker = build_broker(server.url, settings=Settings(data_dir=Path(tmp)), kinds=kinds())
            registry = Registry(broker.client, broker.keys)
            session = OperatorSession(registry, LOCAL_DEV)
            filled_s = fill(broker, registry, args.jobs, args.groups, args.threads)
            reads, screen_reads = [], []
            for _ in range(5):
                started = time.perf_counter()
                groups = session.failure_groups()  # every group (200 at most): the CLI's and the API's read
                reads.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                session.failure_groups(SCREEN_GROUPS)  # what the screen's loader reads
                screen_reads.append((time.perf_counter() - started) * 1000)
            renders = asyncio.run(measure_render(session))
            queue_opens = asyncio.run(measure_render(session, queue=QUEUES[0]))
            memory = broker.client.info("memory")["used_memory"]
        finally:
            server.stop()
    print(
        f"{args.jobs:,} failed jobs in {len(groups)} groups (largest {groups[0].count:,}; "
        f"failed through {args.threads} worker threads in {filled_s:.0f} s; Redis used {memory / 2**20:.0f} MiB)"
    )
    for label, times in ((f"all {len(groups)} groups", reads), (f"the screen's {SCREEN_GROUPS}", screen_reads)):
        print(f"read of {label}: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f})")
    for label, times in (
        ("Failures screen, f to first render (goal < 100 ms)", renders),
        ("for reference, a queue screen's failed page to first render", queue_opens),
    ):
        print(f"{label}: median {statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f})")


if __name__ == "__main__":
    main()
