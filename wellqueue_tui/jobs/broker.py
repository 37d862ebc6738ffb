"""The Dramatiq RedisBroker and consumer subclasses whose own round trips also write the registry.

Every enqueue is one script (Dramatiq's HSET + RPUSH and the registry upsert); every ack/nack is one
script (Dramatiq's SREM + HDEL / dead-lettering and the job's terminal transition). A separate round
trip per transition measured -36..-43% throughput; fused, the registry costs about nothing.
These classes touch private Dramatiq names (`_RedisConsumer`): dramatiq is pinned >=2.2,<3 and
tests/test_broker_contract.py checks the contract against the real Lua.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any
from uuid import uuid4

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, dq_name, q_name
from dramatiq.errors import ConnectionClosed, DecodeError
from dramatiq.message import Message
from dramatiq.middleware import CurrentMessage, ShutdownNotifications, TimeLimit

from ..settings import DEFAULT_MAX_PAYLOAD_BYTES, Settings, get_settings
from .destinations import DestinationHold
from .keys import KeySchema
from .kind import JobKind
from .middleware import Attempts, DestinationGate, Heartbeat, JobContexts, Outcome, PauseGate, outcome_of
from .middleware.outcome import failure_group_of
from .options import DEFAULT_KEEP_COMPLETED, DEFAULT_KEEP_FAILED
from .probe_gate import claim_probe, record_probe
from .reconcile import RECONCILE_INTERVAL_S, HeldMessages
from .replication import NO_WAIT, ReplicationTimeout, ReplicaWait, call_and_wait
from .scripts import RegistryScripts
from .signature import failure_group_args

#: A job that killed its worker this many times is failed instead of redelivered again.
REDELIVERY_LIMIT = 5
#: What a delivery without a registry transition finishes with (a delayed copy moved to its ready queue).
ACKED = Outcome("ack")
#: How long a closing consumer keeps trying to hand back its messages through a Redis outage.
CLOSE_RETRY_S = 30.0
#: A rate-limited consumer sleeps until the window has room, but looks again at least this often (ms), so a
#: limit lifted or raised live takes effect within about a second.
LIMIT_RECHECK_MS = 1000


@dataclass(frozen=True)
class Submitted:
    """What an enqueue did: the message as stored, and whether it created, updated or found the job."""

    message: Message
    code: int  # 1 created, 2 updated, 0 existed already, -1 dropped (removed job or stale copy)

    @property
    def created(self) -> bool:
        return self.code == 1


class WellQueueBroker(RedisBroker):
    """RedisBroker whose enqueue also upserts the job registry, in the same script."""

    def __init__(
        self,
        *,
        client: redis.Redis,
        keys: KeySchema,
        heartbeat_timeout: int,
        middleware=None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        replica_wait: ReplicaWait = NO_WAIT,
    ) -> None:
        super().__init__(
            client=client,
            namespace=keys.namespace,
            middleware=middleware,
            maintenance_chance=0,  # our reaper recovers dead workers; Dramatiq's maintenance runs KEYS
            heartbeat_timeout=heartbeat_timeout,
        )
        self.keys = keys
        self.registry_scripts = RegistryScripts(client, keys)
        self.paused_queues: frozenset[str] = frozenset()
        self.probe_queues: frozenset[str] = frozenset()  # paused queues whose breaker offers one probe job
        self.held_destinations: dict[str, DestinationHold] = {}  # "{queue}@{destination}" -> hold
        self.kinds: dict[str, JobKind] = {}  # queue name -> kind, filled by declare_kind
        self.max_payload_bytes = max_payload_bytes  # `submission` refuses larger JSON-encoded payloads
        self.replica_wait = replica_wait  # WAIT after every acknowledging write (WELLQUEUE_MIN_REPLICAS)
        self.held = HeldMessages()  # what this process holds of each acks set (consumers reconcile the rest)

    @property
    def consumer_class(self):
        return WellQueueConsumer

    def enqueue(self, message: Message, *, delay: int | None = None) -> Message:
        """Dramatiq's entry point (retries of delayed moves, `actor.send`): upsert the job record."""
        return self.submit(message, delay=delay, create_only=False).message

    def submit(
        self, message: Message, *, delay: int | None = None, create_only: bool, owned: bool = False
    ) -> Submitted:
        """Store a message and its registry record. With `create_only`, an existing job id enqueues nothing.
        `owned`: the caller built `message` for this call alone, so its options may be written in place."""
        message, keys, args = self._prepare(message, delay, create_only, owned)
        try:
            if self.replica_wait.enabled:  # WAIT in the same round trip as the script
                code, _server_ms = call_and_wait(
                    self.client,
                    self.registry_scripts.enqueue,
                    keys,
                    args,
                    self.replica_wait,
                    f"enqueue of job {message.message_id}",
                )
            else:
                code, _server_ms = self.registry_scripts.enqueue(keys=keys, args=args)
        except redis.ResponseError as exc:
            raise named_wrong_type(exc) from None
        if code > 0:
            self.emit_after("enqueue", message, delay)
        return Submitted(message, int(code))

    def submit_many(
        self, items: list[tuple[Message, int | None]], *, create_only: bool = True, owned: bool = False
    ) -> list[Submitted]:
        """Like `submit` for many messages in one pipelined round trip (BullMQ's addBulk)."""
        prepared = [self._prepare(message, delay, create_only, owned) for message, delay in items]
        with self.client.pipeline(transaction=False) as pipe:
            for _message, keys, args in prepared:
                self.registry_scripts.enqueue(keys=keys, args=args, client=pipe)
            self.replica_wait.queue(pipe)
            replies = self.replica_wait.split(self._execute(pipe), f"enqueue of {len(prepared)} job(s)")
        results = []
        for (message, _keys, _args), (_item_message, delay), (code, _ms) in zip(prepared, items, replies):
            if code > 0:
                self.emit_after("enqueue", message, delay)
            results.append(Submitted(message, int(code)))
        return results

    @staticmethod
    def _execute(pipe) -> list:
        try:
            return pipe.execute()
        except redis.ResponseError as exc:
            raise named_wrong_type(exc) from None

    def _prepare(
        self, message: Message, delay: int | None, create_only: bool, owned: bool = False
    ) -> tuple[Message, list, list]:
        queue = q_name(message.queue_name)
        keys = self.keys.queue(queue)
        if owned:  # a fresh message of submission.py: no copy needed (~15 µs a job)
            message.options["redis_message_id"] = str(uuid4())
        else:
            message = message.copy(options={"redis_message_id": str(uuid4())})
        priority = message.options.get("wq_priority")
        wake = keys.wake
        if delay is not None:
            message = message.copy(queue_name=dq_name(queue), options={"eta": current_millis() + delay})
            state, ready, msgs, wake = "delayed", keys.delayed, keys.delayed_msgs, keys.delayed_wake
        elif priority:
            state, ready, msgs = "prioritized", keys.prioritized, keys.msgs
        else:
            state, ready, msgs = "waiting", keys.ready, keys.msgs
        self.emit_before("enqueue", message, delay)
        script_keys = [
            ready,
            msgs,
            self.keys.job(message.message_id),
            self.keys.tomb(message.message_id),
            self.keys.queues,
            keys.priority_seq,
            wake,
            keys.msgs if msgs == keys.delayed_msgs else keys.delayed_msgs,  # where a half-state's message may be
        ]
        args = [
            "create" if create_only else "upsert",
            message.options["redis_message_id"],
            message.encode(),
            message.message_id,
            queue,
            message.actor_name,
            state,
            message.options.get("eta", ""),
            priority or "",
            _job_data(message),
            json.dumps(_public_options(message.options), sort_keys=True),
            message.options.get("wq_attempts", 1),
            message.options.get("wq_org") or "",
            message.options.get("wq_gen", ""),
        ]
        return message, script_keys, args


