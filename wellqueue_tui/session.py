"""An operator's view of the system: registry reads scoped to their tenant, and actions that pass the
permission table and leave one audit entry each. The console and the CLI both go through it."""

from __future__ import annotations

from typing import Callable

import redis

from .auth.audit import AuditLog
from .auth.identity import Identity
from .auth.permissions import Action, PermissionDenied, allowed, check
from .jobs import actions
from .jobs.actions import ActionError, ActionResult
from .jobs.models import JobDetail, JobPage, MinuteStats, QueueCounts
from .jobs.registry import Registry


class OperatorSession:
    def __init__(self, registry: Registry, identity: Identity, audit: AuditLog | None = None) -> None:
        self.registry = registry
        self.identity = identity
        self.audit = audit or AuditLog(registry.client)

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
        except (ActionError, ValueError) as exc:
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
