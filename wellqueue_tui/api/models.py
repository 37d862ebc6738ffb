"""The API's request and response models. Requests use BullMQ's names (`jobId`, `removeOnComplete`, …);
the OpenAPI document is generated from these same classes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from ..jobs.models import JobDetail, JobSummary
from ..jobs.options import JOB_ID_PATTERN, MAX_DELAY_MS, MAX_PRIORITY

REQUEST_CONFIG = ConfigDict(extra="forbid", hide_input_in_errors=True)
MAX_PAGE = 500
MAX_TIMEOUT_MS = 24 * 3600 * 1000


class BackoffIn(BaseModel):
    """Wait before each retry: `fixed` waits `delay` ms, `exponential` waits delay × 2^(attempt-1)."""

    model_config = REQUEST_CONFIG

    type: Literal["fixed", "exponential"] = "exponential"
    delay: StrictInt = Field(default=2000, ge=0, le=MAX_DELAY_MS)


class KeepJobs(BaseModel):
    """Keep at most `count` finished jobs and none older than `age` seconds."""

    model_config = REQUEST_CONFIG

    count: StrictInt | None = Field(default=None, ge=0)
    age: StrictInt | None = Field(default=None, ge=0)


Retention = StrictBool | Annotated[StrictInt, Field(ge=0)] | KeepJobs


class JobOptionsIn(BaseModel):
    """BullMQ's job options that WellQueue honours; any other option is refused by name."""

    model_config = REQUEST_CONFIG

    jobId: str | None = Field(
        default=None,
        pattern=f"^{JOB_ID_PATTERN.pattern}$",
        description="your id for the job; the same id again returns the existing job",
    )
    priority: StrictInt | None = Field(default=None, ge=1, le=MAX_PRIORITY, description="1 is the highest")
    delay: StrictInt | None = Field(default=None, ge=0, le=MAX_DELAY_MS, description="milliseconds before it may run")
    attempts: StrictInt | None = Field(default=None, ge=1, le=100, description="tries in all, the first included")
    backoff: Annotated[StrictInt, Field(ge=0, le=MAX_DELAY_MS)] | BackoffIn | None = Field(
        default=None, description="milliseconds (exponential) or {type, delay}"
    )
    removeOnComplete: Retention | None = Field(default=None, description="true, false, a count, or {count, age}")
    removeOnFail: Retention | None = Field(default=None, description="true, false, a count, or {count, age}")
    timeout: StrictInt | None = Field(default=None, ge=1, le=MAX_TIMEOUT_MS, description="milliseconds per attempt")

    def enqueue_options(self) -> dict[str, Any]:
        """The keyword arguments of `jobs.enqueue` / `prepare_message` for these options."""
        return {
            "job_id": self.jobId,
            "priority": self.priority,
            "delay_ms": self.delay,
            "attempts": self.attempts,
            "backoff": self.backoff.model_dump() if isinstance(self.backoff, BackoffIn) else self.backoff,
            "timeout_ms": self.timeout,
            "remove_on_complete": _retention(self.removeOnComplete),
            "remove_on_fail": _retention(self.removeOnFail),
        }


def _retention(value: bool | int | KeepJobs | None) -> bool | int | dict | None:
    if isinstance(value, KeepJobs):
        return value.model_dump(exclude_none=True)
    return value


class EnqueueRequest(BaseModel):
    """`POST /api/jobs/queues/{name}/jobs`: the payload (checked against the queue's model) and options."""

    model_config = REQUEST_CONFIG

    data: dict[str, Any]
    opts: JobOptionsIn = Field(default_factory=JobOptionsIn)


class FlowOptionsIn(JobOptionsIn):
    """A flow job's options: BullMQ's job options, and on a child what its failure does to the parent."""

    failParentOnFailure: StrictBool = Field(
        default=False, description="the parent fails, naming this child, when this child fails for good"
    )
    ignoreDependencyOnFailure: StrictBool = Field(
        default=False, description="the parent runs anyway; this child's error is in its children_failures"
    )


