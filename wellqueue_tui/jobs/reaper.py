"""Recovers the unacked messages of dead worker processes (Dramatiq's random maintenance is off).

A worker is dead when its heartbeat in `wq:brokers` (Redis server time) is older than the timeout, so a
skewed host clock cannot make a live worker look dead. Its acks sets are found with SCAN MATCH (never
KEYS) and requeued atomically; jobs that keep killing their worker are failed after a redelivery limit."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from .broker import REDELIVERY_LIMIT
from .keys import BROKERS, QueueKeys
from .scripts import RegistryScripts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReapReport:
    dead_workers: int
    requeued: int
    failed: int


def reap_dead_workers(client: redis.Redis, namespace: str = "wellqueue", timeout_ms: int = 15_000) -> ReapReport:
    seconds, micros = client.time()
    now_ms = seconds * 1000 + micros // 1000
    dead = [d.decode() for d in client.zrangebyscore(BROKERS, 0, now_ms - timeout_ms)]
    scripts = RegistryScripts(client)
    requeued = failed = 0
    prefix = f"{namespace}:__acks__."
    for broker_id in dead:
        for acks_key in client.scan_iter(match=f"{prefix}{broker_id}.*", count=1000):
            queue_name = acks_key.decode()[len(prefix) + len(broker_id) + 1:]
            is_dq = queue_name.endswith(".DQ")
            keys = QueueKeys(namespace, queue_name[:-3] if is_dq else queue_name)
            back, gave_up = scripts.requeue(
                keys=[acks_key, keys.delayed_msgs if is_dq else keys.msgs, keys.delayed if is_dq else keys.ready,
                      keys.prioritized, keys.dead, keys.dead_msgs],
                args=["dead", REDELIVERY_LIMIT, int(is_dq)],
            )
            requeued += back
            failed += gave_up
        client.zrem(BROKERS, broker_id)
        client.zrem(f"{namespace}:__heartbeats__", broker_id)
    if dead:
        log.warning("reaped %d dead worker(s): %d message(s) requeued, %d failed after repeated deaths",
                    len(dead), requeued, failed)
    return ReapReport(len(dead), requeued, failed)
