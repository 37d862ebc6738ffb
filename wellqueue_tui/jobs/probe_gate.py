"""The half-open probe: a paused queue lets exactly one job through when a circuit breaker asks for it.

A breaker sets a token for the queue in `wq:breakers:probes`; the one consumer (on any host) whose HDEL
removes it fetches a single message, marks it as the probe, and names its job in `wq:breakers:probe_jobs`
so the breaker can read the outcome. Every other consumer keeps waiting, as for any paused queue. A token
whose claimer found no message is simply gone: the breaker offers a new one on its next round."""

from __future__ import annotations

import redis

PROBES = "wq:breakers:probes"  # hash: queue -> token, set by the breaker while half-open
PROBE_JOBS = "wq:breakers:probe_jobs"  # hash: queue -> job id of the probe that went through


def claim_probe(client: redis.Redis, queue: str) -> bool:
    """Take the queue's probe token; True for exactly one caller across the cluster."""
    return bool(client.hdel(PROBES, queue))


def record_probe(client: redis.Redis, queue: str, job_id: str) -> None:
    """Name the job that went through as the probe, for the breaker to follow."""
    client.hset(PROBE_JOBS, queue, job_id)
