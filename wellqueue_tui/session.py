"""An operator's view of the system: registry reads scoped to their tenant, and actions that pass the
permission table and leave one audit entry each. The console, the CLI and the REST API all go through it.

A token with an org sees only that organization's jobs, schedules and audit entries, and worker records
without what came from other organizations' jobs."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

import redis

from .auth.audit import AuditLog, AuditPage, Outcome
from .auth.identity import Identity
from .auth.permissions import Action, PermissionDenied, allowed, check
from .connection import reply_text
from .health.alert_rules import AlertRule, AlertStore
from .health.alert_state import AlertState
from .health.alerts import HistoryEntry, alert_history, alert_states, firing_alerts
from .health.breaker import BreakerStore
from .health.breaker_state import BreakerState
from .health.queue_health import QueueHealth, read_health
from .health.timeline import TimelineEvent, read_timeline
from .jobs import actions, bulk, edit
from .jobs.actions import ActionError, ActionResult
from .jobs.failure_groups import FailureGroup, FailureGroups, Progress, group_jobs, remove_group, retry_group
from .jobs.flows import FlowJob, FlowSpec
from .jobs.key_types import name_wrong_type
from .jobs.kind import JobKind, all_kinds
from .jobs.limits import LimitChange, LimitError, LimitStore
from .jobs.models import JobDetail, JobPage, JobSummary, MinuteStats, QueueCounts, QueueLimits, newest_failure_first
from .jobs.queue_config import QueueConfig, queue_config
from .jobs.registry import Registry
from .jobs.search import SearchProgress, scan
from .jobs.search_query import SearchQuery
from .jobs.submission import find_kind
from .sanitize import safe_str
from .settings import get_settings
from .workers.scheduler import run_schedule_now
from .workers.schedules import TENANT_FIELD, ScheduleStatus, ScheduleStore
from .workers.worker_records import ControlError, WorkerInfo, WorkerRecords

EnqueueFn = Callable[..., str]
#: Who a target belongs to: its organization (anything but a non-empty str counts as none), or a function
#: that looks it up before the action runs.
TargetOrg = object | Callable[[], object]
P = ParamSpec("P")
R = TypeVar("R")


def naming_wrong_keys(method: Callable[P, R]) -> Callable[P, R]:
    """Turn Redis's WRONGTYPE (which names no key) into a WrongKeyType naming the fixed key at fault."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except redis.ResponseError as exc:
            named = name_wrong_type(args[0].registry.client, args[0].registry.keys, exc)  # type: ignore[attr-defined]
            if named is None or named is exc:
                raise
            raise named from exc

    return call


