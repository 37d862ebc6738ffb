"""The cron loop: while this process holds the leader lease, APScheduler 3 fires the stored schedules into the queues.

Every fire enqueues with an idempotent job id (`schedules.fire_job_id`), so a brief split brain or a
catch-up after failover cannot enqueue an occurrence twice. Schedules come from the schedule store and
are reloaded on a change notice (the schema's `schedules_changed` channel) or every few seconds.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import redis
from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from ..settings import Settings
from .leader import LeaderLease
from .schedules import (
    Schedule,
    ScheduleStatus,
    ScheduleStore,
    fire_job_id,
    render_payload,
)

log = logging.getLogger(__name__)

#: `enqueue_fn(queue, payload, job_id=...) -> job id`; idempotent on job_id (the lead's `jobs.enqueue`).
EnqueueFn = Callable[..., str]

MISFIRE_GRACE_S = 300
POLL_INTERVAL_S = 5.0


def resume_point(trigger: BaseTrigger, last_fire: datetime | None, now: datetime) -> datetime | None:
    """Where a new leader resumes a schedule: the first fire after the recorded last one.

    Looking back at most the misfire grace, a fire missed during a short leader outage is still
    due, and APScheduler runs it once (coalesced); older misses are dropped.
    """
    if last_fire is None:
        return trigger.get_next_fire_time(None, now)
    since = max(last_fire, now - timedelta(seconds=MISFIRE_GRACE_S))
    return trigger.get_next_fire_time(since, now)


def run_schedule_now(store: ScheduleStore, enqueue_fn: EnqueueFn, name: str, now: datetime) -> str:
    """Enqueue a schedule's job at once (paused or not) with the id `manual:{name}:{utc ms}`."""
    schedule = store.require(name)
    job_id = f"manual:{name}:{int(now.timestamp() * 1000)}"
    try:
        payload = render_payload(schedule.payload, schedule.timezone, now)
        enqueued = enqueue_fn(schedule.queue, payload, job_id=job_id)
    except Exception as exc:
        store.record_fire(name, now, job_id, error=f"{type(exc).__name__}: {exc}")
        raise
    store.record_fire(name, now, enqueued)
    return enqueued


class _ScheduledCall:
    """An APScheduler job seen by `run_job` with one scheduled fire time added to its keyword arguments."""

    def __init__(self, job: Any, run_time: datetime) -> None:
        self.id = job.id
        self.func = job.func
        self.args = job.args
        self.kwargs = {**job.kwargs, "scheduled_fire_time": run_time}
        self.misfire_grace_time = job.misfire_grace_time
        self._job = job

    def __str__(self) -> str:
        return str(self._job)


def _run_with_fire_times(job: Any, jobstore_alias: str, run_times: list[datetime], logger_name: str) -> list:
    events = []
    for run_time in run_times:
        events.extend(run_job(_ScheduledCall(job, run_time), jobstore_alias, [run_time], logger_name))
    return events


class FireTimeExecutor(BaseExecutor):
    """A thread-pool executor that passes each job its *scheduled* fire time.

    APScheduler 3 calls job functions without it, and the fire's job id must come from the scheduled
    time, not from when a thread got round to running it. Misfire handling is APScheduler's own `run_job`.
    """

    def __init__(self, max_workers: int = 4) -> None:
        super().__init__()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="wq-cron-fire")

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        # `_jobstore_alias` is what APScheduler's own pool executors pass to run_job.
        future = self._pool.submit(_run_with_fire_times, job, job._jobstore_alias, run_times, self._logger.name)
        future.add_done_callback(partial(self._finished, job.id))

    def _finished(self, job_id: str, future: concurrent.futures.Future) -> None:
        exc = future.exception()
        if exc is not None:
            self._run_job_error(job_id, exc, exc.__traceback__)
        else:
            self._run_job_success(job_id, future.result())

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


