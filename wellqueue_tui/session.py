"""An operator's view of the system: registry reads scoped to their tenant, and actions that pass the
permission table and leave one audit entry each. The console and the CLI both go through it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Callable

import redis

from .auth.audit import AuditLog
from .auth.identity import Identity
from .auth.permissions import Action, PermissionDenied, allowed, check
from .health.alert_rules import AlertRule, AlertStore
from .health.alert_state import AlertState
from .health.alerts import HistoryEntry, alert_history, alert_states, firing_alerts
from .health.breaker import BreakerStore
from .health.breaker_state import BreakerState
from .health.queue_health import QueueHealth, read_health
from .health.timeline import TimelineEvent, read_timeline
from .jobs import actions
from .jobs.actions import ActionError, ActionResult
from .jobs.models import JobDetail, JobPage, MinuteStats, QueueCounts
from .jobs.registry import Registry
from .workers.scheduler import run_schedule_now
from .workers.schedules import ScheduleStatus, ScheduleStore
from .workers.worker_records import ControlError, WorkerInfo, WorkerRecords

EnqueueFn = Callable[..., str]


class OperatorSession:
    def __init__(self, registry: Registry, identity: Identity, audit: AuditLog | None = None,
                 enqueue_fn: EnqueueFn | None = None) -> None:
        self.registry = registry
        self.identity = identity
        # Every store of this session is built here, once, from the registry's key schema.
        self.audit = audit or AuditLog(registry.client, registry.keys.audit)
        self.enqueue_fn = enqueue_fn  # for running a schedule now; None where nothing may be enqueued
        self.schedule_store = ScheduleStore(registry.client, registry.keys)
        self.worker_records = WorkerRecords(registry.client, registry.keys)
        self.alert_store = AlertStore(registry.client, registry.keys)
        self.breaker_store = BreakerStore(registry.client, registry.keys)

    @property
    def org(self) -> str | None:
        return self.identity.org

    def can(self, action: str) -> bool:
        return allowed(self.identity.role, Action(action))

    # -- reads (scoped to the identity's organization) -------------------------------------
    def ping(self) -> bool:
        return self.registry.ping()

    def server_time(self) -> float:
        return self.registry.server_time()

    def known_queues(self) -> list[str]:
        return self.registry.known_queues()

    def all_counts(self) -> list[QueueCounts]:
        return self.registry.all_counts(org=self.org)

    def queue_counts(self, queue: str) -> QueueCounts:
        return self.registry.queue_counts(queue, org=self.org)

    def list_jobs(self, queue: str, state: str, offset: int = 0, limit: int = 50) -> JobPage:
        return self.registry.list_jobs(queue, state, offset, limit, org=self.org)

    def search_jobs(self, queue: str, state: str, text: str, limit: int = 50) -> JobPage:
        return self.registry.search_jobs(queue, state, text, limit, org=self.org)

    def get_job(self, job_id: str) -> JobDetail | None:
        return self.registry.get_job(job_id, org=self.org)

    def throughput(self, queue: str, minutes: int = 60) -> list[MinuteStats]:
        # Per-minute counters are per queue, not per tenant: a scoped operator sees no cross-tenant totals.
        return [] if self.org else self.registry.throughput(queue, minutes)

    def workers(self) -> list[WorkerInfo]:
        """Worker processes on every host (what any console on any host sees)."""
        return self.worker_records.list_workers()

    def schedules(self) -> list[ScheduleStatus]:
        return self.schedule_store.overview(datetime.now(UTC))

    def scheduler_leader(self) -> str | None:
        """Who runs the cron schedules now (`host:pid:…`), or None when no scheduler holds the lease."""
        holder = self.registry.client.get(self.registry.keys.leader)
        return holder.decode("utf-8", "replace") if holder else None

    def audit_entries(self, limit: int = 200) -> list:
        check(self.identity, Action.VIEW_AUDIT)
        return self.audit.recent(limit)

    # -- actions ----------------------------------------------------------------------------
    def perform(self, action: Action, target: str, run: Callable[[], ActionResult]) -> ActionResult:
        """Check the permission (before any Redis write), run the action, and audit the outcome."""
        try:
            check(self.identity, action)
        except PermissionDenied as exc:
            self._audit(action, target, 0, "denied", str(exc))
            raise
        try:
            result = run()
        except (ActionError, ValueError, ControlError) as exc:
            self._audit(action, target, 0, "error", str(exc))
            raise
        self._audit(action, target, result.count, "ok", result.message)
        return result

    def _audit(self, action: Action, target: str, count: int, outcome: str, detail: str) -> None:
        try:
            self.audit.record(self.identity, action, target, count, outcome, detail)
        except redis.RedisError:
            if outcome == "ok":
                raise

    def retry_job(self, job_id: str) -> ActionResult:
        return self.perform(Action.RETRY, job_id, lambda: actions.retry_job(self.registry, job_id, org=self.org))

    def retry_jobs(self, job_ids: list[str]) -> ActionResult:
        return self.perform(Action.RETRY, ",".join(job_ids)[:200],
                            lambda: actions.retry_jobs(self.registry, job_ids, org=self.org))

    def retry_all_failed(self, queue: str) -> ActionResult:
        return self.perform(Action.RETRY_ALL, queue, lambda: actions.retry_all_failed(self.registry, queue, org=self.org))

    def promote_job(self, job_id: str) -> ActionResult:
        return self.perform(Action.PROMOTE, job_id, lambda: actions.promote_job(self.registry, job_id, org=self.org))

    def promote_jobs(self, job_ids: list[str]) -> ActionResult:
        return self.perform(Action.PROMOTE, ",".join(job_ids)[:200],
                            lambda: actions.promote_jobs(self.registry, job_ids, org=self.org))

    def remove_job(self, job_id: str) -> ActionResult:
        return self.perform(Action.REMOVE, job_id, lambda: actions.remove_job(self.registry, job_id, org=self.org))

    def remove_jobs(self, job_ids: list[str]) -> ActionResult:
        return self.perform(Action.REMOVE, ",".join(job_ids)[:200],
                            lambda: actions.remove_jobs(self.registry, job_ids, org=self.org))

    def clean_jobs(self, queue: str, state: str, older_than_ms: int, limit: int = 1000) -> ActionResult:
        return self.perform(Action.CLEAN, f"{queue}/{state}",
                            lambda: actions.clean_jobs(self.registry, queue, state, older_than_ms, limit, org=self.org))

    def drain_queue(self, queue: str) -> ActionResult:
        return self.perform(Action.DRAIN, queue, lambda: actions.drain_queue(self.registry, queue, org=self.org))

    def pause_queue(self, queue: str) -> ActionResult:
        return self.perform(Action.PAUSE, queue, lambda: self._queue_wide(actions.pause_queue, queue))

    def resume_queue(self, queue: str) -> ActionResult:
        return self.perform(Action.RESUME, queue, lambda: self._queue_wide(actions.resume_queue, queue))

    def _queue_wide(self, action: Callable[[Registry, str], ActionResult], queue: str) -> ActionResult:
        if self.org:
            raise ActionError(f"pausing or resuming {queue} affects every organization; ask an unscoped operator")
        return action(self.registry, queue)

    # -- workers and schedules ------------------------------------------------------------------
    def scale_workers(self, target: str, group: str, delta: int) -> ActionResult:
        """Add (delta > 0) or remove worker processes of `group` on the supervisor `target` (host or host:pid)."""
        def run() -> ActionResult:
            supervisor = self.worker_records.request_scale(target, group, delta)
            return ActionResult("scale_workers", f"{supervisor}/{group}", abs(delta),
                                f"asked {supervisor} to {'add' if delta > 0 else 'remove'} {abs(delta)} {group} process(es)")
        return self.perform(Action.SCALE_WORKERS, f"{target}/{group}", run)

    def restart_worker(self, worker_id: str) -> ActionResult:
        def run() -> ActionResult:
            supervisor = self.worker_records.request_restart(worker_id)
            return ActionResult("restart_worker", worker_id, 1, f"asked {supervisor} to restart {worker_id}")
        return self.perform(Action.RESTART_WORKER, worker_id, run)

    def pause_schedule(self, name: str) -> ActionResult:
        return self.perform(Action.SCHEDULE_PAUSE, name, lambda: self._set_enabled(name, False))

    def resume_schedule(self, name: str) -> ActionResult:
        return self.perform(Action.SCHEDULE_RESUME, name, lambda: self._set_enabled(name, True))

    def _set_enabled(self, name: str, enabled: bool) -> ActionResult:
        self.schedule_store.set_enabled(name, enabled)
        return ActionResult("schedule_resume" if enabled else "schedule_pause", name, 1,
                            f"schedule {name} {'resumed' if enabled else 'paused'}")

    def run_schedule_now(self, name: str) -> ActionResult:
        def run() -> ActionResult:
            if self.enqueue_fn is None:
                raise ActionError("this console cannot enqueue jobs (no broker); use `wellqueue schedules run-now`")
            job_id = run_schedule_now(self.schedule_store, self.enqueue_fn, name, datetime.now(UTC))
            return ActionResult("run_schedule", name, 1, f"schedule {name} enqueued job {job_id}")
        return self.perform(Action.RUN_SCHEDULE, name, run)

    def audited(self, action: Action, target: str, run: Callable[[], int]) -> int:
        """For CLI commands that report through an exit code: permission first, then one audit entry."""
        try:
            check(self.identity, action)
        except PermissionDenied as exc:
            self._audit(action, target, 0, "denied", str(exc))
            raise
        code = run()
        self._audit(action, target, 1 if code == 0 else 0, "ok" if code == 0 else "error", f"exit code {code}")
        return code

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
        if self.org and self.can(Action.ENQUEUE):
            owner = payload.get("organizationId") if isinstance(payload, dict) else None
            if owner != self.org:
                self._refuse(Action.ENQUEUE, queue, f"this token may only enqueue jobs whose organizationId is {self.org!r}")

        def run() -> ActionResult:
            job_id, created = submit()
            if created:
                return ActionResult("enqueue", job_id, 1, f"job {job_id} enqueued on {queue}")
            return ActionResult("enqueue", job_id, 0, f"job {job_id} exists already; nothing enqueued")

        return self.perform(Action.ENQUEUE, queue, run)

    def add_schedule(self, fields: dict) -> ActionResult:
        """Create a schedule from its fields (validated, payload checked against the queue's model)."""
        from .workers.schedules import Schedule, check_payload

        def run() -> ActionResult:
            schedule = Schedule.build(**fields)
            check_payload(schedule, datetime.now(UTC))
            self.schedule_store.add(schedule)
            return ActionResult("schedule_add", schedule.name, 1, f"schedule {schedule.name} added")

        return self._schedule_edit(Action.SCHEDULE_ADD, str(fields.get("name", ""))[:64], run)

    def update_schedule(self, name: str, changes: dict) -> ActionResult:
        """Change some fields of a schedule; the result is validated as a whole before it is stored."""
        from .workers.schedules import Schedule, check_payload

        def run() -> ActionResult:
            current = self.schedule_store.require(name)
            check_payload(Schedule.build(**{**current.model_dump(), **changes}), datetime.now(UTC))
            self.schedule_store.update(name, **changes)
            return ActionResult("schedule_update", name, 1, f"schedule {name} updated ({', '.join(sorted(changes))})")

        return self._schedule_edit(Action.SCHEDULE_UPDATE, name, run)

    def remove_schedule(self, name: str) -> ActionResult:
        def run() -> ActionResult:
            self.schedule_store.remove(name)
            return ActionResult("schedule_remove", name, 1, f"schedule {name} removed")

        return self._schedule_edit(Action.SCHEDULE_REMOVE, name, run)

    def _schedule_edit(self, action: Action, name: str, run: Callable[[], ActionResult]) -> ActionResult:
        if self.org and self.can(action):
            self._refuse(action, name, "schedules enqueue jobs for every organization; ask an admin whose token has no org")
        return self.perform(action, name, run)

    def _refuse(self, action: Action, target: str, reason: str) -> None:
        refusal = PermissionDenied(self.identity, action, reason)
        self._audit(action, target, 0, "denied", str(refusal))
        raise refusal

    def cluster_metrics(self):
        """Queue depths, outcomes and worker processes of the whole cluster (Prometheus); refused to a token
        with an org, since the figures cover every organization."""
        from .workers.prometheus import read_snapshot

        if self.org:
            raise PermissionDenied(self.identity, Action.VIEW, "metrics cover every organization; use a token without an org")
        return read_snapshot(self.registry, self.worker_records)

    def cluster_health(self):
        """Queue health, alert and breaker states for the Prometheus gauges; refused to a token with an org."""
        from .health.metrics import read_health_reading

        if self.org:
            raise PermissionDenied(self.identity, Action.VIEW, "metrics cover every organization; use a token without an org")
        return read_health_reading(self.registry.client, self.registry.keys)
