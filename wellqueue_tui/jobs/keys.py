"""Redis key names: Dramatiq's (under the namespace) and the registry's (under `wq:`), in one place."""

from __future__ import annotations

from dataclasses import dataclass

QUEUES = "wq:queues"
PAUSED = "wq:paused"
CONTROL_CHANNEL = "wq:ctl"
BROKERS = "wq:brokers"  # worker processes' heartbeats, scored with Redis server time
EVENTS = "wq:events"


def job_key(job_id: str) -> str:
    return f"wq:job:{job_id}"


def job_log_key(job_id: str) -> str:
    return f"wq:job:{job_id}:log"


def tomb_key(job_id: str) -> str:
    return f"wq:tomb:{job_id}"


def state_key(queue: str, state: str, org: str | None = None) -> str:
    if org:
        return f"wq:org:{org}:q:{queue}:{state}"
    return f"wq:q:{queue}:{state}"


def stats_key(queue: str, minute: int) -> str:
    return f"wq:stats:{queue}:{minute}"


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
