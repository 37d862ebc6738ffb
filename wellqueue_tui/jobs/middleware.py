"""Dramatiq middleware that decides each attempt's outcome and keeps a worker process's registry duties:
heartbeats (Redis server time), the paused-queue cache, lazy "active" marks, and progress/log output."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import traceback
from typing import Any
from uuid import uuid4

import redis
from dramatiq.common import dq_name, q_name
from dramatiq.middleware import Middleware, SkipMessage
from dramatiq.middleware.time_limit import TimeLimitExceeded
from pydantic import ValidationError

from ..settings import Settings
from .context import JobContext, current_job
from .keys import BROKERS, PAUSED, QueueKeys, job_key, job_log_key
from .kind import PermanentJobError
from .options import Backoff
from .probe_gate import PROBES

#: Jobs shorter than this are never written as "active" (the write would cost more than the job).
ACTIVE_AFTER_S = 0.15
HEARTBEAT_INTERVAL_S = 2.0  # at most; a quarter of the heartbeat timeout when that is short
#: Workers on every host notice a queue being paused or resumed within this long.
PAUSE_POLL_S = 1.0
PROGRESS_MIN_INTERVAL_S = 0.2
LOG_LINES_KEPT = 1000
RESULT_MAX_BYTES = 16_384


class RedisJobSink:
    """Progress and log lines of running jobs, written straight to the job's registry keys."""

    def __init__(self, client: redis.Redis, broker) -> None:
        self.client = client
        self.broker = broker
        self._last_progress: dict[str, float] = {}

    def progress(self, job_id: str, percent: float) -> None:
        now = time.monotonic()
        if percent < 100 and now - self._last_progress.get(job_id, 0.0) < PROGRESS_MIN_INTERVAL_S:
            return
        self._last_progress[job_id] = now
        self.client.hset(job_key(job_id), "progress", round(percent, 1))

    def log(self, job_id: str, line: str) -> None:
        stamped = storable(f"{time.strftime('%H:%M:%S')} {line[:2000]}")
        with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(job_log_key(job_id), stamped)
            pipe.ltrim(job_log_key(job_id), -LOG_LINES_KEPT, -1)
            pipe.execute()

    def enqueue(self, queue_or_kind: str, payload: dict, **options: Any) -> str:
        from .submission import enqueue

        return enqueue(queue_or_kind, payload, broker=self.broker, **options)

    def forget(self, job_id: str) -> None:
        self._last_progress.pop(job_id, None)