class OperatorSession:
    def __init__(
        self,
        registry: Registry,
        identity: Identity,
        audit: AuditLog | None = None,
        enqueue_fn: EnqueueFn | None = None,
        kinds: dict[str, JobKind] | None = None,
    ) -> None:
        self.registry = registry
        self._kinds = kinds  # queue -> kind, for checking edited payloads; None: the built-in pack
        self.identity = identity
        # Every store of this session is built here, once, from the registry's key schema.
        self.audit = audit or AuditLog(registry.client, registry.keys.audit)
        self.enqueue_fn = enqueue_fn  # for running a schedule now; None where nothing may be enqueued
        self.schedule_store = ScheduleStore(registry.client, registry.keys, org=identity.org)
        self.worker_records = WorkerRecords(registry.client, registry.keys)
        self.alert_store = AlertStore(registry.client, registry.keys)
        self.breaker_store = BreakerStore(registry.client, registry.keys)

    @property
    def org(self) -> str | None:
        return self.identity.org

    def can(self, action: str) -> bool:
        return allowed(self.identity.role, Action(action))

    # -- reads (scoped to the identity's organization) -------------------------------------
    @naming_wrong_keys
    def ping(self) -> bool:
        return self.registry.ping()

    @naming_wrong_keys
    def server_time(self) -> float:
        return self.registry.server_time()

    @naming_wrong_keys
    def known_queues(self) -> list[str]:
        return self.registry.known_queues()

    @naming_wrong_keys
    def all_counts(self) -> list[QueueCounts]:
        return self.registry.all_counts(org=self.org)

    @naming_wrong_keys
    def queue_counts(self, queue: str) -> QueueCounts:
        return self.registry.queue_counts(queue, org=self.org)

    @naming_wrong_keys
    def list_jobs(self, queue: str, state: str, offset: int = 0, limit: int = 50) -> JobPage:
        return self.registry.list_jobs(queue, state, offset, limit, org=self.org)

    @naming_wrong_keys
    def search_jobs(self, queue: str, state: str, text: str, limit: int = 50) -> JobPage:
        return self.registry.search_jobs(queue, state, text, limit, org=self.org)

    @naming_wrong_keys
    def get_job(self, job_id: str) -> JobDetail | None:
        return self.registry.get_job(job_id, org=self.org)

    @naming_wrong_keys
    def throughput(self, queue: str, minutes: int = 60) -> list[MinuteStats]:
        # Per-minute counters are per queue, not per tenant: a scoped operator sees no cross-tenant totals.
        return [] if self.org else self.registry.throughput(queue, minutes)

    @naming_wrong_keys
    def recent_failures(self, limit: int = 10) -> list[JobSummary]:
        """The newest `limit` failed jobs across every queue: each queue's newest `limit`, merged, newest first."""
        if limit <= 0:
            return []  # a page of 0 would be ZREVRANGE 0 -1: the whole set
        failed = [
            job
            for queue in self.known_queues()
            for job in self.registry.list_jobs(queue, "failed", 0, limit, org=self.org).jobs
        ]
        return sorted(failed, key=newest_failure_first)[:limit]

    @naming_wrong_keys
    def search(self, query: SearchQuery, show: int = 200) -> Iterator[SearchProgress]:
        """Every job of this identity's organization (all of them when unscoped) that fits `query`, found
        step by step across queues and states; stop iterating to cancel."""
        return scan(self.registry, query, org=self.org, show=show)

    @naming_wrong_keys
    def workers(self) -> list[WorkerInfo]:
        """Worker processes on every host (what any console on any host sees). A token with an org does not
        see a process's last error line: it comes from whichever organization's job failed last."""
        workers = self.worker_records.list_workers()
        if self.org:
            return [dataclasses.replace(worker, last_error=None) for worker in workers]
        return workers

    @naming_wrong_keys
    def schedules(self) -> list[ScheduleStatus]:
        return self.schedule_store.overview(datetime.now(UTC))

    @naming_wrong_keys
    def scheduler_leader(self) -> str | None:
        """Who runs the cron schedules now (`host:pid:…`), or None when no scheduler holds the lease."""
        holder = self.registry.client.get(self.registry.keys.leader)
        return reply_text(holder, "replace") if holder else None

    @naming_wrong_keys
    def audit_entries(self, limit: int = 200) -> list:
        """The newest audit entries this identity may see (a token with an org: its organization's only)."""
        return self.audit_page(limit).entries

    @naming_wrong_keys
    def audit_page(self, limit: int = 200, before_id: str | None = None) -> AuditPage:
        check(self.identity, Action.VIEW_AUDIT)
        return self.audit.page(limit, before_id=before_id, org=self.org)

    # -- actions ----------------------------------------------------------------------------
    @naming_wrong_keys
    def perform(
        self, action: Action, target: str, run: Callable[[], ActionResult], target_org: TargetOrg = None
    ) -> ActionResult:
        """Check the permission (before any Redis write), run the action, and audit the outcome. An action
        that happened is reported as done even when its audit entry cannot be written (see `warning`)."""
        try:
            check(self.identity, action)
        except PermissionDenied as exc:
            self._audit(action, target, 0, "denied", str(exc))
            raise
        owner = self._owner(target_org)
        try:
            result = run()
        except (ActionError, ValueError, ControlError) as exc:
            self._audit(action, target, 0, "error", str(exc), owner)
            raise
        warning = self._audit(action, target, result.count, "ok", result.message, owner)
        return dataclasses.replace(result, warning=warning) if warning else result

    def _audit(
        self, action: Action, target: str, count: int, outcome: Outcome, detail: str, target_org: str | None = None
    ) -> str | None:
        """Record one entry; a failed write comes back as a warning (the log keeps the entry and retries it)."""
        try:
            self.audit.record(self.identity, action, target, count, outcome, detail, target_org=target_org)
        except redis.RedisError as exc:
            return f"{action} was done, but {exc}" if outcome == "ok" else str(exc)
        return None

    def _owner(self, target_org: TargetOrg) -> str | None:
        """The target's organization for the audit entry: a token with an org acts on its own only."""
        if self.org:
            return self.org
        try:
            owner = target_org() if callable(target_org) else target_org
        except (redis.RedisError, ValueError):  # an unreadable target still gets its audit entry
            return None
        return owner if isinstance(owner, str) and owner else None

    def _job_org(self, job_id: str) -> str | None:
        raw = self.registry.client.hget(self.registry.keys.job(job_id), "org")
        owner = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return owner or None

    def schedule_org(self, name: str) -> str | None:
        """The organization of schedule `name`, if it has one and this identity may see it."""
        schedule = self.schedule_store.get(name)
        return schedule.org if schedule else None

    def retry_job(self, job_id: str) -> ActionResult:
        return self.perform(
            Action.RETRY,
            job_id,
            lambda: actions.retry_job(self.registry, job_id, org=self.org),
            lambda: self._job_org(job_id),
        )

    def retry_jobs(self, job_ids: list[str]) -> ActionResult:
        return self.perform(
            Action.RETRY, ",".join(job_ids)[:200], lambda: actions.retry_jobs(self.registry, job_ids, org=self.org)
        )

    def retry_all_failed(self, queue: str) -> ActionResult:
        return self.perform(
            Action.RETRY_ALL, queue, lambda: actions.retry_all_failed(self.registry, queue, org=self.org)
        )

    def promote_job(self, job_id: str) -> ActionResult:
        return self.perform(
            Action.PROMOTE,
            job_id,
            lambda: actions.promote_job(self.registry, job_id, org=self.org),
            lambda: self._job_org(job_id),
        )

    def promote_jobs(self, job_ids: list[str]) -> ActionResult:
        return self.perform(
            Action.PROMOTE, ",".join(job_ids)[:200], lambda: actions.promote_jobs(self.registry, job_ids, org=self.org)
        )

    def remove_job(self, job_id: str) -> ActionResult:
        return self.perform(
            Action.REMOVE,
            job_id,
            lambda: actions.remove_job(self.registry, job_id, org=self.org),
            lambda: self._job_org(job_id),
        )

    def cancel_job(self, job_id: str) -> ActionResult:
        return self.perform(
            Action.CANCEL,
            job_id,
            lambda: actions.cancel_job(self.registry, job_id, self.identity.sub, org=self.org),
            lambda: self._job_org(job_id),
        )

    def remove_jobs(self, job_ids: list[str]) -> ActionResult:
        return self.perform(
            Action.REMOVE, ",".join(job_ids)[:200], lambda: actions.remove_jobs(self.registry, job_ids, org=self.org)
        )

    def retry_matches(self, job_ids: list[str], query: str, progress: bulk.Progress | None = None) -> ActionResult:
        """Retry every failed job of a search's matches, in batches; one audit entry with the count."""
        target = f"search: {query}"[:200]
        return self.perform(
            Action.RETRY_ALL,
            target,
            lambda: bulk.retry_matches(self.registry, job_ids, target, org=self.org, progress=progress),
        )

    def remove_matches(self, job_ids: list[str], query: str, progress: bulk.Progress | None = None) -> ActionResult:
        """Remove every job of a search's matches that is not running, in batches; one audit entry."""
        target = f"search: {query}"[:200]
        return self.perform(
            Action.REMOVE,
            target,
            lambda: bulk.remove_matches(self.registry, job_ids, target, org=self.org, progress=progress),
        )

    # -- fix and re-run --------------------------------------------------------------------------
    @property
    def kinds(self) -> dict[str, JobKind]:
        if self._kinds is None:
            self._kinds = all_kinds()
        return self._kinds

    def check_payload(self, queue: str, data: object) -> list[str]:
        """What `queue`'s job kind refuses in `data` (none: it would be accepted). Does not touch Redis."""
        try:
            kind = find_kind(queue, self.kinds)
        except ValueError as exc:
            return [str(exc)]
        return edit.payload_problems(kind, data)

    def retry_with_data(self, job_id: str, queue: str, data: object) -> ActionResult:
        """Retry failed job `job_id` with a corrected payload (checked first); the old one stays in its history."""

        def run() -> ActionResult:
            problems = self.check_payload(queue, data)
            if problems:
                raise ActionError(f"the edited payload is not valid for {queue}: {'; '.join(problems)}")
            return edit.retry_with_data(self.registry, job_id, data, by=self.identity.sub, org=self.org)

        return self.perform(Action.RETRY, job_id, run, lambda: self._job_org(job_id))

    def example_payload(self, queue: str) -> dict:
        """A valid payload of `queue`'s kind to start a new job from ({} when the kind has none)."""
        try:
            return dict(find_kind(queue, self.kinds).example or {})
        except ValueError:
            return {}

    def submit_job(self, queue: str, data: object) -> ActionResult:
        """Enqueue a new job (new id) on `queue` with `data`: a new job, a duplicate, a re-run of a completed
        one. Checked by the kind's model first; OPERATOR and up; one audit entry."""
        problems = self.check_payload(queue, data)
        if problems:
            raise ActionError(f"the payload is not valid for {queue}: {'; '.join(problems)}")
        if self.enqueue_fn is None:
            raise ActionError("this console cannot enqueue jobs (no broker); use `wellqueue enqueue`")
        enqueue_fn = self.enqueue_fn
        return self.enqueue_job(queue, data, lambda: (enqueue_fn(queue, data), True))

    def clean_jobs(self, queue: str, state: str, older_than_ms: int, limit: int = 1000) -> ActionResult:
        return self.perform(
            Action.CLEAN,
            f"{queue}/{state}",
            lambda: actions.clean_jobs(self.registry, queue, state, older_than_ms, limit, org=self.org),
        )

    def drain_queue(self, queue: str) -> ActionResult:
        return self.perform(Action.DRAIN, queue, lambda: actions.drain_queue(self.registry, queue, org=self.org))

    def pause_queue(self, queue: str) -> ActionResult:
        return self.perform(Action.PAUSE, queue, lambda: self._queue_wide(actions.pause_queue, queue))

    def resume_queue(self, queue: str) -> ActionResult:
        return self.perform(Action.RESUME, queue, lambda: self._queue_wide(actions.resume_queue, queue))

    # -- queue limits and configuration --------------------------------------------------------
    @naming_wrong_keys
    def queue_limits(self, queue: str) -> QueueLimits:
        return LimitStore(self.registry.client, self.registry.keys).read([queue])[queue]

    @naming_wrong_keys
    def queue_config(self, queue: str) -> QueueConfig:
        """The defaults a queue's jobs get and the limits in force (this process's configuration and kinds)."""
        settings = get_settings()
        kind = all_kinds(settings.kind_modules).get(queue)
        if kind is None:
            raise ActionError(safe_str(f"no job kind is loaded for queue {queue!r} here", 300))
        return queue_config(settings, kind, self.queue_limits(queue))

    def set_queue_limit(self, queue: str, rate: str | None = None, concurrency: str | None = None) -> ActionResult:
        """Set a queue's rate limit (`10/s`, `off`, `config`) and/or its cluster-wide cap on jobs in flight
        (`5`, `off`, `config`), live on every host (LIMIT; queue-wide, so not for a token with an org)."""
        change = LimitChange(rate, concurrency)

        def run() -> ActionResult:
            if self.org:
                raise ActionError(f"limiting {queue} affects every organization; ask an unscoped operator")
            if not self.registry.client.sismember(self.registry.keys.queues, queue):
                raise ActionError(safe_str(f"unknown queue {queue!r}; known queues: {', '.join(self.known_queues())}"))
            try:
                limits = change.apply(LimitStore(self.registry.client, self.registry.keys), queue)
            except LimitError as exc:
                raise ActionError(str(exc)) from None
            return ActionResult("limit", queue, 1, f"{queue} limits: {limits.summary()} ({change.describe()})")

        return self.perform(Action.LIMIT, queue, run)

    def _queue_wide(self, action: Callable[[Registry, str], ActionResult], queue: str) -> ActionResult:
        if self.org:
            raise ActionError(f"pausing or resuming {queue} affects every organization; ask an unscoped operator")
        return action(self.registry, queue)

    # -- failure groups (every queue) -------------------------------------------------------------
    def _unscoped_failures(self, action: Action) -> None:
        """Groups count every organization's failures: a token with an org is refused them (as metrics are)."""
        if self.org:
            self._refuse(
                action, "failure groups", "failure groups cover every organization; use a token without an org"
            )

    @naming_wrong_keys
    def failure_groups(self, limit: int = 200) -> list[FailureGroup]:
        """The largest failure groups across every queue, largest first."""
        if self.org:
            raise PermissionDenied(
                self.identity, Action.VIEW, "failure groups cover every organization; use a token without an org"
            )
        return FailureGroups(self.registry.client, self.registry.keys).groups(limit)

    @naming_wrong_keys
    def failure_group(self, group_id: str) -> FailureGroup | None:
        """One group as it is now (its exact count, for a preview), or None when it emptied."""
        return None if self.org else FailureGroups(self.registry.client, self.registry.keys).group(group_id)

    @naming_wrong_keys
    def failure_group_jobs(self, group_id: str, offset: int = 0, limit: int = 50) -> JobPage:
        if self.org:
            return JobPage("", "failed", 0, offset, [])
        return group_jobs(self.registry, group_id, offset, limit)

    def retry_failure_group(self, group_id: str, progress: Progress | None = None) -> ActionResult:
        """Queue every failed job of the group again, in batches; one audit entry with the count."""
        self._unscoped_failures(Action.RETRY_ALL)
        return self.perform(
            Action.RETRY_ALL,
            f"failure group {group_id}",
            lambda: retry_group(self.registry, group_id, progress=progress),
        )

    def remove_failure_group(self, group_id: str, progress: Progress | None = None) -> ActionResult:
        """Remove every failed job of the group, in batches; one audit entry with the count."""
        self._unscoped_failures(Action.REMOVE)
        return self.perform(
            Action.REMOVE, f"failure group {group_id}", lambda: remove_group(self.registry, group_id, progress=progress)
        )

    # -- workers and schedules ------------------------------------------------------------------
    def scale_workers(self, target: str, group: str, delta: int) -> ActionResult:
        """Add (delta > 0) or remove worker processes of `group` on the supervisor `target` (host or host:pid)."""

        def run() -> ActionResult:
            supervisor = self.worker_records.request_scale(target, group, delta)
            return ActionResult(
                "scale_workers",
                f"{supervisor}/{group}",
                abs(delta),
                f"asked {supervisor} to {'add' if delta > 0 else 'remove'} {abs(delta)} {group} process(es)",
            )

        return self.perform(Action.SCALE_WORKERS, f"{target}/{group}", run)

    def restart_worker(self, worker_id: str) -> ActionResult:
        def run() -> ActionResult:
            supervisor = self.worker_records.request_restart(worker_id)
            return ActionResult("restart_worker", worker_id, 1, f"asked {supervisor} to restart {worker_id}")

        return self.perform(Action.RESTART_WORKER, worker_id, run)

    def pause_schedule(self, name: str) -> ActionResult:
        return self.perform(
            Action.SCHEDULE_PAUSE, name, lambda: self._set_enabled(name, False), lambda: self.schedule_org(name)
        )

    def resume_schedule(self, name: str) -> ActionResult:
        return self.perform(
            Action.SCHEDULE_RESUME, name, lambda: self._set_enabled(name, True), lambda: self.schedule_org(name)
        )

    def _set_enabled(self, name: str, enabled: bool) -> ActionResult:
        self.schedule_store.set_enabled(name, enabled)
        return ActionResult(
            "schedule_resume" if enabled else "schedule_pause",
            name,
            1,
            f"schedule {name} {'resumed' if enabled else 'paused'}",
        )

    def run_schedule_now(self, name: str) -> ActionResult:
        def run() -> ActionResult:
            if self.enqueue_fn is None:
                raise ActionError("this console cannot enqueue jobs (no broker); use `wellqueue schedules run-now`")
            job_id = run_schedule_now(self.schedule_store, self.enqueue_fn, name, datetime.now(UTC))
            return ActionResult("run_schedule", name, 1, f"schedule {name} enqueued job {job_id}")

        return self.perform(Action.RUN_SCHEDULE, name, run, lambda: self.schedule_org(name))

    def audited(
        self, action: Action, target: str, run: Callable[[], int], target_org: TargetOrg = None
    ) -> tuple[int, str | None]:
        """For CLI commands that report through an exit code: permission first, then one audit entry.
        Returns the exit code and, when the audit entry could not be written, a warning saying so."""
        try:
            check(self.identity, action)
        except PermissionDenied as exc:
            self._audit(action, target, 0, "denied", str(exc))
            raise
        owner = self._owner(target_org)
        code = run()
        outcome: Outcome = "ok" if code == 0 else "error"
        return code, self._audit(action, target, 1 if code == 0 else 0, outcome, f"exit code {code}", owner)

    # -- health: queue figures, alerts, circuit breakers, the incident timeline -----------------------
    def queue_health(self, queues: list[str] | None = None) -> list[QueueHealth]:
        """Latency, consumers, stuck jobs and trends per queue; none for a token with an org (the figures
        cover every organization, as throughput does)."""
        if self.org:
            return []
        return read_health(self.registry.client, self.registry.keys, queues)

    def firing_alerts(self) -> list[AlertState]:
        return firing_alerts(self.registry.client, self.registry.keys)

    def alert_rules(self) -> list[AlertRule]:
        return self.alert_store.list()

    def alert_states(self) -> list[AlertState]:
        return alert_states(self.registry.client, self.registry.keys)

    def alert_history(self, limit: int = 200) -> list[HistoryEntry]:
        return alert_history(self.registry.client, self.registry.keys, limit)

    def breakers(self) -> dict[str, BreakerState]:
        """Every queue's circuit breaker state (queues without a breaker are absent)."""
        return self.breaker_store.states()

    def timeline(self, since_s: float, queue: str | None = None) -> list[TimelineEvent]:
        """What happened in the last `since_s` seconds, newest first, optionally only about `queue`."""
        now = self.server_time()
        return read_timeline(self.registry.client, self.registry.keys, now - since_s, queue=queue, now=now)

    def mute_alert(self, name: str, seconds: float) -> ActionResult:
        """Hold back a rule's notifications for `seconds` (it is still evaluated and shown)."""

        def run() -> ActionResult:
            self.alert_store.mute(name, self.server_time() + seconds)
            return ActionResult("alert_mute", name, 1, f"alert {name} muted for {seconds / 60:g} min")

        return self.perform(Action.ALERT_MUTE, name, run)

    def unmute_alert(self, name: str) -> ActionResult:
        def run() -> ActionResult:
            self.alert_store.unmute(name)
            return ActionResult("alert_unmute", name, 1, f"alert {name} notifies again")

        return self.perform(Action.ALERT_UNMUTE, name, run)

    def update_alert(self, name: str, changes: dict) -> ActionResult:
        """Change some fields of a rule (validated as a whole), e.g. `{"enabled": False}`."""

        def run() -> ActionResult:
            self.alert_store.update(name, **changes)
            return ActionResult("alert_update", name, 1, f"alert {name} updated ({', '.join(sorted(changes))})")

        return self.perform(Action.ALERT_UPDATE, name, run)

    def remove_alert(self, name: str) -> ActionResult:
        def run() -> ActionResult:
            self.alert_store.remove(name)
            return ActionResult("alert_remove", name, 1, f"alert {name} removed")

        return self.perform(Action.ALERT_REMOVE, name, run)

    # -- the HTTP API: enqueue, schedule edits, cluster metrics -----------------------------------
    def enqueue_job(self, queue: str, payload: object, submit: Callable[[], tuple[str, bool]]) -> ActionResult:
        """Submit one job through `submit` (which returns its id and whether it was created): OPERATOR and up,
        and a token with an org only for payloads whose organizationId is that org. One audit entry."""
        owner = payload.get(TENANT_FIELD) if isinstance(payload, dict) else None
        if self.org and self.can(Action.ENQUEUE) and owner != self.org:
            self._refuse(
                Action.ENQUEUE, queue, f"this token may only enqueue jobs whose {TENANT_FIELD} is {self.org!r}"
            )

        def run() -> ActionResult:
            job_id, created = submit()
            if created:
                return ActionResult("enqueue", job_id, 1, f"job {job_id} enqueued on {queue}")
            return ActionResult("enqueue", job_id, 0, f"job {job_id} exists already; nothing enqueued")

        return self.perform(Action.ENQUEUE, queue, run, owner)

    def enqueue_flow(self, flow: FlowSpec, submit: Callable[[], FlowJob]) -> tuple[ActionResult, FlowJob]:
        """Submit a flow through `submit`: OPERATOR and up, and a token with an org only when every job's
        organizationId is that org. One audit entry, naming the root's queue."""
        owners = {job.data.get(TENANT_FIELD) if isinstance(job.data, dict) else None for job in flow.walk()}
        if self.org and self.can(Action.ENQUEUE) and owners != {self.org}:
            self._refuse(
                Action.ENQUEUE,
                flow.queue,
                f"this token may only enqueue flows whose jobs' {TENANT_FIELD} is {self.org!r}",
            )
        created: list[FlowJob] = []

        def run() -> ActionResult:
            created.append(submit())
            size = sum(1 for _ in flow.walk())
            if created[0].created:
                return ActionResult("enqueue", created[0].id, size, f"flow {created[0].id} of {size} jobs enqueued")
            return ActionResult("enqueue", created[0].id, 0, f"flow {created[0].id} exists already; nothing enqueued")

        owner = next(iter(owners)) if len(owners) == 1 else None
        result = self.perform(Action.ENQUEUE, flow.queue, run, owner)
        return result, created[0]

    def enqueue_demo(self, submit: Callable[[], ActionResult]) -> ActionResult:
        """Enqueue the demo's jobs through `submit` (ADMIN; they belong to several organizations, so a token
        with an org may not). One audit entry for the lot."""
        if self.org and self.can(Action.DEMO):
            self._refuse(
                Action.DEMO, "demo", "the demo's jobs belong to several organizations; use a token without an org"
            )
        return self.perform(Action.DEMO, "demo", submit)

    def add_schedule(self, fields: dict) -> ActionResult:
        """Create a schedule from its fields (validated, payload checked against the queue's model)."""
        from .workers.schedules import Schedule, check_payload

        def run() -> ActionResult:
            schedule = Schedule.build(**fields)
            check_payload(schedule, datetime.now(UTC))
            self.schedule_store.add(schedule)
            return ActionResult("schedule_add", schedule.name, 1, f"schedule {schedule.name} added")

        name = str(fields.get("name", ""))[:64]
        payload = fields.get("payload")
        owner = payload.get(TENANT_FIELD) if isinstance(payload, dict) else None
        if self.org and self.can(Action.SCHEDULE_ADD) and owner != self.org:
            self._refuse(
                Action.SCHEDULE_ADD,
                name,
                f"this token may only add schedules whose payload's {TENANT_FIELD} is {self.org!r}",
            )
        return self.perform(Action.SCHEDULE_ADD, name, run, owner)

    def update_schedule(self, name: str, changes: dict) -> ActionResult:
        """Change some fields of a schedule; the result is validated as a whole before it is stored."""
        from .workers.schedules import Schedule, check_payload

        def run() -> ActionResult:
            current = self.schedule_store.require(name)
            check_payload(Schedule.build(**{**current.model_dump(), **changes}), datetime.now(UTC))
            self.schedule_store.update(name, **changes)
            return ActionResult("schedule_update", name, 1, f"schedule {name} updated ({', '.join(sorted(changes))})")

        return self.perform(Action.SCHEDULE_UPDATE, name, run, lambda: self.schedule_org(name))

    def remove_schedule(self, name: str) -> ActionResult:
        def run() -> ActionResult:
            self.schedule_store.remove(name)
            return ActionResult("schedule_remove", name, 1, f"schedule {name} removed")

        return self.perform(Action.SCHEDULE_REMOVE, name, run, lambda: self.schedule_org(name))

    def _refuse(self, action: Action, target: str, reason: str) -> None:
        refusal = PermissionDenied(self.identity, action, reason)
        self._audit(action, target, 0, "denied", str(refusal))
        raise refusal

    def cluster_metrics(self):
        """Queue depths, outcomes and worker processes of the whole cluster (Prometheus); refused to a token
        with an org, since the figures cover every organization."""
        from .workers.prometheus import read_snapshot

        if self.org:
            raise PermissionDenied(
                self.identity, Action.VIEW, "metrics cover every organization; use a token without an org"
            )
        return read_snapshot(self.registry, self.worker_records)

    def cluster_health(self):
        """Queue health, alert and breaker states for the Prometheus gauges; refused to a token with an org."""
        from .health.metrics import read_health_reading

        if self.org:
            raise PermissionDenied(
                self.identity, Action.VIEW, "metrics cover every organization; use a token without an org"
            )
        return read_health_reading(self.registry.client, self.registry.keys)
