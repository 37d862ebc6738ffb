"""When a worker process that exited on its own is started again: backoff, crash loops, and exit code 2.
Pure state per process slot, with the clock passed in; the supervisor acts on the verdicts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .entry import EXIT_USAGE
from .worker_records import WorkerState


@dataclass(frozen=True)
class RestartPolicy:
    """Backoff 1 s doubling to 60 s, reset after 60 s healthy; more than 5 restarts in 2 min is a crash loop."""

    initial_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    healthy_after_s: float = 60.0
    crash_loop_restarts: int = 5
    crash_loop_window_s: float = 120.0


@dataclass(frozen=True)
class ExitVerdict:
    """What to do after an unexpected exit: restart (state RESTARTING) after `delay_s`, or wait for an
    operator (FAILED for exit code 2, CRASH_LOOP for too many exits within the window)."""

    state: WorkerState
    delay_s: float = 0.0
    exits_in_window: int = 0

    @property
    def restarts(self) -> bool:
        return self.state is WorkerState.RESTARTING


class RestartHistory:
    """One process slot's unexpected exits and the backoff its next restart waits."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.backoff_s = policy.initial_backoff_s
        self._exits: deque[float] = deque()  # monotonic times of unexpected exits within the window

    def after_exit(self, code: int, ran_for_s: float, now: float) -> ExitVerdict:
        """Record an exit nobody asked for (`now` monotonic, after running `ran_for_s`) and judge it."""
        if code == EXIT_USAGE:  # bad arguments or configuration: restarting cannot help
            return ExitVerdict(WorkerState.FAILED)
        if ran_for_s >= self.policy.healthy_after_s:
            self.backoff_s = self.policy.initial_backoff_s
        self._exits.append(now)
        while self._exits and now - self._exits[0] > self.policy.crash_loop_window_s:
            self._exits.popleft()
        if len(self._exits) > self.policy.crash_loop_restarts:
            return ExitVerdict(WorkerState.CRASH_LOOP, exits_in_window=len(self._exits))
        delay = self.backoff_s
        self.backoff_s = min(self.backoff_s * 2, self.policy.max_backoff_s)
        return ExitVerdict(WorkerState.RESTARTING, delay, len(self._exits))

    def forget(self) -> None:
        """An operator's restart: a fresh start, as if the slot had never exited."""
        self._exits.clear()
        self.backoff_s = self.policy.initial_backoff_s
