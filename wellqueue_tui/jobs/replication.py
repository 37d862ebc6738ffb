"""Acknowledged means replicated, when asked: with WELLQUEUE_MIN_REPLICAS > 0, every write that acknowledges
a job to its caller is followed by Redis `WAIT` in the same pipeline, and too few replicas in time raise
`ReplicationTimeout`, which the caller retries with the same job id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis


class ReplicationTimeout(redis.RedisError):
    """The master applied the write, but fewer replicas than WELLQUEUE_MIN_REPLICAS confirmed it in time: a
    failover now could lose it. Retry with the same job id (a job that did survive is not enqueued twice)."""

    def __init__(self, what: str, acknowledged: int, wanted: int, timeout_ms: int) -> None:
        self.acknowledged, self.wanted, self.timeout_ms = acknowledged, wanted, timeout_ms
        super().__init__(
            f"{what}: {acknowledged} of {wanted} replica(s) confirmed the write within {timeout_ms} ms "
            "(WELLQUEUE_MIN_REPLICAS, WELLQUEUE_REPLICA_TIMEOUT_MS); it may be lost if the master fails now. "
            "Retry with the same job id, or check the replicas' link to the master (INFO replication)."
        )


@dataclass(frozen=True)
class ReplicaWait:
    """How many replicas must confirm an acknowledging write, and how long to wait for them."""

    replicas: int = 0
    timeout_ms: int = 1000

    @property
    def enabled(self) -> bool:
        return self.replicas > 0

    @classmethod
    def from_settings(cls, settings: Any) -> ReplicaWait:
        return cls(settings.min_replicas, settings.replica_timeout_ms)

    def queue(self, pipe: Any) -> None:
        """Add WAIT as the pipeline's last command (nothing when the setting is off)."""
        if self.enabled:
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)

    def split(self, replies: list[Any], what: str) -> list[Any]:
        """The replies before WAIT's; raise ReplicationTimeout when WAIT counted too few replicas."""
        if not self.enabled:
            return replies
        self.check(int(replies[-1]), what)
        return replies[:-1]

    def check(self, acknowledged: int, what: str) -> None:
        if acknowledged < self.replicas:
            raise ReplicationTimeout(what, acknowledged, self.replicas, self.timeout_ms)


def call_and_wait(client: Any, script: Any, keys: list, args: list, wait: ReplicaWait, what: str) -> Any:
    """Run a registry script (a scripts.PrefixedScript) and WAIT in one round trip; the script's reply, or
    ReplicationTimeout when too few replicas confirmed it (the write itself happened on the master)."""
    for _ in range(2):
        with client.pipeline(transaction=False) as pipe:
            script.queue_evalsha(pipe, keys, args)
            wait.queue(pipe)
            replies = pipe.execute(raise_on_error=False)
        reply = replies[0]
        if isinstance(reply, redis.exceptions.NoScriptError):  # a new master after a failover, or SCRIPT FLUSH
            script.load(client)
            continue
        if isinstance(reply, Exception):
            raise reply
        wait.split(replies, what)
        return reply
    raise redis.ResponseError(f"{what}: Redis lost the script twice in a row (NOSCRIPT)")


#: No waiting: what a broker or registry built without settings does.
NO_WAIT = ReplicaWait()
