"""Runs and watches one host's worker processes: spawn, restart with backoff, flag crash loops, scale, drain
on stop, and publish their records to Redis. Hosted by the TUI and the headless runner on their asyncio loop.

The parts live beside it: restart_policy (backoff and crash loops), process_launch (command, environment,
spawn), process_output (relaying logs), process_slot (one slot's state), record_sync (Redis records and
active counts) and control_requests (scale/restart from other consoles)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from typing import cast

import redis

from ..jobs.keys import KeySchema
from ..settings import Settings
from . import worker_records
from .control_requests import SupervisorError, apply_request
from .entry import EXIT_USAGE
from .process_launch import CommandFactory, ProcessSpec, entry_command, process_env, settings_env, spawn
from .process_slot import ProcessInfo, ProcessSlot, WorkerGroupSpec
from .record_sync import RecordSync, SyncResult
from .restart_policy import RestartPolicy
from .worker_records import WorkerRecord, WorkerState

__all__ = [
    "CommandFactory",
    "ProcessInfo",
    "ProcessSpec",
    "RestartPolicy",
    "Supervisor",
    "SupervisorError",
    "WorkerGroupSpec",
    "default_groups",
    "entry_command",
    "settings_env",
]

logger = logging.getLogger(__name__)

MAX_PROCESSES_PER_GROUP = 64
HEARTBEAT_INTERVAL_S = 2.0
OUTPUT_DRAIN_S = 2.0  # how long the relay may read a process's last lines after it exited


def default_groups(settings: Settings) -> dict[str, WorkerGroupSpec]:
    """One group per queue: `worker_processes` processes with `worker_threads()[queue]` threads each."""
    return {
        queue: WorkerGroupSpec(queues=(queue,), processes=settings.worker_processes, threads=threads)
        for queue, threads in settings.worker_threads().items()
    }


class Supervisor:
    """Keeps this host's worker processes running. `scale`, `restart` and `kill` must be called from the
    thread of the event loop that ran `start()`."""

    def __init__(
        self,
        settings: Settings,
        redis_url: str,
        *,
        groups: dict[str, WorkerGroupSpec] | None = None,
        host: str | None = None,
        client: redis.Redis | None = None,
        command_factory: CommandFactory = entry_command,
        policy: RestartPolicy = RestartPolicy(),
        heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
    ) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.groups = dict(groups if groups is not None else default_groups(settings))
        self.host = host or socket.gethostname()
        self.id = f"{self.host}:{os.getpid()}"
        self._machine = socket.gethostname()  # how worker processes name themselves in job records
        self.command_factory = command_factory
        self.policy = policy
        self.heartbeat_interval_s = heartbeat_interval_s
        self.keys = KeySchema.from_settings(settings)
        self._client = client
        self._own_client = client is None
        self._records: RecordSync | None = None
        self._slots: dict[str, ProcessSlot] = {}
        self._retired: list[str] = []
        self._active_by_process: dict[str, int] = {}
        self._stopping = False
        self._killed = False
        self._stop_task: asyncio.Task | None = None
        self._refresh_task: asyncio.Task | None = None
        self._refresh_done = asyncio.Event()
        self._redis_ok = True
        self._background: set[asyncio.Task] = set()

    # -- public API -------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Spawn every group's processes and begin publishing records; returns once all are spawned."""
        if self._client is None:
            from ..connection import redis_client

            self._client = redis_client(self.redis_url)
        self._records = RecordSync(self._client, self.keys, self.id, self._machine)
        for group, spec in self.groups.items():
            if not 1 <= spec.processes <= MAX_PROCESSES_PER_GROUP or spec.threads < 1 or not spec.queues:
                raise SupervisorError(
                    f"group {group!r}: needs at least one queue, 1 to {MAX_PROCESSES_PER_GROUP} processes and "
                    f"at least 1 thread (got {spec})"
                )
        for group, spec in self.groups.items():
            for index in range(spec.processes):
                self._add_slot(group, index)
        await asyncio.gather(*(slot.spawned.wait() for slot in self._slots.values()))
        self._refresh_task = asyncio.create_task(self._refresh_loop(), name="wellqueue-supervisor-refresh")
        logger.info(
            "Supervisor %s started %d worker process(es)",
            self.id,
            len(self._slots),
            extra={"groups": {g: list(s.queues) for g, s in self.groups.items()}},
        )

    async def stop(self, grace_s: float | None = None) -> bool:
        """TERM every process, wait up to `grace_s` (settings.grace_seconds), then KILL the rest.

        A second call while the first is draining kills at once. True when every process exited cleanly
        within the grace time. Jobs of killed processes are redelivered by the reaper, never lost."""
        if self._stop_task is not None:
            self.kill()
            return await asyncio.shield(self._stop_task)
        grace = self.settings.grace_seconds if grace_s is None else grace_s
        self._stop_task = asyncio.create_task(self._drain(grace), name="wellqueue-supervisor-drain")
        return await asyncio.shield(self._stop_task)

    def kill(self) -> None:
        """SIGKILL every live process now and restart none (the second Ctrl-C); `await stop()` to finish."""
        self._killed = True
        self._stopping = True
        for slot in self._slots.values():
            if slot.pid is not None:
                logger.warning("Killing worker process %s (pid %d)", slot.id, slot.pid)
            slot.signal(signal.SIGKILL)
            slot.wake.set()

    def processes(self) -> list[ProcessInfo]:
        """Every process slot of this supervisor, by group and slot number."""
        return [self._info(slot) for slot in sorted(self._slots.values(), key=lambda s: (s.group, s.index))]

    def in_flight(self) -> int:
        """Jobs this supervisor's processes are running, as of the last refresh (≤ ~2 s old).

        Counted from the registry: members of `wq:q:{queue}:active` whose job `worker` field names one of
        our live processes (`{host}:{pid}:…`). The registry marks a job active only after ~150 ms, so
        shorter jobs are not counted."""
        return sum(self._active_by_process.values())

    def scale(self, group: str, delta: int) -> int:
        """Add (`delta` > 0) or gracefully retire (`delta` < 0) processes of `group`; returns the new count.
        A group keeps at least one process so it stays visible and scalable from every console."""
        if group not in self.groups:
            raise SupervisorError(f"no worker group {group!r}; groups here: {', '.join(sorted(self.groups))}")
        if self._stopping:
            raise SupervisorError("the supervisor is stopping; scaling is no longer possible")
        slots = sorted((s for s in self._slots.values() if s.group == group and not s.retiring), key=lambda s: s.index)
        target = len(slots) + delta
        if not 1 <= target <= MAX_PROCESSES_PER_GROUP:
            raise SupervisorError(
                f"group {group!r} would have {target} processes; keep it between 1 and {MAX_PROCESSES_PER_GROUP}"
            )
        if delta > 0:
            next_index = max((s.index for s in self._slots.values() if s.group == group), default=-1) + 1
            for index in range(next_index, next_index + delta):
                self._add_slot(group, index)
        for slot in reversed(slots[target:]) if delta < 0 else ():
            slot.retiring = True
            slot.wake.set()
            self._terminate(slot)
        self.groups[group] = WorkerGroupSpec(self.groups[group].queues, target, self.groups[group].threads)
        logger.info("Scaled group %s to %d process(es)", group, target)
        return target

    def restart(self, process_id: str) -> None:
        """Restart one process now (gracefully), or give a crash-looped/failed slot a fresh start."""
        slot = self._slots.get(process_id)
        if slot is None or slot.retiring:
            raise SupervisorError(f"no worker process {process_id!r} here; refresh the workers list")
        if self._stopping:
            raise SupervisorError("the supervisor is stopping; restarting is no longer possible")
        logger.info("Restart of %s requested", process_id)
        slot.restart_requested = True
        slot.history.forget()
        slot.wake.set()
        self._terminate(slot)

    def startup_failure(self) -> int | None:
        """2 or 3 when every slot's first process exited with that code (bad configuration, Redis
        unreachable) and none is running now; the headless runner then gives up with that code."""
        slots = list(self._slots.values())
        if not slots or any(s.first_exit_code not in (2, 3) or s.pid is not None for s in slots):
            return None
        return 2 if any(s.first_exit_code == 2 for s in slots) else 3

    # -- slots ------------------------------------------------------------------------------------------
    def _add_slot(self, group: str, index: int) -> ProcessSlot:
        slot = ProcessSlot(f"{self.id}:{group}:{index}", group, index, self.groups[group], self.policy)
        self._slots[slot.id] = slot
        slot.task = asyncio.create_task(self._run_slot(slot), name=f"wellqueue-slot-{slot.id}")
        return slot

    async def _run_slot(self, slot: ProcessSlot) -> None:
        try:
            while not (self._stopping or slot.retiring):
                slot.wake.clear()
                code = await self._run_process(slot)
                if self._stopping or slot.retiring:
                    break
                if slot.restart_requested:
                    slot.restarts += 1
                    continue
                delay = self._after_unexpected_exit(slot, code)
                if delay is None:  # failed or crash loop: wait for an operator's restart (or stop)
                    await slot.wake.wait()
                    if slot.restart_requested:
                        slot.restarts += 1
                    continue
                slot.state = WorkerState.RESTARTING
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(slot.wake.wait(), delay)
                if not (self._stopping or slot.retiring):
                    slot.restarts += 1
        finally:
            slot.state = WorkerState.STOPPED
            slot.spawned.set()
            if slot.retiring:
                self._slots.pop(slot.id, None)
                self._retired.append(slot.id)

    async def _run_process(self, slot: ProcessSlot) -> int:
        grace_ms = int(self.settings.grace_seconds * 1000)
        spec = ProcessSpec(slot.id, slot.group, slot.spec.queues, slot.spec.threads, grace_ms)
        try:
            process = await spawn(self.command_factory(spec), process_env(self.settings, self.redis_url, slot.id))
        except OSError as exc:  # e.g. the interpreter is gone: restarting cannot help
            logger.error("Cannot start worker process %s: %s", slot.id, exc)
            slot.started_mono = time.monotonic()
            slot.record_exit(EXIT_USAGE)
            slot.spawned.set()
            return EXIT_USAGE
        slot.process = process
        slot.started_wall, slot.started_mono = time.time(), time.monotonic()
        slot.state = WorkerState.RUNNING
        slot.restart_requested = False  # a request that raced the spawn is served by this fresh process
        if self._stopping or slot.retiring:  # the stop raced the spawn: pass it on
            slot.state = WorkerState.STOPPING
            slot.signal(signal.SIGKILL if self._killed else signal.SIGTERM)
        slot.spawned.set()
        logger.info("Started worker process %s (pid %d)", slot.id, process.pid, extra={"process_id": slot.id})
        # spawn() pipes stdout
        reader = asyncio.create_task(slot.output.forward(cast(asyncio.StreamReader, process.stdout)))
        code = await process.wait()
        try:
            await asyncio.wait_for(reader, OUTPUT_DRAIN_S)
        except TimeoutError:  # a grandchild may hold the pipe open
            reader.cancel()
        slot.record_exit(code)
        return code

    def _after_unexpected_exit(self, slot: ProcessSlot, code: int) -> float | None:
        """Record an exit nobody asked for; the delay before restarting, or None to stop restarting."""
        now = time.monotonic()
        ran_for = now - slot.started_mono
        verdict = slot.history.after_exit(code, ran_for, now)
        fields = {"process_id": slot.id, "exit_code": code}
        if verdict.state is WorkerState.FAILED:
            slot.state = WorkerState.FAILED
            logger.error(
                "Worker process %s exited with code 2 (bad arguments, import or configuration error); not "
                "restarting it. Fix the cause, then restart it from the workers screen. Last output: %s",
                slot.id,
                slot.output.tail(),
                extra=fields,
            )
            return None
        if verdict.state is WorkerState.CRASH_LOOP:
            slot.state = WorkerState.CRASH_LOOP
            logger.error(
                "Worker process %s is crash-looping (%d exits within %.0f s, last code %s); not restarting it "
                "until asked. Last output: %s",
                slot.id,
                verdict.exits_in_window,
                self.policy.crash_loop_window_s,
                code,
                slot.output.tail(),
                extra=fields,
            )
            return None
        logger.warning(
            "Worker process %s exited unexpectedly with code %s after %.1f s; restarting in %.1f s",
            slot.id,
            code,
            ran_for,
            verdict.delay_s,
            extra=fields,
        )
        return verdict.delay_s

    def _terminate(self, slot: ProcessSlot, grace_s: float | None = None) -> None:
        """TERM one process, and KILL it if it is still running after the grace time."""
        process = slot.process
        if process is None or slot.pid is None:
            return
        slot.ask_to_stop()
        grace = self.settings.grace_seconds if grace_s is None else grace_s

        async def kill_when_overdue() -> None:
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                logger.warning("Worker process %s did not stop within %.0f s; killing it", slot.id, grace)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()  # this process, not whatever the slot runs by now

        task = asyncio.create_task(kill_when_overdue())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _drain(self, grace: float) -> bool:
        self._stopping = True
        live = [slot for slot in self._slots.values() if slot.pid is not None]
        logger.info("Stopping %d worker process(es); waiting up to %.0f s for running jobs", len(live), grace)
        for slot in self._slots.values():
            slot.wake.set()
            slot.ask_to_stop()
        tasks = [slot.task for slot in self._slots.values() if slot.task is not None]
        pending: set = set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
        if pending:
            logger.warning(
                "%d worker process(es) still running after %.0f s; killing them (their jobs will be redelivered)",
                len(pending),
                grace,
            )
            self.kill()
            await asyncio.wait(pending)
        # -SIGTERM: a process of another command factory still booting (no handler yet), so it held no jobs
        clean = not self._killed and all(slot.last_exit_code in (0, -signal.SIGTERM, None) for slot in live)
        self._refresh_done.set()
        if self._refresh_task is not None:
            await self._refresh_task
        await self._publish_final()
        if self._own_client and self._client is not None:
            self._client.close()
        logger.info("Supervisor %s stopped (%s)", self.id, "clean" if clean else "processes killed or failed")
        return clean

    # -- Redis records, control requests, in-flight counts ----------------------------------------------
    async def _refresh_loop(self) -> None:
        while not self._refresh_done.is_set():
            try:
                await self._refresh_once()
            except Exception:  # never let one bad refresh end the heartbeats
                logger.exception("Refreshing the worker records failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._refresh_done.wait(), self.heartbeat_interval_s)

    async def _refresh_once(self) -> None:
        if self._records is None:  # not started
            return
        records = [self._record(slot) for slot in self._slots.values()]
        retired, self._retired = self._retired, []
        live = {slot.id: slot.pid for slot in self._slots.values() if slot.pid is not None}
        queues = sorted({q for spec in self.groups.values() for q in spec.queues})
        try:
            result: SyncResult = await asyncio.to_thread(
                self._records.sync, records, retired, live, queues, take_requests=not self._stopping
            )
        except (redis.RedisError, OSError) as exc:
            self._retired = retired + self._retired
            if self._redis_ok:
                logger.warning("Cannot publish worker records to Redis (%s); will keep trying", exc)
            self._redis_ok = False
            return
        if not self._redis_ok:
            logger.info("Publishing worker records to Redis again")
        self._redis_ok = True
        self._active_by_process = result.active
        for problem in result.rejected:
            logger.warning("Ignored a malformed control request: %s", problem)
        for request in result.requests:
            apply_request(self, request)

    async def _publish_final(self) -> None:
        if self._records is None:
            return
        records = [self._record(slot) for slot in self._slots.values()]
        retired, self._retired = self._retired, []
        try:
            await asyncio.to_thread(self._records.publish_final, records, retired)
        except (redis.RedisError, OSError) as exc:
            logger.warning(
                "Cannot record the stopped worker processes in Redis (%s); they expire in %d s",
                exc,
                worker_records.RECORD_TTL_S,
            )

    # -- views ------------------------------------------------------------------------------------------
    def _info(self, slot: ProcessSlot) -> ProcessInfo:
        return slot.info(self._active_by_process.get(slot.id, 0))

    def _record(self, slot: ProcessSlot) -> WorkerRecord:
        info = self._info(slot)
        return WorkerRecord(
            id=info.id,
            supervisor=self.id,
            host=self.host,
            group=info.group,
            queues=info.queues,
            threads=info.threads,
            state=info.state,
            pid=info.pid,
            started=info.started,
            restarts=info.restarts,
            last_exit_code=info.last_exit_code,
            rss_bytes=info.rss_bytes,
            active=info.active,
            last_error=info.last_error,
        )