class FlowRequest(BaseModel):
    """`POST /api/jobs/flows`: a parent job and its `children` (which may have children), as BullMQ's
    FlowProducer takes them; the parent runs once every child completed."""

    model_config = REQUEST_CONFIG

    queue: str = Field(
        min_length=1, max_length=200, validation_alias=AliasChoices("queue", "queueName"), description="queue or kind"
    )
    data: dict[str, Any] = Field(default_factory=dict)
    opts: FlowOptionsIn = Field(default_factory=FlowOptionsIn)
    children: list[FlowRequest] = Field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The flow as `jobs.flows.parse_flow` reads it."""
        opts = self.opts.model_dump(exclude_none=True)
        for name in ("failParentOnFailure", "ignoreDependencyOnFailure"):
            if not opts[name]:
                del opts[name]
        return {
            "queue": self.queue,
            "data": self.data,
            "opts": opts,
            "children": [child.document() for child in self.children],
        }


class FlowJobOut(BaseModel):
    id: str
    queue: str
    children: list[FlowJobOut] = Field(default_factory=list)


class FlowOut(BaseModel):
    created: bool = Field(description="false when the root's jobId existed already (nothing was enqueued)")
    flow: FlowJobOut = Field(description="each job's id, in the tree's shape (the root only when not created)")


class CleanRequest(BaseModel):
    """`POST …/clean`: remove up to `limit` jobs of `state` older than `grace` milliseconds."""

    model_config = REQUEST_CONFIG

    state: Literal["completed", "failed", "waiting", "delayed", "prioritized"] = Field(
        default="completed", validation_alias=AliasChoices("state", "status")
    )
    grace: StrictInt = Field(
        default=0,
        ge=0,
        validation_alias=AliasChoices("grace", "age"),
        description="keep jobs younger than this many milliseconds",
    )
    limit: StrictInt = Field(default=1000, ge=1, le=100_000)


class JobListQuery(BaseModel):
    """Query of `GET …/jobs`: `state` (or `status`), and `offset`/`limit` or BullMQ's inclusive `start`/`end`."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    state: Literal["waiting", "prioritized", "delayed", "active", "completed", "failed", "waiting-children"] = Field(
        default="waiting", validation_alias=AliasChoices("state", "status")
    )
    offset: int = Field(default=0, ge=0, le=10_000_000)
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    start: int | None = Field(default=None, ge=0, le=10_000_000)
    end: int | None = Field(default=None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _start_end(self) -> JobListQuery:
        if self.start is None and self.end is None:
            return self
        start = self.start or 0
        end = self.end if self.end is not None else start + 9
        if end < start:
            raise ValueError("end must be at least start")
        if end - start + 1 > MAX_PAGE:
            raise ValueError(f"start..end may span at most {MAX_PAGE} jobs")
        self.offset, self.limit = start, end - start + 1
        return self


class ScheduleCreate(BaseModel):
    """`POST /api/jobs/schedules`: a cron schedule (5-field crontab in an IANA time zone)."""

    model_config = REQUEST_CONFIG

    name: str
    cron: str
    queue: str
    payload: dict[str, Any] = Field(default_factory=dict)
    timezone: str | None = None
    enabled: StrictBool = True
    description: str = Field(default="", max_length=500)

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ScheduleUpdate(BaseModel):
    """`PUT /api/jobs/schedules/{name}`: the fields to change; the others keep their values."""

    model_config = REQUEST_CONFIG

    cron: str | None = None
    queue: str | None = None
    payload: dict[str, Any] | None = None
    timezone: str | None = None
    enabled: StrictBool | None = None
    description: str | None = Field(default=None, max_length=500)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


# --- responses -------------------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    error: str = Field(description="a short code: invalid, not_found, forbidden, unauthorized, …")
    detail: str = Field(description="what is wrong and what to do")
    field: str | None = Field(default=None, description="the body field or query parameter at fault")


class QueueOut(BaseModel):
    name: str
    waiting: int
    prioritized: int
    delayed: int
    active: int
    completed: int
    failed: int
    waitingChildren: int = Field(description="flow parents waiting for their children (waiting-children)")
    paused: bool
    total: int


class QueueList(BaseModel):
    queues: list[QueueOut]


class JobPageOut(BaseModel):
    queue: str
    state: str
    total: int
    offset: int
    limit: int
    jobs: list[JobSummary]


class JobOut(BaseModel):
    job: JobDetail


class EnqueueOut(BaseModel):
    id: str
    queue: str
    created: bool = Field(description="false when a job with this jobId existed already (nothing was enqueued)")
    job: JobDetail | None = Field(default=None, description="the existing job, when created is false")


class ActionOut(BaseModel):
    action: str
    target: str
    count: int = Field(description="how many jobs (or things) the action changed")
    message: str


class QueueHealthOut(BaseModel):
    """Health figures of one queue (see the README's "Queue health"); rates and the failure share cover the
    last 5 minutes and count every failed attempt, retried ones included."""

    latencySeconds: float | None = Field(description="age of the oldest waiting job; null when nothing waits")
    consumers: int = Field(description="running worker processes listening to the queue, on every host")
    stuck: int = Field(description="active jobs past their time limit or whose worker stopped heartbeating")
    crashLooping: int
    arrivalPerMinute: float | None
    finishedPerMinute: float
    failureRate: float | None
    backlogGrowing: bool
    drainSeconds: float | None = Field(description="time to empty the backlog at the current trend")
    warnings: list[str]
    breaker: Literal["closed", "open", "half_open"] | None = Field(description="null when the queue has none")
    firingAlerts: list[str] = Field(description="names of the alert rules firing on this queue")


class QueueStats(BaseModel):
    name: str
    waiting: int
    prioritized: int
    delayed: int
    active: int
    completed: int
    failed: int
    waitingChildren: int = Field(description="flow parents waiting for their children (waiting-children)")
    paused: bool
    total: int
    completedLastHour: int
    failedLastHour: int
    failureRate: float = Field(description="failed / (completed + failed) in the last hour")
    meanDurationMs: float | None
    health: QueueHealthOut | None = Field(default=None, description="null for a token with an organization")


class StatsOut(BaseModel):
    queues: dict[str, QueueStats]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    redis: bool
    workers: bool = Field(description="at least one worker process is running")
    scheduler: bool = Field(description="a scheduler holds the leader lease")


class FailureGroupOut(BaseModel):
    """Failed jobs of every queue with one error signature (see the README's "Failure groups")."""

    id: str = Field(description="the group id (`wellqueue failures retry ID`)")
    signature: str = Field(description="exception type and message with ids, numbers, hosts… replaced")
    count: int = Field(description="failed jobs in the group now")
    firstSeen: float | None = Field(description="epoch seconds")
    lastSeen: float | None = Field(description="epoch seconds")
    error: str = Field(description="the latest member's error as written")
    queues: dict[str, int]
    hourly: list[int] = Field(description="jobs filed per hour over the last 24 hours, oldest first")
    topValues: dict[str, list[tuple[str, int]]] = Field(
        description="the most frequent values of wellId, organizationId, county and the url's host, with counts"
    )


class FailuresOut(BaseModel):
    groups: list[FailureGroupOut]
