"""The half-open probe: a paused queue lets exactly one job through when a circuit breaker asks for it.

A breaker sets a token for the queue in the schema's `breaker_probes` hash; the one consumer (on any host)
whose HDEL removes it fetches a single message, marks it as the probe, and names its job in
`breaker_probe_jobs` so the breaker can read the outcome. Every other consumer keeps waiting, as for any
paused queue. A token whose claimer found no message is simply gone: the breaker offers a new one next round."""

from __future__ import annotations

import redis

from .keys import KeySchema


def claim_probe(client: redis.Redis, keys: KeySchema, queue: str) -> bool:
    """Take the queue's probe token; True for exactly one caller across the cluster."""
    return bool(client.hdel(keys.breaker_probes, queue))


def record_probe(client: redis.Redis, keys: KeySchema, queue: str, job_id: str) -> None:
    """Name the job that went through as the probe, for the breaker to follow."""
    client.hset(keys.breaker_probe_jobs, queue, job_id)
