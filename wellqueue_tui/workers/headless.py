"""`wellqueue --workers-only`: the supervisor (plus scheduler and metrics) without the console.

Exit codes: 0 after a clean drain; 1 when processes had to be killed (second signal, or the grace time ran
out); 2 when the workers cannot start (bad configuration, or every process exits with code 2); 3 when Redis is
unreachable or unsafe (evicting) at start, or every process exits with code 3.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
import signal
from contextlib import suppress
from typing import Any

import redis

from ..connection import UnsafeRedisConfig, check_server, describe_url, redis_client, resolve_redis_url
from ..logging_setup import LogFormat, configure_logging
from ..redis_server import RedisNotAvailable, RedisStartError
from ..settings import Settings
from .prometheus import MetricsServer, serve_metrics
from .supervisor import Supervisor

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_KILLED = 1
EXIT_CANNOT_START = 2
EXIT_REDIS = 3
STARTUP_POLL_S = 0.5


def run_workers_only(
    settings: Settings,
    *,
    log_format: LogFormat = "text",
    metrics_port: int | None = None,
    with_scheduler: bool = True,
) -> int:
    """Run this host's workers until SIGTERM/SIGINT (first: drain up to settings.grace_seconds; second: stop
    at once); returns the process exit code."""
    configure_logging(log_format)
    try:
        url = resolve_redis_url(settings)
    except (RedisNotAvailable, RedisStartError, OSError) as exc:
        logger.error("No Redis to work with: %s", exc)
        return EXIT_REDIS
    client = redis_client(url)
    try:
        for warning in check_server(client):
            logger.warning("%s", warning)
    except UnsafeRedisConfig as exc:
        logger.error("%s", exc)
        return EXIT_REDIS
    except (redis.RedisError, OSError) as exc:
        logger.error("Redis at %s is unreachable: %s. Check REDIS_URL and that the server is up.", describe_url(url), exc)
        return EXIT_REDIS
    try:
        return asyncio.run(_serve(settings, url, client, metrics_port, with_scheduler))
    finally:
        client.close()


async def _serve(settings: Settings, url: str, client: redis.Redis, metrics_port: int | None, with_scheduler: bool) -> int:
    loop = asyncio.get_running_loop()
    supervisor = Supervisor(settings, url)
    stop_requested = asyncio.Event()

    def on_signal(name: str) -> None:
        if not stop_requested.is_set():
            logger.info("%s received: draining (up to %.0f s); send it again to stop at once", name, settings.grace_seconds)
            stop_requested.set()
        else:
            logger.warning("%s received again: killing the worker processes now", name)
            supervisor.kill()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum.name)

    metrics: MetricsServer | None = None
    scheduler: Any = None
    failure: int | None = None
    try:
        if metrics_port is not None:
            try:
                metrics = serve_metrics(metrics_port, client)
            except OSError as exc:
                logger.error("Cannot serve metrics on 127.0.0.1:%d: %s; choose another --metrics-port", metrics_port, exc)
                return EXIT_CANNOT_START
        await supervisor.start()
        if with_scheduler:
            scheduler = await _start_scheduler(settings, url)
        logger.info("Workers running against %s; SIGTERM or Ctrl-C drains them", describe_url(url))
        while not stop_requested.is_set():
            failure = supervisor.startup_failure()
            if failure is not None:
                logger.error("No worker process could start (exit code %d); see the errors above", failure)
                break
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop_requested.wait(), STARTUP_POLL_S)
    finally:
        if scheduler is not None:
            await _stop_scheduler(scheduler)
        clean = await supervisor.stop(settings.grace_seconds)
        if metrics is not None:
            metrics.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    if failure is not None:
        return failure
    return EXIT_OK if clean else EXIT_KILLED


async def _start_scheduler(settings: Settings, url: str) -> Any:
    """The cron scheduler (leader-elected; the leader also runs the dead-worker reaper), when installed."""
    if importlib.util.find_spec("wellqueue_tui.workers.scheduler") is None:
        logger.info("Cron scheduler not installed; running workers only")
        return None
    from ..jobs import enqueue
    from ..jobs.broker import build_broker
    from .scheduler import CronScheduler

    client = redis_client(url)
    broker = build_broker(url, settings=settings, client=client)  # fires enqueue with *these* settings

    def reap() -> None:
        try:
            from ..jobs.reaper import reap_dead_workers
        except ImportError:
            return
        report = reap_dead_workers(client, settings.namespace, settings.heartbeat_timeout_ms)
        if report.dead_workers:
            logger.warning("Reaper: %d dead worker(s); %d job(s) requeued, %d failed after too many redeliveries",
                           report.dead_workers, report.requeued, report.failed)

    scheduler = CronScheduler(client, functools.partial(enqueue, broker=broker), settings=settings, on_leader_tick=reap)
    await asyncio.to_thread(scheduler.start)
    return scheduler


async def _stop_scheduler(scheduler: Any) -> None:
    try:
        await asyncio.to_thread(scheduler.stop)
    except Exception:  # the drain must go on whatever the scheduler does
        logger.exception("Stopping the cron scheduler failed")
