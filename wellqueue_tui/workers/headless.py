"""`wellqueue --workers-only`: the supervisor, cron scheduler and metrics endpoint without the console."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

import redis

from ..connection import UnsafeRedisConfig, check_server, describe_url, redis_client, resolve_redis_url
from ..health.redis_alarm import CHECK_INTERVAL_S, local_redis_alarm
from ..jobs.keys import KeySchema
from ..logging_setup import LogFormat, configure_logging
from ..redis_server import RedisNotAvailable, RedisStartError
from ..settings import Settings
from .host import WorkerHost
from .prometheus import MetricsServer, serve_metrics

logger = logging.getLogger(__name__)

EXIT_OK = 0  # drained cleanly
EXIT_KILLED = 1  # processes had to be killed (second signal, or the grace time ran out)
EXIT_CANNOT_START = 2  # bad configuration: every process exited with code 2, or the metrics port is taken
EXIT_REDIS = 3  # Redis unreachable or evicting at start, or every process exited with code 3
STARTUP_POLL_S = 0.5
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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
    early_stops: list[str] = []  # a stop asked for while Redis is checked: start nothing, exit 0
    previous = {
        signum: signal.signal(signum, lambda signum, _frame: early_stops.append(signal.Signals(signum).name))
        for signum in STOP_SIGNALS
    }
    try:
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
            logger.error(
                "Redis at %s is unreachable: %s. Check REDIS_URL and that the server is up.", describe_url(url), exc
            )
            return EXIT_REDIS
        try:
            return asyncio.run(_serve(settings, url, client, metrics_port, with_scheduler, early_stops))
        finally:
            client.close()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


async def _serve(
    settings: Settings,
    url: str,
    client: redis.Redis,
    metrics_port: int | None,
    with_scheduler: bool,
    early_stops: list[str],
) -> int:
    loop = asyncio.get_running_loop()
    host = WorkerHost(settings, url, with_scheduler=with_scheduler)
    stop_requested = asyncio.Event()

    def on_signal(name: str) -> None:
        if not stop_requested.is_set():
            logger.info(
                "%s received: draining (up to %.0f s); send it again to stop at once", name, settings.grace_seconds
            )
            stop_requested.set()
        else:
            logger.warning("%s received again: killing the worker processes now", name)
            host.kill()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum.name)
    for name in early_stops:
        on_signal(name)

    metrics: MetricsServer | None = None
    failure: int | None = None
    try:
        if metrics_port is not None:
            try:
                metrics = serve_metrics(metrics_port, client, KeySchema.from_settings(settings))
            except OSError as exc:
                logger.error(
                    "Cannot serve metrics on 127.0.0.1:%d: %s; choose another --metrics-port", metrics_port, exc
                )
                return EXIT_CANNOT_START
        if not stop_requested.is_set():
            await host.start()
            logger.info("Workers running against %s; SIGTERM or Ctrl-C drains them", describe_url(url))
        alarm = local_redis_alarm(settings, url, client)
        next_alarm_check = loop.time()
        while not stop_requested.is_set():
            failure = host.supervisor.startup_failure()
            if failure is not None:
                logger.error("No worker process could start (exit code %d); see the errors above", failure)
                break
            if loop.time() >= next_alarm_check:
                next_alarm_check = loop.time() + CHECK_INTERVAL_S
                await asyncio.to_thread(alarm.check)
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop_requested.wait(), STARTUP_POLL_S)
    finally:
        clean = await host.stop()
        if metrics is not None:
            metrics.close()
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
    if failure is not None:
        return failure
    return EXIT_OK if clean else EXIT_KILLED
