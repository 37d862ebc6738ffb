"""`wellqueue`: the operator console hosting this host's workers and scheduler in one event loop.

Logs go to `DATA_DIR/logs/console.log` (anything on stderr would tear the screen). Quitting drains the
workers for up to the grace time; jobs still running then go back to waiting and run again elsewhere."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from pathlib import Path

from .app import WellQueueApp
from .auth.identity import Identity
from .connection import check_server, redis_client
from .health.redis_alarm import LocalRedisAlarm, keep_checking, local_redis_alarm
from .jobs import enqueue
from .jobs.broker import build_broker
from .jobs.keys import KeySchema
from .jobs.registry import Registry
from .session import OperatorSession
from .settings import Settings
from .workers.host import WorkerHost

logger = logging.getLogger(__name__)


def log_to_file(data_dir: Path) -> Path:
    from .logging_setup import configure_logging

    path = data_dir / "logs" / "console.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    configure_logging("text", stream=path.open("a", buffering=1, encoding="utf-8"))
    return path


def build_session(settings: Settings, identity: Identity, url: str) -> OperatorSession:
    client = redis_client(url)
    for warning in check_server(client):
        print(f"warning: {warning}", file=sys.stderr)
    broker = build_broker(url, settings=settings, client=client)
    return OperatorSession(
        Registry(client, KeySchema.from_settings(settings)),
        identity,
        enqueue_fn=functools.partial(enqueue, broker=broker),
        kinds=broker.kinds,
    )


async def run_hosted(app: WellQueueApp, host: WorkerHost | None, alarm: LocalRedisAlarm | None = None) -> None:
    """Run the app beside this host's workers and, when given, the local Redis-unreachable alarm."""
    if host is not None:
        await host.start()
    watching = asyncio.create_task(keep_checking(alarm)) if alarm is not None else None
    try:
        await app.run_async()
    finally:
        if watching is not None:
            watching.cancel()
        if host is not None:
            await host.stop()


def run_console(settings: Settings, identity: Identity, url: str, *, with_workers: bool = True) -> int:
    session = build_session(settings, identity, url)
    log_path = log_to_file(settings.data_dir)
    host = WorkerHost(settings, url) if with_workers else None
    app = WellQueueApp(session, supervisor=host, bell=settings.console_bell)
    alarm = local_redis_alarm(settings, url, redis_client(url))
    asyncio.run(run_hosted(app, host, alarm))
    print(f"WellQueue console closed; log: {log_path}")
    return 0