class WorkerRuntime:
    """One thread per worker process: heartbeat, paused-queue cache, and lazy "active" marks."""

    def __init__(self, broker, worker_label: str, heartbeat_timeout_ms: int) -> None:
        self.broker = broker
        self.client: redis.Redis = broker.client
        self.worker_label = worker_label
        self.heartbeat_interval_s = min(HEARTBEAT_INTERVAL_S, heartbeat_timeout_ms / 4000, PAUSE_POLL_S)
        self.running: dict[str, tuple[float, str]] = {}  # job id -> (monotonic start, queue)
        self.marked: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wellqueue-runtime", daemon=True)

    def start(self) -> None:
        self._beat()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating. The heartbeat entry goes only when this process owns no message any more;
        otherwise it is left to go stale, so the reaper hands those messages to other workers."""
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            if not self._owns_messages():
                self.client.zrem(BROKERS, self.broker.broker_id)
        except redis.RedisError:
            pass

    def _owns_messages(self) -> bool:
        broker = self.broker
        with self.client.pipeline(transaction=False) as pipe:
            for queue in broker.get_declared_queues():
                keys = QueueKeys(broker.namespace, queue)
                pipe.scard(keys.acks(broker.broker_id))
                pipe.scard(keys.acks(broker.broker_id, delayed=True))
            return any(pipe.execute())

    def job_started(self, job_id: str, queue: str) -> None:
        with self._lock:
            self.running[job_id] = (time.monotonic(), queue)

    def job_finished(self, job_id: str) -> None:
        with self._lock:
            self.running.pop(job_id, None)
            self.marked.discard(job_id)

    def _run(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_interval_s
        while not self._stop.wait(0.05):
            try:
                self._mark_active()
                if time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + self.heartbeat_interval_s
            except redis.RedisError:
                time.sleep(0.5)  # Redis away: consumers report it; keep trying quietly

    def _beat(self) -> None:
        self.broker.registry_scripts.heartbeat(keys=[BROKERS], args=[self.broker.broker_id])
        with self.client.pipeline(transaction=False) as pipe:
            paused, probes = pipe.smembers(PAUSED).hkeys(PROBES).execute()
        self.broker.paused_queues = frozenset(q.decode("utf-8", "replace") for q in paused)
        self.broker.probe_queues = frozenset(q.decode("utf-8", "replace") for q in probes)

    def _mark_active(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(job_id, now - started) for job_id, (started, _q) in self.running.items()
                   if job_id not in self.marked and now - started >= ACTIVE_AFTER_S]
            self.marked.update(job_id for job_id, _ in due)
        if not due:
            return
        script = self.broker.registry_scripts.mark_active
        with self.client.pipeline(transaction=False) as pipe:
            for job_id, running_for in due:
                script(keys=[job_key(job_id)], args=[job_id, self.worker_label, int(running_for * 1000)], client=pipe)
            pipe.execute()


class RegistryMiddleware(Middleware):
    """Decides retry or failure per attempt (Bull-style attempts and backoff), stashing the outcome for the
    consumer's finish script, and gives each running job its JobContext."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime: WorkerRuntime | None = None
        self.sink: RedisJobSink | None = None
        self._local = threading.local()

    @property
    def actor_options(self) -> set[str]:
        return set()

    # -- process lifecycle ------------------------------------------------------------------
    def before_worker_boot(self, broker, worker) -> None:
        label = f"{socket.gethostname()}:{os.getpid()}:{broker.broker_id[:8]}"
        self.runtime = WorkerRuntime(broker, label, self.settings.heartbeat_timeout_ms)
        self.runtime.start()

    def after_worker_shutdown(self, broker, worker) -> None:
        if self.runtime:
            self.runtime.stop()

    def _sink(self, broker) -> RedisJobSink:
        if self.sink is None:
            self.sink = RedisJobSink(broker.client, broker)
        return self.sink

    # -- per message ------------------------------------------------------------------------
    def before_process_message(self, broker, message) -> None:
        queue = q_name(message.queue_name)
        if queue in broker.paused_queues and not getattr(message, "_wq_probe", False):
            message._wq_outcome = {"outcome": "requeued"}
            broker.registry_scripts.requeue(
                keys=_requeue_keys(broker, queue), args=["graceful", 0, 0, message.options["redis_message_id"]]
            )
            raise SkipMessage("queue paused; handed back")
        self._local.started = time.monotonic()
        if self.runtime:
            self.runtime.job_started(message.message_id, queue)
        attempt = message.options.get("retries", 0) + 1
        current_job.set(JobContext(message.message_id, queue, attempt, self.settings, self._sink(broker)))

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        duration_ms = int((time.monotonic() - getattr(self._local, "started", time.monotonic())) * 1000)
        context = current_job.get()
        result = context.result if context is not None else result
        current_job.set(None)
        if self.runtime:
            self.runtime.job_finished(message.message_id)
        if self.sink:
            self.sink.forget(message.message_id)
        worker = self.runtime.worker_label if self.runtime else ""
        if exception is None:
            message._wq_outcome = {"outcome": "completed", "duration_ms": duration_ms,
                                   "result": _encode_result(result), "worker": worker}
            return

        attempt = message.options.get("retries", 0) + 1
        max_attempts = message.options.get("wq_attempts", 1)
        outcome = {"duration_ms": duration_ms, "worker": worker, "error": storable(_describe(exception, message)),
                   "traceback": storable("".join(traceback.format_exception(exception))[-20_000:])}
        permanent = isinstance(exception, (PermanentJobError, ValidationError))
        if permanent or attempt >= max_attempts:
            message.fail()
            message._wq_outcome = {**outcome, "outcome": "failed"}
            return
        delay = Backoff.model_validate(message.options.get("wq_backoff") or {}).delay_ms(attempt)
        retry = message.copy(
            queue_name=dq_name(q_name(message.queue_name)),
            options={"retries": attempt, "eta": int(time.time() * 1000) + delay, "redis_message_id": _new_rid()},
        )
        message._wq_outcome = {**outcome, "outcome": "retry", "retry_message": retry}

    def after_skip_message(self, broker, message) -> None:
        current_job.set(None)
        if self.runtime:
            self.runtime.job_finished(message.message_id)


def _requeue_keys(broker, queue: str) -> list[str]:
    keys = QueueKeys(broker.namespace, queue)
    return [keys.acks(broker.broker_id), keys.msgs, keys.ready, keys.prioritized, keys.dead, keys.dead_msgs]


def _new_rid() -> str:
    return str(uuid4())


def storable(text: str) -> str:
    """Text Redis can take: lone surrogates (from undecodable bytes) become visible backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _describe(exception: BaseException, message) -> str:
    if isinstance(exception, TimeLimitExceeded):
        limit = message.options.get("time_limit")
        return f"TimeLimitExceeded: stopped after its timeout of {limit} ms" if limit else "TimeLimitExceeded"
    text = str(exception)
    name = type(exception).__name__
    return f"{name}: {text}" if text else name


def _encode_result(result: Any) -> str:
    if result is None:
        return ""
    encoded = json.dumps(result, default=str, sort_keys=True)
    if len(encoded) > RESULT_MAX_BYTES:
        return json.dumps({"truncated": True, "preview": encoded[:RESULT_MAX_BYTES]})
    return encoded
