"""Recovers the unacked messages of dead worker processes (Dramatiq's random maintenance is off).

A worker is dead when its heartbeat in the schema's `brokers` zset (Redis server time) is older than the timeout, so a
skewed host clock cannot make a live worker look dead. Its acks sets are found with SCAN MATCH (never
KEYS) and requeued atomically; jobs that keep killing their worker are failed after a redelivery limit."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import redis

from ..connection import reply_texts
from .broker import REDELIVERY_LIMIT
from .keys import KeySchema
from .scripts import RegistryScripts
from .signature import failure_group_args, group_fields

#: The error of a job that kept killing its worker ({n}: how many times); such jobs form one failure group.
REPEATED_DEATHS = (
    "worker process died {n} times while running this job (killed, out of memory or crashed); not retried again"
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReapReport:
    dead_workers: int
    requeued: int
    failed: int


def reap_dead_workers(client: redis.Redis, keys: KeySchema, timeout_ms: int = 15_000) -> ReapReport:
    seconds, micros = client.time()
    now_ms = seconds * 1000 + micros // 1000
    dead = reply_texts(client.zrangebyscore(keys.brokers, 0, now_ms - timeout_ms))
    scripts = RegistryScripts(client, keys)
    requeued = failed = 0
    for broker_id in dead:
        prefix = keys.acks_prefix(broker_id)
        for acks_key in client.scan_iter(match=f"{prefix}*", count=1000):
            queue_name = acks_key.decode()[len(prefix) :]
            is_dq = queue_name.endswith(".DQ")
            queue = keys.queue(queue_name[:-3] if is_dq else queue_name)
            back, gave_up = scripts.requeue(
                keys=[
                    acks_key,
                    queue.delayed_msgs if is_dq else queue.msgs,
                    queue.delayed if is_dq else queue.ready,
                    queue.prioritized,
                    queue.dead,
                    queue.dead_msgs,
                    queue.delayed_wake if is_dq else queue.wake,
                ],
                args=[
                    "dead",
                    REDELIVERY_LIMIT,
                    int(is_dq),
                    REPEATED_DEATHS,
                    *failure_group_args(REPEATED_DEATHS.format(n=REDELIVERY_LIMIT + 1), None)[:2],
                    "{}" if is_dq else _payload_fields(client, acks_key, queue.msgs),
                ],
            )
            requeued += back
            failed += gave_up
        client.zrem(keys.brokers, broker_id)
        client.zrem(keys.dramatiq_heartbeats, broker_id)
    if dead:
        log.warning(
            "reaped %d dead worker(s): %d message(s) requeued, %d failed after repeated deaths",
            len(dead),
            requeued,
            failed,
        )
    return ReapReport(len(dead), requeued, failed)


def _payload_fields(client: redis.Redis, acks_key: bytes, payloads_key: str) -> str:
    """JSON {rid: payload fields JSON} of a dead worker's unacked jobs, for the group of those that fail for good
    (a dead worker's acks set no longer changes; an unreadable message counts no field)."""
    rids = reply_texts(client.smembers(acks_key))
    fields: dict[str, str] = {}
    for rid, raw in zip(rids, client.hmget(payloads_key, rids) if rids else [], strict=True):
        try:
            args = json.loads(raw)["args"] if raw else None
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(args, list) and args:
            fields[rid] = json.dumps(group_fields(args[0]), sort_keys=True)
    return json.dumps(fields)