class CronScheduler:
    """Competes for the leader lease; the leader runs APScheduler over the enabled schedules.

    A control thread watches the lease, reloads schedules on change notices or every few seconds,
    and calls `on_leader_tick` (the dead-worker reaper) every `settings.reaper_interval_s` while leading.
    """

    def __init__(
        self,
        client: redis.Redis,
        enqueue_fn: EnqueueFn,
        *,
        settings: Settings,
        store: ScheduleStore,
        lease: LeaderLease,
        clock: Callable[[], datetime] | None = None,
        on_leader_tick: Callable[[], None] | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
        tick_s: float = 0.25,
    ) -> None:
        self.store = store
        self.lease = lease
        self._client = client
        self._enqueue = enqueue_fn
        self._settings = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_leader_tick = on_leader_tick
        self._poll_interval_s = poll_interval_s
        self._tick_s = tick_s
        self._lock = threading.Lock()
        self._aps: BackgroundScheduler | None = None
        self._loaded: dict[str, Schedule] = {}
        self._pubsub: redis.client.PubSub | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.lease.add_listener(on_elected=self._wake.set, on_lost=self._on_lease_lost)

    @property
    def is_running_schedules(self) -> bool:
        """True while this process is the leader and its APScheduler loop is up."""
        return self._aps is not None

    def start(self) -> None:
        """Start competing for leadership; returns at once (everything runs in daemon threads)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self.lease.start()
        self._thread = threading.Thread(target=self._run, name="wq-cron-control", daemon=True)
        self._thread.start()

    def stop(self, *, release: bool = True) -> None:
        """Stop firing and step down (`release=False` leaves the lease to expire, as a crash would)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self.lease.stop(release=release)
        self._shutdown_scheduler("stopping")
        if self._pubsub is not None:
            self._pubsub.close()
            self._pubsub = None

    def fire(self, schedule: Schedule, scheduled_fire_time: datetime) -> str | None:
        """Enqueue one occurrence and record it; returns the job id, or None if skipped or failed (error recorded)."""
        job_id = fire_job_id(schedule, scheduled_fire_time)
        state = self.store.state(schedule.name)
        if state.last_job_id == job_id and state.last_error is None:
            # Same local wall-clock time as the last fire (the repeated hour on fall-back day).
            log.info("schedule %s: %s was already enqueued; skipping the repeat", schedule.name, job_id)
            return None
        try:
            payload = render_payload(schedule.payload, schedule.timezone, scheduled_fire_time)
            enqueued = self._enqueue(schedule.queue, payload, job_id=job_id)
        except Exception as exc:
            log.exception("schedule %s: enqueue of %s failed", schedule.name, job_id)
            self.store.record_fire(schedule.name, scheduled_fire_time, job_id, error=f"{type(exc).__name__}: {exc}")
            return None
        self.store.record_fire(schedule.name, scheduled_fire_time, enqueued)
        return enqueued

    def run_now(self, name: str) -> str:
        """Enqueue a schedule's job immediately (id `manual:{name}:{utc ms}`)."""
        return run_schedule_now(self.store, self._enqueue, name, self._clock())

    def leader_holder(self) -> str | None:
        """Who runs the schedules right now ("host:pid:uuid"), for the console header."""
        return self.lease.holder()

    def upcoming(self) -> list[ScheduleStatus]:
        """Every schedule with its next run (schedule time zone and UTC) and last fire, for the schedules screen."""
        return self.store.overview(self._clock())

    # --- the control thread ---

    def _run(self) -> None:
        next_reload = next_tick = 0.0
        while not self._stopping.is_set():
            try:
                changed = self._drain_change_notices()
                now = time.monotonic()
                if self.lease.is_leader:
                    if self._aps is None:
                        self._take_over()
                        next_reload, next_tick = now + self._poll_interval_s, now
                    elif changed or now >= next_reload:
                        self._reload()
                        next_reload = now + self._poll_interval_s
                    if self._on_leader_tick is not None and now >= next_tick and self._aps is not None:
                        next_tick = now + self._settings.reaper_interval_s
                        self._leader_tick(self._on_leader_tick)
                elif self._aps is not None:
                    self._shutdown_scheduler("the leader lease is no longer held")
            except redis.RedisError as exc:
                log.warning("cron scheduler: Redis error, retrying: %s", exc)
            except Exception:
                log.exception("cron scheduler: unexpected error, retrying")
            self._wake.wait(self._tick_s)
            self._wake.clear()

    def _drain_change_notices(self) -> bool:
        if self._pubsub is None:
            pubsub = self._client.pubsub()
            pubsub.subscribe(self.store.keys.schedules_changed)
            self._pubsub = pubsub
        changed = False
        try:
            for _ in range(1000):
                message = self._pubsub.get_message(timeout=0.0)
                if message is None:
                    break
                changed = changed or message["type"] == "message"
        except redis.RedisError:
            self._pubsub.close()
            self._pubsub = None
            raise
        return changed

    def _take_over(self) -> None:
        installed = self.store.install_defaults()
        if installed:
            log.info("installed default schedules: %s", ", ".join(installed))
        schedules = {schedule.name: schedule for schedule in self.store.list() if schedule.enabled}
        states = self.store.states()
        now = self._clock()
        aps = BackgroundScheduler(
            timezone=ZoneInfo(self._settings.timezone),
            jobstores={"default": MemoryJobStore()},
            executors={"default": FireTimeExecutor()},
            job_defaults={"misfire_grace_time": MISFIRE_GRACE_S, "coalesce": True, "max_instances": 1},
        )
        for schedule in schedules.values():
            state = states.get(schedule.name)
            self._add_job(
                aps, schedule, resume_point(schedule.trigger(), state.last_fire_utc if state is not None else None, now)
            )
        with self._lock:
            if self._stopping.is_set() or not self.lease.is_leader:
                return
            aps.start()
            self._aps, self._loaded = aps, schedules
        log.info("cron scheduler running %d schedule(s) as leader", len(schedules))

    def _reload(self) -> None:
        desired = {schedule.name: schedule for schedule in self.store.list() if schedule.enabled}
        with self._lock:
            aps = self._aps
            if aps is None:
                return
            for name in set(self._loaded) - set(desired):
                with contextlib.suppress(JobLookupError):
                    aps.remove_job(name)
            for name, schedule in desired.items():
                if self._loaded.get(name) != schedule:
                    self._add_job(aps, schedule)  # edited or resumed: next fire counted from now
            self._loaded = desired

    def _add_job(self, aps: BackgroundScheduler, schedule: Schedule, next_run_time: datetime | None = None) -> None:
        # Passing next_run_time=None would add the job paused, so leave it out to mean "from now".
        when = {"next_run_time": next_run_time} if next_run_time is not None else {}
        aps.add_job(
            self._fire_job,
            trigger=schedule.trigger(),
            args=(schedule,),
            id=schedule.name,
            name=schedule.name,
            replace_existing=True,
            **when,
        )

    def _fire_job(self, schedule: Schedule, *, scheduled_fire_time: datetime | None = None) -> str | None:
        # FireTimeExecutor always supplies scheduled_fire_time; the default only satisfies APScheduler's
        # check, at add_job, that every keyword-only argument has a value.
        if scheduled_fire_time is None or not self.lease.is_leader:
            log.warning(
                "schedule %s: not the leader any more; fire at %s left to the new leader",
                schedule.name,
                scheduled_fire_time,
            )
            return None
        return self.fire(schedule, scheduled_fire_time)

    def _leader_tick(self, tick: Callable[[], None]) -> None:
        try:
            tick()
        except Exception:
            log.exception("leader tick (reaper) failed")

    def _on_lease_lost(self) -> None:
        self._shutdown_scheduler("lost the leader lease")
        self._wake.set()

    def _shutdown_scheduler(self, reason: str) -> None:
        with self._lock:
            aps, self._aps, self._loaded = self._aps, None, {}
        if aps is not None:
            aps.shutdown(wait=False)
            log.info("cron scheduler stopped: %s", reason)
