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
    WAITING_CHILDREN = "waiting-children"  # a flow's parent until its children have completed


#: Display order of the states, as the overview and the queue tabs show them.
STATES: tuple[JobState, ...] = tuple(JobState)


_RATE_UNITS = ((86_400_000, "d"), (3_600_000, "h"), (60_000, "min"), (1000, "s"))


@dataclass(frozen=True)
class RateLimit:
    """At most `max` jobs of a queue start in any `duration_ms` window, over every host (jobs/limits.py)."""

    max: int
    duration_ms: int

    def __str__(self) -> str:
        """`10/s`, `600/min`, `5/h`, `100/30s`, `5/1500ms`: the form `wellqueue limit` takes."""
        for unit_ms, unit in _RATE_UNITS:
            if self.duration_ms == unit_ms:
                return f"{self.max}/{unit}"
        if self.duration_ms % 1000 == 0:
            return f"{self.max}/{self.duration_ms // 1000}s"
        return f"{self.max}/{self.duration_ms}ms"


@dataclass(frozen=True)
class QueueLimits:
    """A queue's limits as the fetch script applies them: the configured ones unless an operator set one live."""

    rate: RateLimit | None = None  # in force now
    concurrency: int | None = None  # cluster-wide cap on jobs in flight, in force now
    configured_rate: RateLimit | None = None
    configured_concurrency: int | None = None
    rate_live: bool = False  # an operator set the rate (over the configuration)
    concurrency_live: bool = False

    @property
    def any(self) -> bool:
        return self.rate is not None or self.concurrency is not None

    def summary(self) -> str:
        """`10/s · max 5 in flight`, `off`: one line for panels and tables."""
        parts = []
        if self.rate is not None:
            parts.append(f"{self.rate}")
        if self.concurrency is not None:
            parts.append(f"max {self.concurrency} in flight")
        return " · ".join(parts) or "off"


@dataclass(frozen=True)
class QueueCounts:
    """Jobs per state in one queue (ZCARD of each state set), plus the paused flag and the queue's limits."""

    queue: str
    waiting: int = 0
    prioritized: int = 0
    delayed: int = 0
    active: int = 0
    completed: int = 0
    failed: int = 0
    waiting_children: int = 0
    paused: bool = False
    limits: QueueLimits = field(default_factory=QueueLimits)

    def of(self, state: JobState | str) -> int:
        return getattr(self, count_field(state))

    @property
    def total(self) -> int:
        return sum(self.of(s) for s in STATES)


def count_field(state: JobState | str) -> str:
    """The QueueCounts attribute of a state (`waiting-children` -> `waiting_children`)."""
    return str(state).replace("-", "_")


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
class FlowNode:
    """One child in a flow parent's tree, as the job detail shows it (state `removed` when it is gone)."""

    id: str
    queue: str
    state: str
    children: tuple[FlowNode, ...] = ()


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
    parent: str | None = None  # a flow child's parent job id
    children: tuple[FlowNode, ...] = ()  # a flow parent's children, with theirs (at most MAX_TREE_NODES)


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
