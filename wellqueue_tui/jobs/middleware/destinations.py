"""Destination gate: for kinds that name the outside service a job calls (`JobKind.destination_of`, e.g. a
webhook's host), counts each finished attempt per destination for the circuit breaker to judge, and while
that destination is held (jobs/destinations.py) schedules its jobs again unstarted, without spending an
attempt, except the one probe a half-open breaker lets through."""

from __future__ import annotations

import contextlib
import logging
import time
from uuid import uuid4

import redis
from dramatiq.common import dq_name, q_name
from dramatiq.middleware import Middleware, SkipMessage

from ..destinations import hold_field
from ..probe_gate import claim_probe, record_probe
from .outcome import Outcome, record_outcome

log = logging.getLogger(__name__)

_ATTRIBUTE = "_wq_destination"
#: Per-minute destination counters are kept this long (the breaker's window is at most an hour).
STATS_TTL_S = 2 * 3600


class DestinationGate(Middleware):
    """Runs after the PauseGate, which keeps `broker.held_destinations` fresh."""

    def before_process_message(self, broker, message) -> None:
        queue = q_name(message.queue_name)
        destination = _destination(broker, queue, message)
        setattr(message, _ATTRIBUTE, destination)
        if destination is None:
            return
        field = hold_field(queue, destination)
        hold = broker.held_destinations.get(field)
        if hold is None:
            return
        if field in broker.probe_queues and claim_probe(broker.client, broker.keys, field):
            record_probe(broker.client, broker.keys, field, message.message_id)
            return
        now_ms = int(time.time() * 1000)
        later = message.copy(
            queue_name=dq_name(queue),
            options={"eta": now_ms + hold.delay_ms(now_ms), "redis_message_id": str(uuid4())},
        )
        reason = f"held back: the circuit breaker for {destination} is open"
        record_outcome(message, Outcome("held", error=reason, retry=later))
        raise SkipMessage(reason)

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        destination = getattr(message, _ATTRIBUTE, None)
        if destination is None:
            return
        key = broker.keys.destination_stats(q_name(message.queue_name), int(time.time() // 60))
        try:
            with broker.client.pipeline(transaction=False) as pipe:
                pipe.hincrby(key, f"{destination}|{'failed' if exception is not None else 'ok'}", 1)
                pipe.expire(key, STATS_TTL_S)
                pipe.execute()
        except redis.RedisError as exc:  # bookkeeping for the breaker never fails the job
            log.warning("could not count the attempt for destination %s: %s", destination, exc)


def _destination(broker, queue: str, message) -> str | None:
    kind = broker.kinds.get(queue)
    if kind is None or kind.destination_of is None or not message.args:
        return None
    with contextlib.suppress(Exception):  # an unreadable payload fails in the processor, with its reason
        destination = kind.destination_of(message.args[0])
        return str(destination)[:200] if destination else None
    return None
