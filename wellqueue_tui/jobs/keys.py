"""Every Redis key name WellQueue uses: the registry's under one prefix tied to the deployment's namespace
(`KeySchema`), and Dramatiq's own under the namespace (`QueueKeys`). No other module spells a key."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_NAMESPACE = "wellqueue"
#: The default deployment's registry prefix; kept so data written before namespaced prefixes stays visible.
DEFAULT_PREFIX = "wq"
#: A prefix is part of every key name: no whitespace, no glob characters (SCAN MATCH), no braces.
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def prefix_for(namespace: str) -> str:
    """The registry prefix of a namespace: `wq` for the default one, `{namespace}:wq` for any other."""
    return DEFAULT_PREFIX if namespace == DEFAULT_NAMESPACE else f"{namespace}:{DEFAULT_PREFIX}"


@dataclass(frozen=True)
class KeySchema:
    """The registry's key names for one deployment (prefix) plus the Dramatiq namespace they live beside."""

    namespace: str = DEFAULT_NAMESPACE
    prefix: str = DEFAULT_PREFIX

    @classmethod
    def for_namespace(cls, namespace: str, prefix: str | None = None) -> KeySchema:
        """The schema of a deployment; `prefix` overrides the one derived from the namespace."""
        prefix = prefix or prefix_for(namespace)
        if not PREFIX_PATTERN.fullmatch(prefix):
            raise ValueError(
                f"key prefix {prefix[:80]!r} (from WELLQUEUE_NAMESPACE or WELLQUEUE_KEY_PREFIX) "
                "must be 1-64 letters, digits or . _ : -"
            )
        return cls(namespace, prefix)

    @classmethod
    def from_settings(cls, settings) -> KeySchema:
        return cls.for_namespace(settings.namespace, settings.key_prefix)

    def _k(self, *parts: object) -> str:
        return ":".join((self.prefix, *map(str, parts)))

    # -- fixed names ---------------------------------------------------------------------------
    @property
    def queues(self) -> str:
        """Set of known queue names."""
        return self._k("queues")

    @property
    def paused(self) -> str:
        """Set of paused queue names."""
        return self._k("paused")

    @property
    def control_channel(self) -> str:
        """Pub/sub channel announcing pause and resume."""
        return self._k("ctl")

    @property
    def brokers(self) -> str:
        """Zset of worker processes' heartbeats (Redis server ms), read by the reaper."""
        return self._k("brokers")

    @property
    def workers(self) -> str:
        """Zset of supervised worker process records (score = last refresh, Redis server ms)."""
        return self._k("workers")

    @property
    def schedules(self) -> str:
        """Hash name -> schedule definition (JSON)."""
        return self._k("schedules")

    @property
    def schedule_state(self) -> str:
        """Hash name -> what the scheduler last did with that schedule (JSON)."""
        return self._k("schedules", "state")

    @property
    def schedules_installed(self) -> str:
        """String marking that the default schedules were installed once."""
        return self._k("schedules", "installed")

    @property
    def schedules_changed(self) -> str:
        """Pub/sub channel announcing a schedule change (message = schedule name)."""
        return self._k("schedules", "changed")

    @property
    def leader(self) -> str:
        """String holding the scheduler leader lease."""
        return self._k("scheduler", "leader")

    @property
    def audit(self) -> str:
        """Stream of operator actions."""
        return self._k("audit")

    # -- alerts and circuit breakers (wellqueue_tui/health) -------------------------------------
    @property
    def alert_rules(self) -> str:
        """Hash rule name -> AlertRule JSON."""
        return self._k("alerts", "rules")

    @property
    def alert_rules_installed(self) -> str:
        """String marking that the default alert rules were installed once."""
        return self._k("alerts", "installed")

    @property
    def alert_state(self) -> str:
        """Hash "{rule}|{queue}" -> AlertState JSON."""
        return self._k("alerts", "state")

    @property
    def alert_history(self) -> str:
        """Stream (capped) of alert firings and resolutions."""
        return self._k("alerts", "history")

    @property
    def breaker_config(self) -> str:
        """Hash queue -> BreakerConfig JSON."""
        return self._k("breakers", "config")

    @property
    def breaker_state(self) -> str:
        """Hash queue -> BreakerState JSON."""
        return self._k("breakers", "state")

    @property
    def destination_holds(self) -> str:
        """Hash "{queue}@{destination}" -> DestinationHold JSON: jobs of that queue bound for that destination
        (e.g. a webhook host) are held back while a per-destination breaker is open."""
        return self._k("breakers", "holds")

    def destination_stats(self, queue: str, minute: int) -> str:
        """Hash "{destination}|ok" / "{destination}|failed" -> attempts of the queue's jobs in that minute."""
        return self._k("destinations", queue, minute)

    @property
    def breaker_probes(self) -> str:
        """Hash queue (or "{queue}@{destination}") -> probe token, set while a breaker is half-open and taken
        by one consumer."""
        return self._k("breakers", "probes")

    @property
    def breaker_probe_jobs(self) -> str:
        """Hash queue (or "{queue}@{destination}") -> id of the probe job that went through."""
        return self._k("breakers", "probe_jobs")

    # -- queue limits (jobs/limits.py, read by the fetch script) ---------------------------------
    def queue_limits(self, queue: str) -> str:
        """Hash of one queue's rate limit and cluster concurrency cap: configured (`max`, `duration`,
        `concurrency`) and set live by an operator (`op_max`, `op_duration`, `op_concurrency`; 0 = off)."""
        return self._k("limits", queue)

    def rate_window(self, queue: str) -> str:
        """Zset of the fetches inside the queue's current rate-limit window (member rid, score Redis ms)."""
        return self._k("limiter", queue)

    def backlog_samples(self, queue: str) -> str:
        """Zset of the queue's backlog size over time (member "{ms}:{size}", score ms), for arrival rates."""
        return self._k("health", "backlog", queue)

    # -- failure groups (lua/common.lua files failed jobs; jobs/failure_groups.py reads them) -------
    @property
    def failure_groups(self) -> str:
        """Zset group id -> how many failed jobs the group holds."""
        return self._k("failures")

    def failure_group(self, group: str) -> str:
        """Hash: signature, count, first_seen, last_seen, error (latest), q:{queue} counts, f:{field} markers."""
        return self._k("failure", group)

    def failure_group_jobs(self, group: str) -> str:
        """Zset of the group's failed job ids (score: when each failed, ms)."""
        return self._k("failure", group, "jobs")

    def failure_group_hours(self, group: str) -> str:
        """Hash hour (ms // 3,600,000) -> failures filed that hour, the newest 48 hours."""
        return self._k("failure", group, "hours")

    def failure_group_values(self, group: str, field: str) -> str:
        """Zset value -> failed jobs of the group with that value of payload field `field` (bounded)."""
        return self._k("failure", group, "values", field)

    # -- names per job, queue, worker ---------------------------------------------------------
    def job(self, job_id: str) -> str:
        return self._k("job", job_id)

    def job_log(self, job_id: str) -> str:
        return self._k("job", job_id, "log")

    # -- flows: a parent's children (jobs/flows.py, lua/flow.lua) --------------------------------
    def job_children(self, job_id: str) -> str:
        """Set of every child id of a flow's parent (fixed when the flow is created)."""
        return self._k("job", job_id, "children")

    def job_pending(self, job_id: str) -> str:
        """Set of the child ids a parent still waits for; the parent is queued when it empties."""
        return self._k("job", job_id, "pending")

    def job_results(self, job_id: str) -> str:
        """Hash child id -> result JSON of each completed child, read by the parent's JobContext."""
        return self._k("job", job_id, "results")

    def job_ignored(self, job_id: str) -> str:
        """Hash child id -> error of each child that failed with ignoreDependencyOnFailure."""
        return self._k("job", job_id, "ignored")

    def tomb(self, job_id: str) -> str:
        return self._k("tomb", job_id)

    def state(self, queue: str, state: str, org: str | None = None) -> str:
        if org:
            return self._k("org", org, "q", queue, state)
        return self._k("q", queue, state)

    def stats(self, queue: str, minute: int | str) -> str:
        return self._k("stats", queue, minute)

    def cancel_request(self, job_id: str) -> str:
        """String: who asked to cancel the running job (jobs/cancellation.py), with a TTL."""
        return self._k("cancel", job_id)

    def worker(self, worker_id: str) -> str:
        return self._k("worker", worker_id)

    def worker_control(self, supervisor_id: str) -> str:
        """List of scale/restart requests waiting for one supervisor."""
        return self._k("ctl", supervisor_id)

    # -- Dramatiq's names, under the namespace ------------------------------------------------
    def queue(self, queue: str) -> QueueKeys:
        return QueueKeys(self.namespace, queue)

    @property
    def acks_stem(self) -> str:
        """What every acks set starts with: `{ns}:__acks__.`, then `{broker}.{queue}`."""
        return f"{self.namespace}:__acks__."

    def acks_prefix(self, broker_id: str) -> str:
        """What every acks set of one Dramatiq broker (worker process) starts with."""
        return f"{self.acks_stem}{broker_id}."

    def fetch_batch(self, token: str) -> str:
        """The batch one fetch call took, kept briefly so a re-sent call returns it again."""
        return f"{self.namespace}:__fetch__.{token}"

    @property
    def dramatiq_heartbeats(self) -> str:
        return f"{self.namespace}:__heartbeats__"


