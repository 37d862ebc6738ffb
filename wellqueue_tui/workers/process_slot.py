"""One process slot of a worker group: the process it runs now, and what outlives that process (restarts,
exit codes, backoff, output). The supervisor drives it; the console and Redis see it as a ProcessInfo."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass

from .process_output import ProcessOutput
from .restart_policy import RestartHistory, RestartPolicy
from .worker_records import WorkerState, read_rss_bytes


@dataclass(frozen=True)
class WorkerGroupSpec:
    """A set of identical worker processes: which queues they consume and with how many threads each."""

    queues: tuple[str, ...]
    processes: int = 1
    threads: int = 1


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


class ProcessSlot:
    """Mutable state of one process slot (a slot outlives the processes it runs)."""

    def __init__(self, process_id: str, group: str, index: int, spec: WorkerGroupSpec, policy: RestartPolicy) -> None:
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
        self.history = RestartHistory(policy)
        self.retiring = False
        self.restart_requested = False
        self.wake = asyncio.Event()
        self.spawned = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.output = ProcessOutput(process_id)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.returncode is None else None

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def ask_to_stop(self) -> None:
        """TERM the live process once: a second TERM would make our entry point exit at once."""
        if self.pid is not None and self.state is not WorkerState.STOPPING:
            self.state = WorkerState.STOPPING
            self.signal(signal.SIGTERM)

    def record_exit(self, code: int) -> None:
        self.last_exit_code = code
        if self.first_exit_code is None:
            self.first_exit_code = code

    def info(self, active: int) -> ProcessInfo:
        pid = self.pid
        return ProcessInfo(
            id=self.id,
            group=self.group,
            slot=self.index,
            queues=self.spec.queues,
            threads=self.spec.threads,
            state=self.state,
            pid=pid,
            restarts=self.restarts,
            last_exit_code=self.last_exit_code,
            started=self.started_wall if pid is not None else None,
            rss_bytes=read_rss_bytes(pid) if pid is not None else None,
            active=active,
            last_error=self.output.last_error,
        )
