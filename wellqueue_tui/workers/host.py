"""This host's share of the system: its worker processes (the supervisor) and the leader-elected cron
scheduler, whose leader also runs the dead-worker reaper and the health round (circuit breakers, alerts).
Hosted by the console and by `--workers-only`."""

from __future__ import annotations

import asyncio
import functools
import logging

from ..connection import redis_client
from ..jobs import enqueue
from ..jobs.broker import build_broker
from ..jobs.keys import KeySchema
from ..jobs.reaper import reap_dead_workers
from ..settings import Settings
from .health_round import LeaderHealthRound
from .leader import LeaderLease
from .scheduler import CronScheduler
from .schedules import ScheduleStore
from .supervisor import Supervisor

logger = logging.getLogger(__name__)


class WorkerHost:
    def __init__(self, settings: Settings, url: str, *, with_scheduler: bool = True) -> None:
        self.settings = settings
        self.url = url
        self.supervisor = Supervisor(settings, url)
        self.scheduler: CronScheduler | None = None
        self._with_scheduler = with_scheduler

    async def start(self) -> None:
        await self.supervisor.start()
        if self._with_scheduler:
            self.scheduler = await asyncio.to_thread(self._start_scheduler)

    def _start_scheduler(self) -> CronScheduler:
        client = redis_client(self.url)
        broker = build_broker(self.url, settings=self.settings, client=client)  # fires use *these* settings
        keys = KeySchema.from_settings(self.settings)
        enqueue_fn = functools.partial(enqueue, broker=broker)
        health_round = LeaderHealthRound(
            client, keys, enqueue_fn, heartbeat_timeout_ms=self.settings.heartbeat_timeout_ms
        )

        def leader_tick() -> None:
            report = reap_dead_workers(client, keys, self.settings.heartbeat_timeout_ms)
            if report.dead_workers:
                logger.warning(
                    "Reaper: %d dead worker(s); %d job(s) requeued, %d failed after too many redeliveries",
                    report.dead_workers,
                    report.requeued,
                    report.failed,
                )
            health_round()

        scheduler = CronScheduler(
            client,
            enqueue_fn,
            settings=self.settings,
            store=ScheduleStore(client, keys),
            lease=LeaderLease(client, keys.leader),
            on_leader_tick=leader_tick,
        )
        scheduler.start()
        return scheduler

    async def stop(self, grace_s: float | None = None) -> bool:
        """Stop the scheduler, then drain the workers; True when every process stopped within the grace time."""
        if self.scheduler is not None:
            try:
                await asyncio.to_thread(self.scheduler.stop)
            except Exception:  # the drain must go on whatever the scheduler does
                logger.exception("Stopping the cron scheduler failed")
        return await self.supervisor.stop(self.settings.grace_seconds if grace_s is None else grace_s)

    def kill(self) -> None:
        self.supervisor.kill()

    def in_flight(self) -> int:
        return self.supervisor.in_flight()