#: The default deployment's schema (namespace `wellqueue`, prefix `wq`).
DEFAULT_KEYS = KeySchema()


@dataclass(frozen=True)
class QueueKeys:
    """Dramatiq's keys for one canonical queue name (see dramatiq-internals.md §1), plus our priority zset."""

    namespace: str
    queue: str

    def _k(self, suffix: str = "") -> str:
        return f"{self.namespace}:{self.queue}{suffix}"

    @property
    def ready(self) -> str:
        return self._k()

    @property
    def msgs(self) -> str:
        return self._k(".msgs")

    @property
    def prioritized(self) -> str:
        return self._k(".PQ")

    @property
    def priority_seq(self) -> str:
        return self._k(".PQ.seq")

    @property
    def delayed(self) -> str:
        return self._k(".DQ")

    # A queue's wake-up marker: a zset of at most one member that every script making a job ready adds
    # (ZADD NX) and an idle consumer blocks on (BZPOPMIN), so a job on a quiet queue starts at once.
    @property
    def wake(self) -> str:
        return self._k(".wake")

    @property
    def delayed_wake(self) -> str:
        return self._k(".DQ.wake")

    @property
    def delayed_prioritized(self) -> str:
        """Never filled (delayed messages are not prioritized); the fetch script needs some zset to pop."""
        return self._k(".DQ.PQ")

    @property
    def delayed_msgs(self) -> str:
        return self._k(".DQ.msgs")

    @property
    def dead(self) -> str:
        return self._k(".XQ")

    @property
    def dead_msgs(self) -> str:
        return self._k(".XQ.msgs")

    def acks(self, broker_id: str, delayed: bool = False) -> str:
        suffix = ".DQ" if delayed else ""
        return f"{self.namespace}:__acks__.{broker_id}.{self.queue}{suffix}"
