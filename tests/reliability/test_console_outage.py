"""R9: the console with its Redis stopped for 10 s shows the banner, keeps running, and recovers by itself.
How soon it notices and recovers depends on the machine: printed, not asserted."""

from __future__ import annotations

import asyncio
import time

import pytest

from wellqueue_tui.app import WellQueueApp
from wellqueue_tui.auth.identity import LOCAL_DEV
from wellqueue_tui.connection import redis_client
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.broker import build_broker
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.redis_server import start_redis
from wellqueue_tui.session import OperatorSession
from wellqueue_tui.settings import Settings

from .conftest import report

pytestmark = pytest.mark.reliability

OUTAGE_S = 10
#: How long the console may take to notice the outage or the recovery before the test gives up.
PATIENCE_S = 60
READING = {"type": "reminder", "recipients": ["ops@example.com"], "subject": "Gauge check"}


async def until(pilot, condition, timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        await pilot.pause(0.1)
    return time.monotonic() - started


def test_console_survives_a_ten_second_redis_outage(tmp_path):
    server = start_redis(tmp_path / "redis", port=0, appendonly=True)
    try:
        broker = build_broker(server.url, settings=Settings(data_dir=tmp_path))
        enqueue("email-notifications", READING, broker=broker)
        session = OperatorSession(Registry(redis_client(server.url)), LOCAL_DEV)
        app = WellQueueApp(session, refresh_interval=0.5)

        async def scenario() -> dict:
            async with app.run_test(size=(100, 30)) as pilot:
                await until(pilot, lambda: "email-notifications" in app.counts, PATIENCE_S)
                server.kill()
                banner_s = await until(pilot, lambda: app.connection_problem is not None, PATIENCE_S)
                await pilot.pause(max(0.0, OUTAGE_S - banner_s))
                assert app.is_running and app.connection_problem is not None
                await pilot.press("enter")  # keys keep working during the outage
                await pilot.press("escape")
                server.restart()
                recovered_s = await until(pilot, lambda: app.connection_problem is None, PATIENCE_S)
                waiting = app.counts["email-notifications"].waiting
                return {"banner_s": round(banner_s, 1), "recovered_s": round(recovered_s, 1), "waiting": waiting}

        figures = asyncio.run(scenario())
    finally:
        if server.is_alive():
            server.stop()
    report("R9 console outage", outage_s=OUTAGE_S, **figures, crashed=False)
    assert figures["waiting"] == 1  # the data came back (AOF kept the job)
