"""What the console reads and does, as one protocol (`ConsoleSource`), plus an in-memory implementation.

`session.OperatorSession` satisfies `ConsoleSource` over Redis; `StaticSource` holds fixed data and a
fixed clock so screens can be tested and snapshotted deterministically. Screens never see a Redis client.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

import redis

from .auth.identity import LOCAL_DEV, Identity
from .auth.permissions import Action, allowed, check
from .jobs.actions import CLEANABLE, ActionError, ActionResult
from .jobs.models import STATES, JobDetail, JobPage, JobState, JobSummary, MinuteStats, QueueCounts
from .jobs.registry import ASCENDING_STATES

#: What a source raises when Redis is unreachable or refuses: the console shows a banner and keeps retrying.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)


@runtime_checkable
class ConsoleSource(Protocol):
    """The subset of the operator session the console uses; every call may block on Redis.

    Actions return an `ActionResult` or raise an exception whose `str()` is the message for the operator.
    `identity` and `can` are read on the UI thread to grey out keys, so they must not touch Redis.
    A source may also offer `workers()` and `schedules()`; the console shows them when present.
    """

    identity: Identity

    def server_time(self) -> float: ...
    def all_counts(self) -> list[QueueCounts]: ...
    def queue_counts(self, queue: str) -> QueueCounts: ...
    def list_jobs(self, queue: str, state: str, offset: int = 0, limit: int = 50) -> JobPage: ...
    def search_jobs(self, queue: str, state: str, text: str, limit: int = 50) -> JobPage: ...
    def get_job(self, job_id: str) -> JobDetail | None: ...
    def throughput(self, queue: str, minutes: int = 60) -> list[MinuteStats]: ...
    def can(self, action: str) -> bool: ...

    def retry_job(self, job_id: str) -> ActionResult: ...
    def retry_jobs(self, job_ids: list[str]) -> ActionResult: ...
    def retry_all_failed(self, queue: str) -> ActionResult: ...
    def remove_job(self, job_id: str) -> ActionResult: ...
    def remove_jobs(self, job_ids: list[str]) -> ActionResult: ...
    def promote_job(self, job_id: str) -> ActionResult: ...
    def promote_jobs(self, job_ids: list[str]) -> ActionResult: ...
    def clean_jobs(self, queue: str, state: str, older_than_ms: int) -> ActionResult: ...
    def drain_queue(self, queue: str) -> ActionResult: ...
    def pause_queue(self, queue: str) -> ActionResult: ...
    def resume_queue(self, queue: str) -> ActionResult: ...


#: States `drain_queue` empties: everything waiting to run (delayed jobs stay), as the core does it.
DRAINED_STATES = (JobState.WAITING, JobState.PRIORITIZED)


class StaticSource:
    """A `ConsoleSource` over in-memory jobs and a fixed clock; its actions really change that data.

    Permissions come from the real table (`auth.permissions`), so a MANAGER identity is refused here
    exactly as the operator session would refuse it.
    """

    def __init__(
        self,
        jobs: Iterable[JobDetail],
        *,
        queues: Iterable[str] = (),
        paused: Iterable[str] = (),
        throughput: dict[str, list[MinuteStats]] | None = None,
        identity: Identity = LOCAL_DEV,
        now: float = 1_750_000_000.0,
    ) -> None:
        self.identity = identity
        self.now = now
        self.jobs: dict[str, JobDetail] = {job.summary.id: job for job in jobs}
        self.queues: list[str] = list(dict.fromkeys([*queues, *(job.summary.queue for job in self.jobs.values())]))
        self.paused: set[str] = set(paused)
        self.stats = dict(throughput or {})

    # Reads

    def server_time(self) -> float:
        return self.now

    def all_counts(self) -> list[QueueCounts]:
        return [self.queue_counts(queue) for queue in self.queues]

    def queue_counts(self, queue: str) -> QueueCounts:
        counts = {str(state): 0 for state in STATES}
        for job in self._in_queue(queue):
            counts[job.summary.state] += 1
        return QueueCounts(queue=queue, paused=queue in self.paused, **counts)

    def list_jobs(self, queue: str, state: str, offset: int = 0, limit: int = 50) -> JobPage:
        members = self._state_set(queue, state)
        return JobPage(queue, state, len(members), offset, members[offset : offset + limit])

    def search_jobs(self, queue: str, state: str, text: str, limit: int = 50) -> JobPage:
        needle = text.casefold()
        hits = [job for job in self._state_set(queue, state) if needle in _searchable(job)]
        return JobPage(queue, state, len(hits), 0, hits[:limit])

    def get_job(self, job_id: str) -> JobDetail | None:
        return self.jobs.get(job_id)

    def throughput(self, queue: str, minutes: int = 60) -> list[MinuteStats]:
        first = int(self.now // 60) - minutes + 1
        return [stat for stat in self.stats.get(queue, []) if stat.minute >= first]

    def can(self, action: str) -> bool:
        return allowed(self.identity.role, Action(action))

    # Actions: the permission check first, as `OperatorSession.perform` does

    def retry_job(self, job_id: str) -> ActionResult:
        self._check(Action.RETRY)
        self._resubmit(self._job_in(job_id, "retried", JobState.FAILED))
        return ActionResult("retry", job_id, 1, f"job {job_id} queued again")

    def retry_jobs(self, job_ids: list[str]) -> ActionResult:
        done = self._each(Action.RETRY, job_ids, lambda job_id: self._resubmit(self._job_in(job_id, "", JobState.FAILED)))
        return ActionResult("retry", f"{len(job_ids)} selected", done, f"{done} of {len(job_ids)} jobs queued again")

    def retry_all_failed(self, queue: str) -> ActionResult:
        self._check(Action.RETRY_ALL)
        failed = [job for job in self._in_queue(queue) if job.summary.state == JobState.FAILED]
        for job in failed:
            self._resubmit(job)
        return ActionResult("retry_all", queue, len(failed), f"{len(failed)} failed jobs in {queue} queued again")

    def remove_job(self, job_id: str) -> ActionResult:
        self._check(Action.REMOVE)
        self._remove(job_id)
        return ActionResult("remove", job_id, 1, f"job {job_id} removed")

    def remove_jobs(self, job_ids: list[str]) -> ActionResult:
        done = self._each(Action.REMOVE, job_ids, self._remove)
        return ActionResult("remove", f"{len(job_ids)} selected", done, f"{done} of {len(job_ids)} jobs removed")

    def promote_job(self, job_id: str) -> ActionResult:
        self._check(Action.PROMOTE)
        self._resubmit(self._job_in(job_id, "promoted", JobState.DELAYED))
        return ActionResult("promote", job_id, 1, f"job {job_id} will run now")

    def promote_jobs(self, job_ids: list[str]) -> ActionResult:
        done = self._each(Action.PROMOTE, job_ids, lambda job_id: self._resubmit(self._job_in(job_id, "", JobState.DELAYED)))
        return ActionResult("promote", f"{len(job_ids)} selected", done, f"{done} of {len(job_ids)} delayed jobs promoted")

    def clean_jobs(self, queue: str, state: str, older_than_ms: int) -> ActionResult:
        self._check(Action.CLEAN)
        if state not in CLEANABLE:
            raise ActionError(f"cannot clean {state} jobs; clean one of {', '.join(CLEANABLE)}")
        cutoff = self.now - older_than_ms / 1000
        doomed = [job.id for job in self._state_set(queue, state) if _entered(job) < cutoff]
        for job_id in doomed:
            del self.jobs[job_id]
        return ActionResult("clean", f"{queue}/{state}", len(doomed), f"{len(doomed)} {state} jobs removed from {queue}")

    def drain_queue(self, queue: str) -> ActionResult:
        self._check(Action.DRAIN)
        doomed = [job.summary.id for job in self._in_queue(queue) if job.summary.state in DRAINED_STATES]
        for job_id in doomed:
            del self.jobs[job_id]
        return ActionResult("drain", queue, len(doomed), f"{len(doomed)} waiting jobs removed from {queue}")

    def pause_queue(self, queue: str) -> ActionResult:
        self._check(Action.PAUSE)
        self._known(queue)
        self.paused.add(queue)
        return ActionResult("pause", queue, 1, f"{queue} paused: workers on every host stop taking its jobs")

    def resume_queue(self, queue: str) -> ActionResult:
        self._check(Action.RESUME)
        self._known(queue)
        self.paused.discard(queue)
        return ActionResult("resume", queue, 1, f"{queue} resumed")

    # Helpers

    def _check(self, action: Action) -> None:
        check(self.identity, action)

    def _each(self, action: Action, job_ids: list[str], act: Callable[[str], object]) -> int:
        """A bulk action: the permission once, then each job on its own; returns how many succeeded."""
        self._check(action)
        done = 0
        for job_id in job_ids:
            try:
                act(job_id)
            except ActionError:
                continue
            done += 1
        return done

    def _in_queue(self, queue: str) -> list[JobDetail]:
        return [job for job in self.jobs.values() if job.summary.queue == queue]

    def _state_set(self, queue: str, state: str) -> list[JobSummary]:
        """One state set in the registry's page order: next to run first, else newest first."""
        members = [job for job in self._in_queue(queue) if job.summary.state == state]
        ascending = JobState(state) in ASCENDING_STATES
        members.sort(key=lambda job: (_score(job), job.summary.id), reverse=not ascending)
        return [job.summary for job in members]

    def _known(self, queue: str) -> None:
        if queue not in self.queues:
            raise ActionError(f"unknown queue {queue!r}")

    def _job_in(self, job_id: str, verb: str, state: JobState) -> JobDetail:
        job = self.jobs.get(job_id)
        if job is None:
            raise ActionError(f"job {job_id!r} not found")
        if job.summary.state != state:
            raise ActionError(f"job {job_id!r} is not {state} (any more), so it cannot be {verb or 'changed'}")
        return job

    def _remove(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            raise ActionError(f"job {job_id!r} not found")
        if job.summary.state == JobState.ACTIVE:
            raise ActionError(f"job {job_id!r} is running; wait for it to finish (or fail) before removing it")
        del self.jobs[job_id]

    def _resubmit(self, job: JobDetail) -> None:
        """Back to the ready queue as the registry does it: prioritized when it has a priority."""
        state = JobState.PRIORITIZED if job.summary.priority is not None else JobState.WAITING
        summary = dataclasses.replace(
            job.summary, state=state, attempts=0, progress=0.0, started_at=None, finished_at=None, duration_ms=None
        )
        self.jobs[summary.id] = dataclasses.replace(job, summary=summary, delayed_until=None)


def _entered(summary: JobSummary) -> float:
    """When the job entered its current state, as far as the summary tells (clean's age test)."""
    return summary.finished_at or summary.started_at or summary.created_at or 0.0


def _score(job: JobDetail) -> tuple[float, float]:
    """The state set's sort score: due time for delayed, priority for prioritized, else entry time."""
    summary = job.summary
    if summary.state == JobState.DELAYED:
        return (job.delayed_until or 0.0, 0.0)
    if summary.state == JobState.PRIORITIZED:
        return (float(summary.priority or 0), summary.created_at or 0.0)
    return (_entered(summary), 0.0)


def _searchable(summary: JobSummary) -> str:
    return f"{summary.id} {json.dumps(summary.data, sort_keys=True, default=str)}".casefold()
