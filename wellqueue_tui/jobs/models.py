"""Plain, typed records that the registry returns and the console renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class JobState(StrEnum):
    WAITING = "waiting"
    PRIORITIZED = "prioritized"
    DELAYED = "delayed"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"


#: Display order of the states, as the overview and the queue tabs show them.
STATES: tuple[JobState, ...] = tuple(JobState)


@dataclass(frozen=True)
class QueueCounts:
    """Jobs per state in one queue (ZCARD of each state set), plus the paused flag."""

    queue: str
    waiting: int = 0
    prioritized: int = 0
    delayed: int = 0
    active: int = 0
    completed: int = 0
    failed: int = 0
    paused: bool = False

    def of(self, state: JobState | str) -> int:
        return getattr(self, str(state))

    @property
    def total(self) -> int:
        return sum(self.of(s) for s in STATES)


@dataclass(frozen=True)
class JobSummary:
    """One row of a job list: enough to triage without opening the job."""

    id: str
    queue: str
    kind: str
    state: str
    data: dict
    priority: int | None
    attempts: int
    max_attempts: int
    progress: float
    created_at: float | None  # epoch seconds (Redis server time)
    started_at: float | None
    finished_at: float | None
    duration_ms: int | None
    error: str | None
    org: str | None


@dataclass(frozen=True)
class JobPage:
    """A page of one state set, newest first."""

    queue: str
    state: str
    total: int
    offset: int
    jobs: list[JobSummary]


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    at: float
    error: str


@dataclass(frozen=True)
class PayloadChange:
    """A payload an operator replaced (fix and re-run): when, by whom, and the payload as it was (raw JSON)."""

    at: float  # epoch seconds (Redis server time)
    by: str
    data: str


@dataclass(frozen=True)
class JobDetail:
    """Everything known about one job, for the detail screen and `wellqueue job ID`."""

    summary: JobSummary
    options: dict
    delayed_until: float | None
    worker: str | None
    traceback: str | None
    result: object | None
    logs: list[str] = field(default_factory=list)
    attempt_errors: list[AttemptRecord] = field(default_factory=list)
    redeliveries: int = 0
    problems: list[str] = field(default_factory=list)  # fields found malformed in Redis
    history: list[PayloadChange] = field(default_factory=list)  # payloads replaced by operators, oldest first


@dataclass(frozen=True)
class MinuteStats:
    """Throughput of one queue in one minute (UTC epoch minute)."""

    minute: int
    completed: int
    failed: int
    duration_ms_sum: int

    @property
    def mean_duration_ms(self) -> float | None:
        return self.duration_ms_sum / self.completed if self.completed else None


def newest_failure_first(job: JobSummary) -> tuple[float, str]:
    """Sort key of `recent_failures`: the latest to finish first, ties by id, alike in every source."""
    return (-(job.finished_at or 0.0), job.id)
