"""Pause gate: keeps the process's view of paused queues (and of the circuit breakers' probe offers) fresh and
hands back a message of a paused queue unstarted (the consumer also stops fetching for it), so it waits again
instead of running; the one probe job a half-open breaker lets through (jobs/probe_gate.py) runs."""

from __future__ import annotations

import contextlib
import threading

import redis
from dramatiq.common import q_name
from dramatiq.middleware import Middleware, SkipMessage

from ..destinations import read_holds
from .outcome import Outcome, record_outcome

#: Workers on every host notice a queue being paused or resumed within this long.
PAUSE_POLL_S = 1.0


class PauseGate(Middleware):
    """Polls the schema's paused set into `broker.paused_queues` (the probe offers into `broker.probe_queues`,
    the destination holds into `broker.held_destinations`) and skips messages of paused queues, except a marked probe."""

    def __init__(self, poll_s: float = PAUSE_POLL_S) -> None:
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def before_worker_boot(self, broker, worker) -> None:
        self.refresh(broker)
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, args=(broker,), name="wellqueue-pause", daemon=True)
        self._thread.start()

    def after_worker_shutdown(self, broker, worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def refresh(self, broker) -> None:
        with broker.client.pipeline(transaction=False) as pipe:
            pipe.smembers(broker.keys.paused).hkeys(broker.keys.breaker_probes).hgetall(broker.keys.destination_holds)
            paused, probes, holds = pipe.execute()
        broker.paused_queues = frozenset(q.decode("utf-8", "replace") for q in paused)
        broker.probe_queues = frozenset(q.decode("utf-8", "replace") for q in probes)
        broker.held_destinations = read_holds(holds)

    def _watch(self, broker) -> None:
        while not self._stop.wait(self.poll_s):
            # Redis away: consumers report it; keep the last known set and retry
            with contextlib.suppress(redis.RedisError):
                self.refresh(broker)

    def before_process_message(self, broker, message) -> None:
        queue = q_name(message.queue_name)
        if queue not in broker.paused_queues or getattr(message, "_wq_probe", False):
            return
        record_outcome(message, Outcome("requeued"))
        keys = broker.keys.queue(queue)
        broker.registry_scripts.requeue(
            keys=[
                keys.acks(broker.broker_id),
                keys.msgs,
                keys.ready,
                keys.prioritized,
                keys.dead,
                keys.dead_msgs,
                keys.wake,
            ],
            args=["graceful", 0, 0, message.options["redis_message_id"]],
        )
        raise SkipMessage("queue paused; handed back")
