"""The console against a big queue, and the footprint of console + supervisor.

1. Time to render a queue page (open the queue screen until its table shows the first page) and to
   refresh it, with N jobs waiting in one queue (default 1,000,000; enqueued with enqueue_bulk).
2. RSS of this process (console + supervisor, the `wellqueue` command) and of its worker processes,
   idle and while they work through a burst of jobs.

    .venv/bin/python benchmarks/console.py [--jobs 1000000] [--burst 3000]

Private redis-server in a temp dir (AOF `appendfsync always`, as the embedded Redis runs it), stopped at the end."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.auth.identity import LOCAL_DEV
from wellqueue_tui.jobs import enqueue_bulk
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.redis_server import start_redis
from wellqueue_tui.screens.queue import QueueScreen
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import Settings
from wellqueue_tui.wellflow.demo import demo_jobs
from wellqueue_tui.widgets.job_table import JobTable
from wellqueue_tui.workers.host import WorkerHost
from wellqueue_tui.workers.worker_records import read_rss_bytes

QUEUE = "email-notifications"
PAYLOAD = {"type": "reminder", "priority": "low", "recipients": ["ops@example.com"], "subject": "Gauge check"}
BIG_QUEUE = "webhooks"  # holds the big backlog, paused so the footprint run's workers leave it alone
BIG_PAYLOAD = {"url": "https://hooks.example.com/wellqueue", "event": "reading.validated", "data": {"wellId": "W-1"}}


def fill(broker, jobs: int) -> float:
    started = time.perf_counter()
    for offset in range(0, jobs, 2000):
        count = min(2000, jobs - offset)
        enqueue_bulk([{"queue": BIG_QUEUE, "payload": BIG_PAYLOAD} for _ in range(count)], broker=broker)
    return jobs / (time.perf_counter() - started)


async def wait_for_rows(pilot, app, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        await pilot.pause(0.005)
        screen = app.screen
        if isinstance(screen, QueueScreen) and screen.is_mounted:
            tables = screen.query(JobTable)
            if tables and tables.first().row_count > 0:
                return
    raise TimeoutError("the queue page never showed")


async def measure_page(session: OperatorSession, repeat: int = 5) -> tuple[float, float]:
    opens, refreshes = [], []
    app = WellQueueApp(session, refresh_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        for _ in range(repeat):
            started = time.perf_counter()
            app.open_queue(BIG_QUEUE)
            await wait_for_rows(pilot, app)
            opens.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()  # what each refresh tick does off the UI thread
            session.queue_counts(BIG_QUEUE)
            session.list_jobs(BIG_QUEUE, "waiting", 0, 20)
            refreshes.append((time.perf_counter() - started) * 1000)
            await pilot.press("escape")
            await pilot.pause(0.5)
    return statistics.median(opens), statistics.median(refreshes)


def rss_mib(pids: list[int]) -> float:
    return sum((read_rss_bytes(pid) or 0) for pid in pids) / 2**20


async def measure_footprint(settings: Settings, url: str, session: OperatorSession, broker, burst: int) -> dict:
    host = WorkerHost(settings, url)
    await host.start()
    app = WellQueueApp(session, supervisor=host)
    figures = {}
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(8)  # workers up, console refreshing once a second
            workers = [p.pid for p in host.supervisor.processes() if p.pid]
            figures["idle_console_mib"] = rss_mib([os.getpid()])
            figures["idle_workers_mib"] = rss_mib(workers)
            figures["worker_processes"] = len(workers)
            jobs = [
                {"queue": j.queue, "payload": j.payload}
                for j in demo_jobs(random.Random(1), 60)
                if j.queue in ("email-notifications", "report-generation")
            ]
            enqueue_bulk([{"queue": QUEUE, "payload": PAYLOAD} for _ in range(burst)] + jobs, broker=broker)
            peak_console = peak_workers = 0.0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                await pilot.pause(1)
                peak_console = max(peak_console, rss_mib([os.getpid()]))
                peak_workers = max(peak_workers, rss_mib([p.pid for p in host.supervisor.processes() if p.pid]))
                counts = session.queue_counts(QUEUE)
                if counts.waiting + counts.prioritized + counts.active == 0:
                    break
            figures["load_console_mib"] = peak_console
            figures["load_workers_mib"] = peak_workers
    finally:
        await host.stop(10)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--burst", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp) / "redis", port=0)
        try:
            settings = Settings(data_dir=Path(tmp))
            broker = build_broker(server.url, settings=settings)
            registry = Registry(broker.client, broker.keys)
            session = OperatorSession(registry, LOCAL_DEV)
            session.pause_queue(BIG_QUEUE)
            rate = fill(broker, args.jobs)
            opened, refreshed = asyncio.run(measure_page(session))
            footprint = asyncio.run(measure_footprint(settings, server.url, session, broker, args.burst))
        finally:
            server.stop()
    print(
        f"queue page with {args.jobs:,} waiting jobs: open {opened:.0f} ms, refresh fetch {refreshed:.1f} ms "
        f"(median of 5; filled at {rate:,.0f} jobs/s with enqueue_bulk)"
    )
    print(
        f"console + supervisor RSS: idle {footprint['idle_console_mib']:.0f} MiB, "
        f"under load {footprint['load_console_mib']:.0f} MiB (peak)"
    )
    print(
        f"{footprint['worker_processes']} worker processes RSS: idle {footprint['idle_workers_mib']:.0f} MiB, "
        f"under load {footprint['load_workers_mib']:.0f} MiB (peak, {args.burst} jobs burst)"
    )


if __name__ == "__main__":
    main()
