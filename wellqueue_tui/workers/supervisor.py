"""Runs and watches one host's worker processes: spawn, relay logs, restart with backoff, flag crash loops,
scale, publish records to Redis, drain on stop. Hosted by the TUI and the headless runner on their asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis

from ..jobs.keys import KeySchema
from ..jobs.models import JobState
from ..logging_setup import safe_extra
from ..settings import Settings
from . import worker_records
from .entry import EXIT_USAGE, WORKER_ID_ENV
from .worker_records import ControlRequest, WorkerRecord, WorkerRecords, WorkerState

logger = logging.getLogger(__name__)
#: Lines the worker processes log are re-logged here, tagged with `process_id`.
process_logger = logging.getLogger("wellqueue_tui.workers.process")

MAX_PROCESSES_PER_GROUP = 64
HEARTBEAT_INTERVAL_S = 2.0
MAX_ACTIVE_SCANNED = 1000  # per queue; the active sets hold at most the cluster's concurrency plus stalled jobs
OUTPUT_LINE_LIMIT = 1 << 20
RECENT_LINES = 20

_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class SupervisorError(ValueError):
    """A scale or restart request names something this supervisor does not have, or goes out of bounds."""


@dataclass(frozen=True)
class WorkerGroupSpec:
    """A set of identical worker processes: which queues they consume and with how many threads each."""

    queues: tuple[str, ...]
    processes: int = 1
    threads: int = 1


@dataclass(frozen=True)
class RestartPolicy:
    """Backoff 1 s doubling to 60 s, reset after 60 s healthy; more than 5 restarts in 2 min is a crash loop."""

    initial_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    healthy_after_s: float = 60.0
    crash_loop_restarts: int = 5
    crash_loop_window_s: float = 120.0


@dataclass(frozen=True)
class ProcessSpec:
    """What one process slot runs; the command factory turns it into an argv."""

    id: str
    group: str
    queues: tuple[str, ...]
    threads: int
    grace_ms: int


@dataclass(frozen=True)
class ProcessInfo:
    """One process slot as the console shows it."""

    id: str
    group: str
    slot: int
    queues: tuple[str, ...]
    threads: int
    state: WorkerState
    pid: int | None
    restarts: int
    last_exit_code: int | None
    started: float | None  # epoch seconds
    rss_bytes: int | None
    active: int
    last_error: str | None


CommandFactory = Callable[[ProcessSpec], Sequence[str]]


def entry_command(spec: ProcessSpec) -> list[str]:
    """The default command: our own worker entry point under this interpreter."""
    return [
        sys.executable, "-m", "wellqueue_tui.workers.entry",
        "--queues", ",".join(spec.queues),
        "--threads", str(spec.threads),
        "--worker-id", spec.id,
        "--grace-ms", str(spec.grace_ms),
    ]


def default_groups(settings: Settings) -> dict[str, WorkerGroupSpec]:
    """One group per queue: `worker_processes` processes with `concurrency[queue]` threads each."""
    return {
        queue: WorkerGroupSpec(queues=(queue,), processes=settings.worker_processes, threads=threads)
        for queue, threads in settings.concurrency.items()
    }


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as WELLQUEUE_* variables, so worker processes see what this process was configured with."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if name == "redis_url" or value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[f"WELLQUEUE_{name.upper()}"] = str(value)
    return env


class _Slot:
    """Mutable state of one process slot (a slot outlives the processes it runs)."""

    def __init__(self, process_id: str, group: str, index: int, spec: WorkerGroupSpec, backoff_s: float) -> None:
        self.id = process_id
        self.group = group
        self.index = index
        self.spec = spec
        self.state = WorkerState.RUNNING
        self.process: asyncio.subprocess.Process | None = None
        self.started_wall: float | None = None
        self.started_mono = 0.0
        self.restarts = 0
        self.last_exit_code: int | None = None
        self.first_exit_code: int | None = None  # of the slot's very first process, for start-up failure
        self.exits: deque[float] = deque()  # monotonic times of unexpected exits, for crash-loop detection
        self.backoff_s = backoff_s
        self.retiring = False
        self.restart_requested = False
        self.wake = asyncio.Event()
        self.spawned = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.recent: deque[str] = deque(maxlen=RECENT_LINES)
        self.last_error: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.returncode is None else None

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.returncode is None:
            try:
                self.process.send_signal(signum)
            except ProcessLookupError:
                pass


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
        self._records = WorkerRecords(client, self.keys) if client is not None else None
        self._slots: dict[str, _Slot] = {}
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
            self._records = WorkerRecords(self._client, self.keys)
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
        logger.info("Supervisor %s started %d worker process(es)", self.id, len(self._slots),
                    extra={"groups": {g: list(s.queues) for g, s in self.groups.items()}})

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
        slot.exits.clear()
        slot.backoff_s = self.policy.initial_backoff_s
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
    def _add_slot(self, group: str, index: int) -> _Slot:
        slot = _Slot(f"{self.id}:{group}:{index}", group, index, self.groups[group], self.policy.initial_backoff_s)
        self._slots[slot.id] = slot
        slot.task = asyncio.create_task(self._run_slot(slot), name=f"wellqueue-slot-{slot.id}")
        return slot

    async def _run_slot(self, slot: _Slot) -> None:
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
                try:
                    await asyncio.wait_for(slot.wake.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                if not (self._stopping or slot.retiring):
                    slot.restarts += 1
        finally:
            slot.state = WorkerState.STOPPED
            slot.spawned.set()
            if slot.retiring:
                self._slots.pop(slot.id, None)
                self._retired.append(slot.id)

    async def _run_process(self, slot: _Slot) -> int:
        grace_ms = int(self.settings.grace_seconds * 1000)
        spec = ProcessSpec(slot.id, slot.group, slot.spec.queues, slot.spec.threads, grace_ms)
        env = {
            **os.environ,
            **settings_env(self.settings),
            "REDIS_URL": self.redis_url,
            WORKER_ID_ENV: slot.id,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (_PROJECT_ROOT, os.environ.get("PYTHONPATH")) if p),
        }
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command_factory(spec),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C in the terminal reaches the supervisor only
                limit=OUTPUT_LINE_LIMIT,
            )
        except OSError as exc:  # e.g. the interpreter is gone: restarting cannot help
            logger.error("Cannot start worker process %s: %s", slot.id, exc)
            slot.started_mono = time.monotonic()
            slot.last_exit_code = EXIT_USAGE
            if slot.first_exit_code is None:
                slot.first_exit_code = EXIT_USAGE
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
        reader = asyncio.create_task(self._forward_output(slot, process.stdout))
        code = await process.wait()
        try:
            await asyncio.wait_for(reader, 2.0)
        except asyncio.TimeoutError:  # a grandchild may hold the pipe open
            reader.cancel()
        slot.last_exit_code = code
        if slot.first_exit_code is None:
            slot.first_exit_code = code
        return code

    def _after_unexpected_exit(self, slot: _Slot, code: int) -> float | None:
        """Record an exit nobody asked for; the delay before restarting, or None to stop restarting."""
        now = time.monotonic()
        ran_for = now - slot.started_mono
        if code == EXIT_USAGE:
            slot.state = WorkerState.FAILED
            logger.error(
                "Worker process %s exited with code 2 (bad arguments, import or configuration error); not "
                "restarting it. Fix the cause, then restart it from the workers screen. Last output: %s",
                slot.id, _tail(slot), extra={"process_id": slot.id, "exit_code": code},
            )
            return None
        if ran_for >= self.policy.healthy_after_s:
            slot.backoff_s = self.policy.initial_backoff_s
        slot.exits.append(now)
        while slot.exits and now - slot.exits[0] > self.policy.crash_loop_window_s:
            slot.exits.popleft()
        if len(slot.exits) > self.policy.crash_loop_restarts:
            slot.state = WorkerState.CRASH_LOOP
            logger.error(
                "Worker process %s is crash-looping (%d exits within %.0f s, last code %s); not restarting it "
                "until asked. Last output: %s",
                slot.id, len(slot.exits), self.policy.crash_loop_window_s, code,
                _tail(slot), extra={"process_id": slot.id, "exit_code": code},
            )
            return None
        delay = slot.backoff_s
        slot.backoff_s = min(slot.backoff_s * 2, self.policy.max_backoff_s)
        logger.warning("Worker process %s exited unexpectedly with code %s after %.1f s; restarting in %.1f s",
                       slot.id, code, ran_for, delay, extra={"process_id": slot.id, "exit_code": code})
        return delay

    def _terminate(self, slot: _Slot, grace_s: float | None = None) -> None:
        """TERM one process, and KILL it if it is still running after the grace time."""
        if slot.pid is None:
            return
        slot.state = WorkerState.STOPPING
        slot.signal(signal.SIGTERM)
        grace = self.settings.grace_seconds if grace_s is None else grace_s
        process = slot.process

        async def kill_when_overdue() -> None:
            try:
                await asyncio.wait_for(process.wait(), grace)
            except asyncio.TimeoutError:
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
            if slot.pid is not None:
                slot.state = WorkerState.STOPPING
                slot.signal(signal.SIGTERM)
        tasks = [slot.task for slot in self._slots.values() if slot.task is not None]
        pending: set = set()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
        if pending:
            logger.warning("%d worker process(es) still running after %.0f s; killing them (their jobs will be "
                           "redelivered)", len(pending), grace)
            self.kill()
            await asyncio.wait(pending)
        # -SIGTERM: the process was still booting (no handler yet), so it held no jobs
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
            try:
                await asyncio.wait_for(self._refresh_done.wait(), self.heartbeat_interval_s)
            except asyncio.TimeoutError:
                pass

    async def _refresh_once(self) -> None:
        records = [self._record(slot) for slot in self._slots.values()]
        retired, self._retired = self._retired, []
        live = {slot.id: slot.pid for slot in self._slots.values() if slot.pid is not None}
        queues = sorted({q for spec in self.groups.values() for q in spec.queues})
        try:
            requests, rejected, active = await asyncio.to_thread(self._sync_redis, records, retired, live, queues)
        except (redis.RedisError, OSError) as exc:
            self._retired = retired + self._retired
            if self._redis_ok:
                logger.warning("Cannot publish worker records to Redis (%s); will keep trying", exc)
            self._redis_ok = False
            return
        if not self._redis_ok:
            logger.info("Publishing worker records to Redis again")
        self._redis_ok = True
        self._active_by_process = active
        for problem in rejected:
            logger.warning("Ignored a malformed control request: %s", problem)
        for request in requests:
            self._apply(request)

    def _sync_redis(
        self, records: list[WorkerRecord], retired: list[str], live: dict[str, int], queues: list[str]
    ) -> tuple[list[ControlRequest], list[str], dict[str, int]]:
        self._records.publish(records)
        self._records.remove(retired)
        requests, rejected = ([], []) if self._stopping else self._records.take_requests(self.id)
        return requests, rejected, self._count_active(self._client, live, queues)

    def _count_active(self, client: redis.Redis, live: dict[str, int], queues: list[str]) -> dict[str, int]:
        if not live:
            return {}
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.zrange(self.keys.state(queue, JobState.ACTIVE), 0, MAX_ACTIVE_SCANNED - 1)
            id_lists = pipe.execute()
        job_ids = [worker_records.text(job_id) for ids in id_lists for job_id in ids]
        if not job_ids:
            return {}
        with client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.keys.job(job_id), "worker")
            labels = pipe.execute()
        owner = {f"{self._machine}:{pid}:": process_id for process_id, pid in live.items()}
        counts: dict[str, int] = {}
        for label in labels:
            prefix = ":".join(worker_records.text(label or "").split(":")[:2]) + ":"
            if prefix in owner:
                counts[owner[prefix]] = counts.get(owner[prefix], 0) + 1
        return counts

    def _apply(self, request: ControlRequest) -> None:
        try:
            if request.action == "scale" and request.group is not None and request.delta:
                self.scale(request.group, request.delta)
            elif request.action == "restart" and request.worker_id is not None:
                self.restart(request.worker_id)
            else:
                logger.warning("Ignored an incomplete control request: %s", request.model_dump_json())
        except SupervisorError as exc:
            logger.warning("Control request %s refused: %s", request.action, exc)

    async def _publish_final(self) -> None:
        if self._client is None:
            return
        records = [self._record(slot) for slot in self._slots.values()]
        retired, self._retired = self._retired, []
        try:
            await asyncio.to_thread(self._publish_stopped, records, retired)
        except (redis.RedisError, OSError) as exc:
            logger.warning("Cannot record the stopped worker processes in Redis (%s); they expire in %d s",
                           exc, worker_records.RECORD_TTL_S)

    def _publish_stopped(self, records: list[WorkerRecord], retired: list[str]) -> None:
        self._records.publish(records)
        self._records.remove(retired)

    # -- views ------------------------------------------------------------------------------------------
    def _info(self, slot: _Slot) -> ProcessInfo:
        pid = slot.pid
        return ProcessInfo(
            id=slot.id, group=slot.group, slot=slot.index, queues=slot.spec.queues, threads=slot.spec.threads,
            state=slot.state, pid=pid, restarts=slot.restarts, last_exit_code=slot.last_exit_code,
            started=slot.started_wall if pid is not None else None,
            rss_bytes=worker_records.read_rss_bytes(pid) if pid is not None else None,
            active=self._active_by_process.get(slot.id, 0), last_error=slot.last_error,
        )

    def _record(self, slot: _Slot) -> WorkerRecord:
        info = self._info(slot)
        return WorkerRecord(
            id=info.id, supervisor=self.id, host=self.host, group=info.group, queues=info.queues,
            threads=info.threads, state=info.state, pid=info.pid, started=info.started, restarts=info.restarts,
            last_exit_code=info.last_exit_code, rss_bytes=info.rss_bytes, active=info.active,
            last_error=info.last_error,
        )

    # -- child output -----------------------------------------------------------------------------------
    async def _forward_output(self, slot: _Slot, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # longer than OUTPUT_LINE_LIMIT: asyncio drops it
                process_logger.warning("Dropped an over-long output line", extra={"process_id": slot.id})
                continue
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:
                self._relay(slot, line)

    def _relay(self, slot: _Slot, line: str) -> None:
        """Re-log one output line of a worker process, keeping its level, logger and fields."""
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or "msg" not in entry:
            slot.recent.append(line[:500])
            process_logger.warning("%s", line, extra={"process_id": slot.id})
            return
        level = logging.getLevelName(str(entry.get("level", "INFO")))
        level = level if isinstance(level, int) else logging.INFO
        message = str(entry["msg"])
        fields = {k: v for k, v in entry.items() if k not in ("ts", "level", "msg", "logger", "worker_id")}
        fields["source"] = entry.get("logger", "")
        fields["process_id"] = slot.id
        if "exc" in fields:
            message = f"{message}\n{fields.pop('exc')}"
        slot.recent.append(message.splitlines()[0][:500] if message else "")
        if level >= logging.ERROR:
            slot.last_error = message.splitlines()[0][:500] if message else None
        process_logger.log(level, "%s", message, extra=safe_extra(fields))


def _tail(slot: _Slot) -> str:
    """The last few output lines of a slot's processes, for crash reports."""
    return " | ".join(list(slot.recent)[-5:]) or "(none)"