ENQUEUE_WRONG_TYPE = re.compile(r"WRONGTYPE (\S+) holds an? (\w+), expected an? (\w+)")


def named_wrong_type(exc: redis.ResponseError) -> redis.ResponseError:
    """The enqueue script's refusal of a wrong-type key as a WrongKeyType naming it (other errors as they are)."""
    from .key_types import WrongKeyType

    match = ENQUEUE_WRONG_TYPE.search(str(exc))
    return WrongKeyType(*match.groups()) if match else exc


def _job_data(message: Message) -> str:
    payload = (
        message.args[0]
        if len(message.args) == 1 and not message.kwargs
        else {"args": list(message.args), "kwargs": message.kwargs}
    )
    return json.dumps(payload, sort_keys=True, default=str)


def _public_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k.startswith("wq_") or k == "time_limit"}


class WellQueueConsumer(_RedisConsumer):
    """Fetches prioritized jobs first, skips paused queues, fails undecodable messages with a reason,
    and finishes each message (ack, retry or dead letter) together with its registry transition."""

    def __init__(self, broker: WellQueueBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self.is_delay_queue = queue_name.endswith(".DQ")
        self.canonical = q_name(queue_name)
        self.registry_keys = broker.keys
        self.keys = broker.keys.queue(self.canonical)
        self.acks_key = self.keys.acks(broker.broker_id, delayed=self.is_delay_queue)
        self.msgs_key = self.keys.delayed_msgs if self.is_delay_queue else self.keys.msgs
        self.list_key = self.keys.delayed if self.is_delay_queue else self.keys.ready
        self.ready_zset_key = self.keys.delayed_prioritized if self.is_delay_queue else self.keys.prioritized
        self.scripts: RegistryScripts = broker.registry_scripts
        self.probe_rid: bytes | None = None  # the message this consumer let through a paused queue as a probe
        # queue limits (rate limit, cluster cap), applied by the fetch script to the ready queue only
        self.limit_keys = [
            self.registry_keys.queue_limits(self.canonical),
            self.registry_keys.rate_window(self.canonical),
            self.registry_keys.brokers,
        ]
        self.limit_args = ["0" if self.is_delay_queue else "1", self.registry_keys.acks_stem, self.canonical]
        self.wake_key = self.keys.delayed_wake if self.is_delay_queue else self.keys.wake
        self.wakeups = 0  # idle waits that a ready job's wake-up marker ended (not the backoff)
        self.next_reconcile = 0.0  # a new consumer (also the one Dramatiq makes after a reconnect) reconciles first

    # -- fetching ---------------------------------------------------------------------------
    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                if not self.is_delay_queue and time.monotonic() >= self.next_reconcile:
                    self.reconcile()
                if self.message_cache:
                    rid, data = self.message_cache.pop(0)
                    if data is None:  # removed after it was queued
                        self.scripts.requeue(keys=self._requeue_keys(), args=["graceful", REDELIVERY_LIMIT, 0, rid])
                        continue
                    try:
                        message = Message.decode(data)
                    except DecodeError as exc:
                        self._fail_poison(rid, data, exc)
                        continue
                    self.misses = 0
                    self.queued_message_ids.add(message.message_id)
                    self.broker.held.add(self.acks_key, rid)
                    proxy = MessageProxy(message)
                    if rid == self.probe_rid:
                        proxy._wq_probe = True  # type: ignore[attr-defined]  # the PauseGate lets it run
                        self.probe_rid = None
                        record_probe(self.broker.client, self.registry_keys, self.canonical, message.message_id)
                    return proxy

                probing = False
                if not self.is_delay_queue and self.canonical in self.broker.paused_queues:
                    probing = self.canonical in self.broker.probe_queues and claim_probe(
                        self.broker.client, self.registry_keys, self.canonical
                    )
                    if not probing:
                        time.sleep(min(self.timeout, 1000) / 1000)
                        return None

                wanted = 1 if probing else self.prefetch - self.outstanding_message_count
                if wanted > 0:
                    flat = self.scripts.fetch(
                        keys=[
                            self.ready_zset_key,
                            self.list_key,
                            self.msgs_key,
                            self.acks_key,
                            self.registry_keys.fetch_batch(str(uuid4())),
                            *self.limit_keys,
                        ],
                        args=[wanted, *self.limit_args],
                    )
                    if len(flat) == 1:  # the queue's limits (jobs/limits.py) let nothing through now
                        time.sleep(min(int(flat[0]), LIMIT_RECHECK_MS) / 1000)
                        return None
                    self.message_cache = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
                    if probing and self.message_cache:
                        self.probe_rid = self.message_cache[0][0]
                if not self.message_cache:
                    self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                    if wanted > 0:
                        self._wait_for_wake(backoff_ms)
                    else:  # every prefetched message is still running: nothing to wake up for
                        time.sleep(backoff_ms / 1000)
                    return None
        except (redis.ConnectionError, redis.TimeoutError) as exc:  # both: Dramatiq retries only its own
            raise ConnectionClosed(exc) from None

    def _wait_for_wake(self, backoff_ms: int) -> None:
        """Wait for the queue's wake-up marker (added by every script that makes a job ready) instead of
        sleeping: a job enqueued meanwhile starts at once. The backoff still bounds the wait, so a job made
        ready without the marker is fetched as before; BZPOPMIN holds a pooled connection of its own."""
        limit_s = backoff_ms / 1000
        socket_timeout = self.broker.client.connection_pool.connection_kwargs.get("socket_timeout")
        if socket_timeout:  # redis-py gives blocking calls no extra time: stay inside the socket timeout
            limit_s = min(limit_s, max(socket_timeout - 1, socket_timeout / 2))
        # at least 1 ms: Redis reads a timeout that rounds to 0 ms as "block forever"
        if self.broker.client.bzpopmin(self.wake_key, timeout=max(limit_s, 0.001)):
            self.wakeups += 1

    def _fail_poison(self, rid: bytes, data: bytes, exc: DecodeError) -> None:
        cause = exc.__cause__ or exc
        reason = f"undecodable message: {type(cause).__name__}: {cause}"[:500]
        self.logger.error("Message %r on %r moved to dead letters: %s", rid, self.canonical, reason)
        excerpt = data[:2000].decode("utf-8", "replace")
        poison_id = f"poison:{rid.decode('utf-8', 'replace')}"
        self.scripts.poison(
            keys=[
                self.acks_key,
                self.msgs_key,
                self.keys.dead,
                self.keys.dead_msgs,
                self.registry_keys.job(poison_id),
                self.registry_keys.queues,
            ],
            args=[rid, self.canonical, reason, excerpt, *failure_group_args(reason, None)],
        )

    def reconcile(self) -> None:
        """Give back what this queue's acks set holds but this process does not (lua/reconcile.lua): after a
        failover the new master may lack the finish of a delivery, which would wait there until the process
        stops. Runs on the consumer thread, the only one that fetches."""
        held = self.broker.held.snapshot(self.acks_key) + [rid for rid, _data in self.message_cache]
        requeued, dropped = self.scripts.reconcile(keys=[*self._requeue_keys()[:4]], args=held)
        self.next_reconcile = time.monotonic() + RECONCILE_INTERVAL_S
        if requeued or dropped:
            self.logger.warning(
                "Reconciled %r: %d delivery(ies) this worker no longer held queued again, "
                "%d dropped (finished or removed jobs)",
                self.canonical,
                requeued,
                dropped,
            )

    def _requeue_keys(self) -> list[str]:
        return [
            self.acks_key,
            self.msgs_key,
            self.list_key,
            self.keys.prioritized,
            self.keys.dead,
            self.keys.dead_msgs,
            self.wake_key,
        ]

    # -- finishing --------------------------------------------------------------------------
    def ack(self, message: MessageProxy) -> None:
        outcome = outcome_of(message)
        self._finish(message, outcome if outcome and not self.is_delay_queue else ACKED)

    def nack(self, message: MessageProxy) -> None:
        outcome = outcome_of(message) or Outcome("failed")
        if not outcome.error:  # e.g. an unknown actor: no process hooks ran
            exc = getattr(message, "_exception", None)
            outcome = replace(outcome, error=f"{type(exc).__name__}: {exc}" if exc else "rejected by the worker")
        self._finish(message, replace(outcome, kind="failed"))

    def _finish(self, message: MessageProxy, outcome: Outcome) -> None:
        keep = message.options.get("wq_keep") or [DEFAULT_KEEP_COMPLETED, 0, DEFAULT_KEEP_FAILED, 0]
        retry = outcome.retry
        try:
            self._run_finish(
                keys=[
                    self.acks_key,
                    self.msgs_key,
                    self.registry_keys.job(message.message_id),
                    self.keys.dead,
                    self.keys.dead_msgs,
                    self.keys.delayed,
                    self.keys.delayed_msgs,
                ],
                args=[
                    outcome.kind,
                    message.options["redis_message_id"],
                    message.message_id,
                    self.canonical,
                    outcome.duration_ms,
                    outcome.error,
                    outcome.traceback,
                    outcome.result,
                    outcome.worker,
                    *keep,
                    retry.options["redis_message_id"] if retry else "",
                    retry.encode() if retry else "",
                    retry.options["eta"] if retry else "",
                    *failure_group_of(message, outcome),
                ],
            )
        except (redis.ConnectionError, redis.TimeoutError) as exc:  # both: Dramatiq retries only its own
            raise ConnectionClosed(exc) from None
        finally:
            self.queued_message_ids.discard(message.message_id)

    def _run_finish(self, *, keys: list, args: list) -> None:
        """The finish script, with WAIT behind it when asked (WELLQUEUE_MIN_REPLICAS), so a worker never runs
        ahead of its replicas. The attempt is over whatever WAIT says: too few replicas is logged (after a
        failover the job may run again, counted as a duplicate run), not raised."""
        wait = self.broker.replica_wait
        try:
            if wait.enabled:
                call_and_wait(self.broker.client, self.scripts.finish, keys, args, wait, f"{args[0]} of job {args[2]}")
            else:
                self.scripts.finish(keys=keys, args=args)
        except ReplicationTimeout as exc:
            self.logger.warning("%s", exc)
        self.broker.held.discard(self.acks_key, [args[1]])  # only once finished: a retried finish still holds it

    def requeue(self, messages) -> None:
        self._hand_back([m.options["redis_message_id"] for m in messages])

    def close(self) -> None:
        """Hand back what this consumer fetched but never handed out: its prefetch cache and, for the delay
        queue, every delayed message it held (Dramatiq drops its in-memory delay queue on a connection
        error)."""
        cached = [rid for rid, _data in self.message_cache]
        self.message_cache = []
        self._hand_back(cached, everything_held=self.is_delay_queue)

    def _hand_back(self, rids: list, *, everything_held: bool = False) -> None:
        """Requeue `rids` (and, with `everything_held`, the whole acks set), retrying through a short Redis
        outage. Dramatiq's consumer thread calls this while restarting after a connection error: anything but
        a BrokerConnectionError escaping here would kill that thread and strand its queue."""
        deadline = time.monotonic() + CLOSE_RETRY_S
        while True:
            try:
                if rids:
                    self.scripts.requeue(
                        keys=self._requeue_keys(), args=["graceful", REDELIVERY_LIMIT, int(self.is_delay_queue), *rids]
                    )
                    self.broker.held.discard(self.acks_key, rids)
                    rids = []
                if everything_held:
                    held = list(self.broker.client.smembers(self.acks_key))
                    if held:
                        self.scripts.requeue(keys=self._requeue_keys(), args=["graceful", REDELIVERY_LIMIT, 1, *held])
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if time.monotonic() >= deadline:
                    self.logger.warning(
                        "Redis unreachable while handing back messages of %r: they are left to the reaper",
                        self.queue_name,
                    )
                    raise ConnectionClosed(exc) from None
                time.sleep(0.5)


def build_broker(
    url: str | None = None,
    *,
    settings: Settings | None = None,
    client: redis.Redis | None = None,
    kinds: list[JobKind] | None = None,
) -> WellQueueBroker:
    """A broker with the WellQueue middleware and an actor per job kind (default: every configured kind)."""
    from ..connection import redis_client, resolve_redis_url
    from .kind import all_kinds

    settings = settings or get_settings()
    client = client or redis_client(url or resolve_redis_url(settings))
    broker = WellQueueBroker(
        client=client,
        keys=KeySchema.from_settings(settings),
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        middleware=[
            TimeLimit(),
            ShutdownNotifications(),
            CurrentMessage(),
            PauseGate(),
            DestinationGate(),
            Heartbeat(settings.heartbeat_timeout_ms, settings.cancel_grace_seconds),
            Attempts(),
            JobContexts(settings),
        ],
        max_payload_bytes=settings.max_payload_bytes,
        replica_wait=ReplicaWait.from_settings(settings),
    )
    for kind in kinds if kinds is not None else all_kinds(settings.kind_modules).values():
        declare_kind(broker, kind)
    register_queue_names(client, broker.keys, list(broker.kinds))
    return broker


def register_queue_names(client: redis.Redis, keys: KeySchema, names: list[str]) -> None:
    """Add the queue names to the known-queue set, so every console lists every queue even before its first
    job. A wrong-type key is logged by name and left alone: workers keep running the queues they can."""
    from .key_types import name_wrong_type

    try:
        client.sadd(keys.queues, *names)
    except redis.ResponseError as exc:
        named = name_wrong_type(client, keys, exc)
        if named is None:
            raise
        logging.getLogger(__name__).error("Cannot register the queue names: %s", named)


def declare_kind(broker: WellQueueBroker, kind) -> dramatiq.Actor:
    """Turn a JobKind into a Dramatiq actor: validate the payload, then run the processor with its context."""
    from pydantic import ValidationError

    from .context import current_job
    from .kind import PermanentJobError
    from .submission import describe_validation

    def run(payload: dict) -> Any:
        try:
            model = kind.payload.model_validate(payload)
        except ValidationError as exc:
            raise PermanentJobError(f"invalid payload: {describe_validation(exc)}") from None
        # The result reaches the registry through the Attempts middleware, not Dramatiq's Results backend.
        return kind.process(model, current_job.get())

    broker.kinds[kind.queue] = kind
    run.__name__ = run.__qualname__ = kind.name
    run.__module__ = kind.process.__module__
    return dramatiq.Actor(
        run,
        broker=broker,
        actor_name=kind.name,
        queue_name=kind.queue,
        priority=0,
        options={"time_limit": kind.timeout_ms},
    )


_default: WellQueueBroker | None = None


def default_broker() -> WellQueueBroker:
    """The process-wide broker, built from the settings on first use (also set as Dramatiq's global)."""
    global _default
    if _default is None:
        from ..connection import resolve_redis_url

        settings = get_settings()
        broker = build_broker(resolve_redis_url(settings), settings=settings)
        use_broker(broker)
        return broker
    return _default


def use_broker(broker: WellQueueBroker | None) -> None:
    """Make `broker` the process-wide one (tests, workers)."""
    global _default
    _default = broker
    if broker is not None:
        dramatiq.set_broker(broker)
