"""An in-memory `ConsoleSource` for the console tests: fixed jobs and a fixed clock (`StaticSource`), plus worker
processes, schedules and an audit trail (`StaticOperationsSource`), so screens can be tested and snapshotted
deterministically. tests/tui/test_source_contract.py holds it to the same contract as the operator session."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from wellqueue_tui.auth.audit import AuditEntry
from wellqueue_tui.auth.identity import LOCAL_DEV, Identity
from wellqueue_tui.auth.permissions import Action, PermissionDenied, allowed, check
from wellqueue_tui.jobs.actions import BATCH, CLEANABLE, ActionError, ActionResult
from wellqueue_tui.jobs.failure_groups import FailureGroup, Progress
from wellqueue_tui.jobs.kind import all_kinds
from wellqueue_tui.jobs.limits import (
    CONFIG,
    LIMIT_FIELDS,
    LimitChange,
    LimitError,
    limits_from,
    parse_concurrency,
    parse_rate,
)
from wellqueue_tui.jobs.models import (
    STATES,
    JobDetail,
    JobPage,
    JobState,
    JobSummary,
    MinuteStats,
    PayloadChange,
    QueueCounts,
    QueueLimits,
    count_field,
    newest_failure_first,
)
from wellqueue_tui.jobs.queue_config import QueueConfig, queue_config
from wellqueue_tui.jobs.registry import ASCENDING_STATES
from wellqueue_tui.jobs.search import SEARCH_ORDER, SearchMatch, SearchProgress
from wellqueue_tui.jobs.search_query import SearchQuery, matches
from wellqueue_tui.jobs.signature import GROUP_FIELDS, group_fields, group_id, signature
from wellqueue_tui.settings import get_settings
from wellqueue_tui.workers.schedules import (
    Schedule,
    ScheduleNotFound,
    ScheduleState,
    ScheduleStatus,
    render_payload,
    schedule_status,
)
from wellqueue_tui.workers.supervisor import MAX_PROCESSES_PER_GROUP
from wellqueue_tui.workers.worker_records import ControlError, WorkerInfo, WorkerState

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
        self.cancel_requests: dict[str, str] = {}  # job id -> who asked (a worker would stop it)
        self.queues: list[str] = list(dict.fromkeys([*queues, *(job.summary.queue for job in self.jobs.values())]))
        self.paused: set[str] = set(paused)
        self.stats = dict(throughput or {})
        self.kinds: dict[str, Any] | None = None  # job kinds checking payloads; None: the built-in pack
        self.limit_fields: dict[str, dict[str, int]] = {}  # queue -> its limit hash, as Redis would hold it

    # Reads

    def server_time(self) -> float:
        return self.now

    def all_counts(self) -> list[QueueCounts]:
        return [self.queue_counts(queue) for queue in self.queues]

    def queue_counts(self, queue: str) -> QueueCounts:
        counts = {count_field(state): 0 for state in STATES}
        for job in self._in_queue(queue):
            counts[count_field(job.summary.state)] += 1
        return QueueCounts(queue=queue, paused=queue in self.paused, limits=self._limits(queue), **counts)

    def list_jobs(self, queue: str, state: str, offset: int = 0, limit: int = 50) -> JobPage:
        members = self._state_set(queue, state)
        return JobPage(queue, state, len(members), offset, members[offset : offset + limit])

    def search_jobs(self, queue: str, state: str, text: str, limit: int = 50) -> JobPage:
        needle = text.casefold()
        hits = [job for job in self._state_set(queue, state) if needle in _searchable(job)]
        return JobPage(queue, state, len(hits), 0, hits[:limit])

    def get_job(self, job_id: str) -> JobDetail | None:
        return self.jobs.get(job_id)

    # Fix and re-run: payloads checked by the real job kinds (the WellFlow pack unless a test sets `kinds`)

    def check_payload(self, queue: str, data: object) -> list[str]:
        from wellqueue_tui.jobs.edit import payload_problems
        from wellqueue_tui.jobs.kind import all_kinds

        kinds = self.kinds if self.kinds is not None else all_kinds()
        if queue not in kinds:
            return [f"unknown queue {queue!r}; known queues: {', '.join(sorted(kinds))}"]
        return payload_problems(kinds[queue], data)

    def example_payload(self, queue: str) -> dict:
        from wellqueue_tui.jobs.kind import all_kinds

        kinds = self.kinds if self.kinds is not None else all_kinds()
        kind = kinds.get(queue)
        return dict(kind.example or {}) if kind is not None else {}

    def retry_with_data(self, job_id: str, queue: str, data: object) -> ActionResult:
        self._check(Action.RETRY)
        problems = self.check_payload(queue, data)
        if problems:
            raise ActionError(f"the edited payload is not valid for {queue}: {'; '.join(problems)}")
        job = self._job_in(job_id, "edited", JobState.FAILED)
        change = PayloadChange(self.now, self.identity.sub, json.dumps(job.summary.data, sort_keys=True))
        assert isinstance(data, dict)
        edited = dataclasses.replace(job.summary, data=data)
        self._resubmit(dataclasses.replace(job, summary=edited, history=[*job.history, change]))
        return ActionResult("retry_edited", job_id, 1, f"job {job_id} queued again with the edited payload")

    def submit_job(self, queue: str, data: object) -> ActionResult:
        self._check(Action.ENQUEUE)
        problems = self.check_payload(queue, data)
        if problems:
            raise ActionError(f"the payload is not valid for {queue}: {'; '.join(problems)}")
        assert isinstance(data, dict)
        template = next(job for job in self._all_jobs() if job.summary.queue == queue)
        job_id = f"{queue}-new-{len(self.jobs)}"
        summary = dataclasses.replace(
            template.summary,
            id=job_id,
            state=str(JobState.WAITING),
            data=data,
            priority=None,
            attempts=0,
            progress=0.0,
            created_at=self.now,
            started_at=None,
            finished_at=None,
            duration_ms=None,
            error=None,
        )
        self.jobs[job_id] = JobDetail(summary, {}, None, None, None, None)
        return ActionResult("enqueue", job_id, 1, f"job {job_id} enqueued on {queue}")

    def search(self, query: SearchQuery, show: int = 200) -> Iterator[SearchProgress]:
        """The core's walk in one step: the chosen sets in queue and state order, each in its page order."""
        queues = list(query.queues) or sorted(self.queues)
        states = sorted(query.states or [str(state) for state in STATES], key=lambda s: SEARCH_ORDER.index(JobState(s)))
        org = self.identity.org
        walked = [
            job
            for state in states
            for queue in queues
            for job in self._state_set(queue, state)
            if org is None or job.org == org
        ]
        yield SearchProgress(0, len(walked), sets=len(queues) * len(states))
        hits = [job for job in walked if matches(query, job, self.now)]
        found = tuple(SearchMatch(job.id, job.queue, job.state) for job in hits)
        yield SearchProgress(len(walked), len(walked), found, tuple(hits[:show]), sets=len(queues) * len(states))
        yield SearchProgress(len(walked), len(walked), done=True, sets=len(queues) * len(states))

    def retry_matches(
        self, job_ids: list[str], query: str, progress: Callable[[int, int], bool] | None = None
    ) -> ActionResult:
        self._check(Action.RETRY_ALL)
        done = self._batched(
            job_ids, lambda job_id: self._resubmit(self._job_in(job_id, "", JobState.FAILED)), progress
        )
        return ActionResult(
            "retry_matches", f"search: {query}", done, f"{done} of {len(job_ids)} matching jobs queued again"
        )

    def remove_matches(
        self, job_ids: list[str], query: str, progress: Callable[[int, int], bool] | None = None
    ) -> ActionResult:
        self._check(Action.REMOVE)
        done = self._batched(job_ids, self._remove, progress)
        return ActionResult(
            "remove_matches", f"search: {query}", done, f"{done} of {len(job_ids)} matching jobs removed"
        )

    def throughput(self, queue: str, minutes: int = 60) -> list[MinuteStats]:
        first = int(self.now // 60) - minutes + 1
        return [stat for stat in self.stats.get(queue, []) if stat.minute >= first]

    def recent_failures(self, limit: int = 10) -> list[JobSummary]:
        failed = [job for queue in self.queues for job in self._state_set(queue, JobState.FAILED)[:limit]]
        return sorted(failed, key=newest_failure_first)[:limit]

    def can(self, action: str) -> bool:
        return allowed(self.identity.role, Action(action))

    # Actions: the permission check first, as `OperatorSession.perform` does

    def retry_job(self, job_id: str) -> ActionResult:
        self._check(Action.RETRY)
        self._resubmit(self._job_in(job_id, "retried", JobState.FAILED))
        return ActionResult("retry", job_id, 1, f"job {job_id} queued again")

    def retry_jobs(self, job_ids: list[str]) -> ActionResult:
        done = self._each(
            Action.RETRY, job_ids, lambda job_id: self._resubmit(self._job_in(job_id, "", JobState.FAILED))
        )
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

    def cancel_job(self, job_id: str) -> ActionResult:
        self._check(Action.CANCEL)
        job = self.jobs.get(job_id)
        if job is None:
            raise ActionError(f"job {job_id!r} not found")
        if job.summary.state != JobState.ACTIVE:
            raise ActionError(f"job {job_id!r} is not running (it is {job.summary.state}); remove it instead")
        self.cancel_requests[job_id] = self.identity.sub
        return ActionResult(
            "cancel", job_id, 1, f"job {job_id} cancelled: it stops at its next check or after the grace"
        )

    def remove_jobs(self, job_ids: list[str]) -> ActionResult:
        done = self._each(Action.REMOVE, job_ids, self._remove)
        return ActionResult("remove", f"{len(job_ids)} selected", done, f"{done} of {len(job_ids)} jobs removed")

    def promote_job(self, job_id: str) -> ActionResult:
        self._check(Action.PROMOTE)
        self._resubmit(self._job_in(job_id, "promoted", JobState.DELAYED))
        return ActionResult("promote", job_id, 1, f"job {job_id} will run now")

    def promote_jobs(self, job_ids: list[str]) -> ActionResult:
        done = self._each(
            Action.PROMOTE, job_ids, lambda job_id: self._resubmit(self._job_in(job_id, "", JobState.DELAYED))
        )
        return ActionResult(
            "promote", f"{len(job_ids)} selected", done, f"{done} of {len(job_ids)} delayed jobs promoted"
        )

    def clean_jobs(self, queue: str, state: str, older_than_ms: int) -> ActionResult:
        self._check(Action.CLEAN)
        if state not in CLEANABLE:
            raise ActionError(f"cannot clean {state} jobs; clean one of {', '.join(CLEANABLE)}")
        cutoff = self.now - older_than_ms / 1000
        doomed = [job.id for job in self._state_set(queue, state) if _entered(job) < cutoff]
        for job_id in doomed:
            del self.jobs[job_id]
        return ActionResult(
            "clean", f"{queue}/{state}", len(doomed), f"{len(doomed)} {state} jobs removed from {queue}"
        )

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

    # Failure groups: computed from the failed jobs on each call, as the finish script files them

    def failure_groups(self, limit: int = 200) -> list[FailureGroup]:
        if self.identity.org:
            raise PermissionDenied(
                self.identity, Action.VIEW, "failure groups cover every organization; use a token without an org"
            )
        members: dict[str, list[JobSummary]] = {}
        for job in self._all_jobs():
            if job.summary.state == JobState.FAILED:
                members.setdefault(group_id(signature(job.summary.error or "")), []).append(job.summary)
        groups = [_failure_group(gid, jobs) for gid, jobs in members.items()]
        return sorted(groups, key=lambda group: (-group.count, group.id))[: max(limit, 0)]

    def failure_group(self, group_id: str) -> FailureGroup | None:
        if self.identity.org:
            return None
        return next((group for group in self.failure_groups(10**9) if group.id == group_id), None)

    def failure_group_jobs(self, group_id: str, offset: int = 0, limit: int = 50) -> JobPage:
        members = [] if self.identity.org else self._group_members(group_id)
        return JobPage("", "failed", len(members), offset, members[offset : offset + max(limit, 0)])

    def retry_failure_group(self, group_id: str, progress: Progress | None = None) -> ActionResult:
        return self._act_on_group(
            group_id,
            Action.RETRY_ALL,
            "retry_group",
            "queued again",
            lambda job_id: self._resubmit(self.jobs[job_id]),
            progress,
        )

    def remove_failure_group(self, group_id: str, progress: Progress | None = None) -> ActionResult:
        return self._act_on_group(group_id, Action.REMOVE, "remove_group", "removed", self.jobs.pop, progress)

    def _act_on_group(
        self,
        group_id: str,
        action: Action,
        name: str,
        done: str,
        act: Callable[[str], object],
        progress: Progress | None,
    ) -> ActionResult:
        self._unscoped_failures(action)
        members = self._group_members(group_id)
        for summary in members:
            act(summary.id)
        if progress is not None:
            progress(len(members), len(members))
        what = signature(members[0].error or "") if members else "(group gone)"
        return ActionResult(
            name, group_id, len(members), f"{len(members)} of {len(members)} failed jobs {done}: {what}"
        )

    def _unscoped_failures(self, action: Action) -> None:
        self._check(action)
        if self.identity.org:
            raise PermissionDenied(
                self.identity, action, "failure groups cover every organization; use a token without an org"
            )

    def _all_jobs(self) -> list[JobDetail]:
        """A snapshot of every job: the console reads in threads while actions add and remove jobs (Redis
        isolates those in the product; iterating the live dict here can fail with "changed size")."""
        return list(self.jobs.values())

    def _group_members(self, gid: str) -> list[JobSummary]:
        """The group's failed jobs, the latest to fail first (ties: by id, descending, as a Redis ZREVRANGE)."""
        members = [
            job.summary
            for job in self._all_jobs()
            if job.summary.state == JobState.FAILED and group_id(signature(job.summary.error or "")) == gid
        ]
        return sorted(members, key=lambda job: (job.finished_at or 0.0, job.id), reverse=True)

    # Queue settings: the same hash fields the limit store writes, read through the product's own parser

    def set_queue_limit(self, queue: str, rate: str | None = None, concurrency: str | None = None) -> ActionResult:
        self._check(Action.LIMIT)
        if self.identity.org:
            raise ActionError(f"limiting {queue} affects every organization; ask an unscoped operator")
        self._known(queue)
        change = LimitChange(rate, concurrency)
        try:
            change.validate()
        except LimitError as exc:
            raise ActionError(str(exc)) from None
        fields = self.limit_fields.setdefault(queue, {})
        if rate is not None and rate.strip().lower() == CONFIG:
            fields.pop("op_max", None)
            fields.pop("op_duration", None)
        elif rate is not None:
            parsed = parse_rate(rate)
            fields.update(op_max=parsed.max if parsed else 0, op_duration=parsed.duration_ms if parsed else 0)
        if concurrency is not None and concurrency.strip().lower() == CONFIG:
            fields.pop("op_concurrency", None)
        elif concurrency is not None:
            fields["op_concurrency"] = parse_concurrency(concurrency) or 0
        summary = self._limits(queue).summary()
        return ActionResult("limit", queue, 1, f"{queue} limits: {summary} ({change.describe()})")

    def queue_config(self, queue: str) -> QueueConfig:
        settings = get_settings()
        kind = all_kinds(settings.kind_modules).get(queue)
        if kind is None:
            raise ActionError(f"no job kind is loaded for queue {queue!r} here")
        return queue_config(settings, kind, self._limits(queue))

    def _limits(self, queue: str) -> QueueLimits:
        fields = self.limit_fields.get(queue, {})
        return limits_from([fields.get(name) for name in LIMIT_FIELDS])

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

    def _batched(
        self, job_ids: list[str], act: Callable[[str], object], progress: Callable[[int, int], bool] | None
    ) -> int:
        """A bulk action on matches, in the core's batches: progress after each, stopping when told to."""
        done = 0
        for start in range(0, len(job_ids), BATCH):
            for job_id in job_ids[start : start + BATCH]:
                try:
                    act(job_id)
                except ActionError:
                    continue
                done += 1
            handled = min(start + BATCH, len(job_ids))
            if progress is not None and not progress(handled, len(job_ids)) and handled < len(job_ids):
                break
        return done

    def _in_queue(self, queue: str) -> list[JobDetail]:
        return [job for job in self._all_jobs() if job.summary.queue == queue]

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


class StaticOperationsSource(StaticSource):
    """A `StaticSource` that also holds worker processes, schedules, a scheduler leader and an audit trail.

    Its actions change that data the way the supervisor and the scheduler would, at once: scaling adds
    running processes or marks the newest ones stopping, a restart starts a fresh process, running a
    schedule now adds the `manual:` job that `enqueue` would create and records it as the schedule's last run.
    """

    def __init__(
        self,
        jobs: Iterable[JobDetail],
        *,
        workers: Iterable[WorkerInfo] = (),
        schedules: Iterable[Schedule] = (),
        schedule_states: Mapping[str, ScheduleState] | None = None,
        audit: Iterable[AuditEntry] = (),
        scheduler_leader: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(jobs, **options)
        self.processes: dict[str, WorkerInfo] = {worker.id: worker for worker in workers}
        self.schedule_definitions: dict[str, Schedule] = {schedule.name: schedule for schedule in schedules}
        self.schedule_states: dict[str, ScheduleState] = dict(schedule_states or {})
        self.audit_trail: list[AuditEntry] = sorted(audit, key=lambda entry: entry.at, reverse=True)
        self.leader = scheduler_leader

    # Reads

    def workers(self) -> list[WorkerInfo]:
        """Every process, heartbeat ages measured on the fixed clock (as `list_workers` measures on Redis's)."""
        return [
            dataclasses.replace(worker, heartbeat_age_s=max(0.0, self.now - worker.heartbeat))
            for worker in sorted(self.processes.values(), key=lambda worker: worker.id)
        ]

    def scheduler_leader(self) -> str | None:
        return self.leader

    def schedules(self) -> list[ScheduleStatus]:
        """The schedules as `ScheduleStore.overview` reports them at the fixed clock's time."""
        now = datetime.fromtimestamp(self.now, UTC)
        definitions = sorted(self.schedule_definitions.values(), key=lambda schedule: schedule.name)
        return [
            schedule_status(schedule, self.schedule_states.get(schedule.name, ScheduleState()), now)
            for schedule in definitions
        ]

    def audit_entries(self, limit: int = 200) -> list[AuditEntry]:
        self._check(Action.VIEW_AUDIT)
        return self.audit_trail[:limit]

    # Actions

    def scale_workers(self, target: str, group: str, delta: int) -> ActionResult:
        """Scale `group` on the one supervisor `target` names, within the supervisor's bounds."""
        self._check(Action.SCALE_WORKERS)
        if delta == 0:
            raise ControlError("scale: delta must be +N or -N, not 0")
        supervisor = self._supervisor(target)
        live = sorted(
            (
                worker
                for worker in self.processes.values()
                if worker.supervisor == supervisor
                and worker.group == group
                and worker.state not in (WorkerState.STOPPING, WorkerState.STOPPED)
            ),
            key=_slot,
        )
        if not live:
            raise ControlError(f"no worker group {group!r} on {supervisor}; pick a row of that group")
        count = len(live) + delta
        if not 1 <= count <= MAX_PROCESSES_PER_GROUP:
            raise ControlError(
                f"group {group!r} would have {count} processes; keep it between 1 and {MAX_PROCESSES_PER_GROUP}"
            )
        for worker in live[count:]:
            self.processes[worker.id] = dataclasses.replace(worker, state=str(WorkerState.STOPPING))
        template = live[-1]
        next_slot = (
            max(
                _slot(worker)
                for worker in self.processes.values()
                if worker.supervisor == supervisor and worker.group == group
            )
            + 1
        )
        for slot in range(next_slot, next_slot + max(delta, 0)):
            worker_id = f"{supervisor}:{group}:{slot}"
            self.processes[worker_id] = dataclasses.replace(
                template,
                id=worker_id,
                state=str(WorkerState.RUNNING),
                pid=self._next_pid(),
                started=self.now,
                restarts=0,
                last_exit_code=None,
                active=0,
                last_error=None,
                heartbeat=self.now,
                problem=None,
            )
        verb = "add" if delta > 0 else "remove"
        return ActionResult(
            "scale_workers",
            f"{supervisor}/{group}",
            abs(delta),
            f"asked {supervisor} to {verb} {abs(delta)} {group} process(es)",
        )

    def restart_worker(self, worker_id: str) -> ActionResult:
        self._check(Action.RESTART_WORKER)
        worker = self.processes.get(worker_id)
        if worker is None or worker.state == WorkerState.STOPPED:
            raise ControlError(f"no worker process {worker_id!r} (it may have stopped); refresh the workers screen")
        self.processes[worker_id] = dataclasses.replace(
            worker,
            state=str(WorkerState.RUNNING),
            pid=self._next_pid(),
            started=self.now,
            restarts=worker.restarts + 1,
            active=0,
            heartbeat=self.now,
        )
        return ActionResult("restart_worker", worker_id, 1, f"asked {worker.supervisor} to restart {worker_id}")

    def pause_schedule(self, name: str) -> ActionResult:
        self._check(Action.SCHEDULE_PAUSE)
        return self._set_enabled(name, False)

    def resume_schedule(self, name: str) -> ActionResult:
        self._check(Action.SCHEDULE_RESUME)
        return self._set_enabled(name, True)

    def run_schedule_now(self, name: str) -> ActionResult:
        """Enqueue the schedule's job as `manual:{name}:{ms}` (paused or not), as `scheduler.run_schedule_now` does."""
        self._check(Action.RUN_SCHEDULE)
        schedule = self._schedule(name)
        moment = datetime.fromtimestamp(self.now, UTC)
        job_id = f"manual:{name}:{int(self.now * 1000)}"
        if job_id not in self.jobs:  # enqueue is idempotent on the job id
            payload = render_payload(schedule.payload, schedule.timezone, moment)
            self.jobs[job_id] = self._enqueued_job(job_id, schedule.queue, payload)
        self.schedule_states[name] = ScheduleState(last_fire_utc=moment, last_job_id=job_id)
        return ActionResult("run_schedule", name, 1, f"schedule {name} enqueued job {job_id}")

    # Helpers

    def _supervisor(self, target: str) -> str:
        """The one live supervisor a host name or supervisor id names (errors as `request_scale` words them)."""
        supervisors = sorted(
            {
                worker.supervisor
                for worker in self.processes.values()
                if target in (worker.host, worker.supervisor)
                and worker.supervisor
                and worker.state != WorkerState.STOPPED
            }
        )
        if not supervisors:
            raise ControlError(f"no running supervisor on {target!r}; check the host name on the workers screen")
        if len(supervisors) > 1:
            raise ControlError(
                f"{target!r} runs {len(supervisors)} supervisors ({', '.join(supervisors)}); "
                "name one of them instead of the host"
            )
        return supervisors[0]

    def _next_pid(self) -> int:
        return max((worker.pid or 0 for worker in self.processes.values()), default=1000) + 1

    def _schedule(self, name: str) -> Schedule:
        schedule = self.schedule_definitions.get(name)
        if schedule is None:
            raise ScheduleNotFound(f"no schedule named {name!r}; `wellqueue schedules list` shows them")
        return schedule

    def _set_enabled(self, name: str, enabled: bool) -> ActionResult:
        self.schedule_definitions[name] = self._schedule(name).model_copy(update={"enabled": enabled})
        action = "schedule_resume" if enabled else "schedule_pause"
        return ActionResult(action, name, 1, f"schedule {name} {'resumed' if enabled else 'paused'}")

    def _enqueued_job(self, job_id: str, queue: str, payload: dict) -> JobDetail:
        """The job `enqueue` would create, not yet run: validated by its kind, prioritized when its options say so
        (an urgent e-mail)."""
        # The job kinds import their libraries: only when a test runs a schedule.
        from wellqueue_tui.jobs import prepare_message
        from wellqueue_tui.jobs.kind import all_kinds

        message, _delay = prepare_message(SimpleNamespace(kinds=all_kinds()), queue, payload, job_id=job_id)
        priority = message.options.get("wq_priority")
        summary = JobSummary(
            id=job_id,
            queue=queue,
            kind=message.actor_name,
            state=str(JobState.PRIORITIZED if priority is not None else JobState.WAITING),
            data=payload,
            priority=priority,
            attempts=0,
            max_attempts=message.options["wq_attempts"],
            progress=0.0,
            created_at=self.now,
            started_at=None,
            finished_at=None,
            duration_ms=None,
            error=None,
            org=None,
        )
        if queue not in self.queues:
            self.queues.append(queue)
        return JobDetail(summary=summary, options={}, delayed_until=None, worker=None, traceback=None, result=None)


def _failure_group(gid: str, members: list[JobSummary]) -> FailureGroup:
    """A group as the finish script keeps it: counts per queue and hour, top values per field (ZREVRANGE order)."""
    latest = max(members, key=lambda job: (job.finished_at or 0.0, job.id))
    queues: dict[str, int] = {}
    hourly: dict[int, int] = {}
    values: dict[str, dict[str, int]] = {}
    for job in members:
        queues[job.queue] = queues.get(job.queue, 0) + 1
        hour = int((job.finished_at or 0.0) // 3600)
        hourly[hour] = hourly.get(hour, 0) + 1
        for name, value in group_fields(job.data).items():
            values.setdefault(name, {})[value] = values.setdefault(name, {}).get(value, 0) + 1
    seen = [job.finished_at for job in members if job.finished_at is not None]
    return FailureGroup(
        id=gid,
        signature=signature(latest.error or ""),
        count=len(members),
        first_seen=min(seen) if seen else None,
        last_seen=max(seen) if seen else None,
        error=(latest.error or "")[:500],
        queues=dict(sorted(queues.items(), key=lambda item: (-item[1], item[0]))),
        hourly=hourly,
        top_values={
            name: sorted(values[name].items(), key=lambda item: (item[1], item[0]), reverse=True)[:3]
            for name, _path in GROUP_FIELDS
            if name in values
        },
    )


def _slot(worker: WorkerInfo) -> int:
    """The slot number ending a process id `{host}:{supervisor_pid}:{group}:{slot}` (-1 if it has none)."""
    tail = worker.id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else -1


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
