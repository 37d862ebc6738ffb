"""Heartbeat: a worker process tells the reaper it is alive (Redis server time, so host clock skew does not
matter) and marks its jobs "active" lazily, only once they have run longer than ACTIVE_AFTER_S."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

import redis
from dramatiq.middleware import Middleware
from dramatiq.middleware.threading import raise_thread_exception

from .. import cancellation

#: Jobs shorter than this are never written as "active" (the write would cost more than the job).
ACTIVE_AFTER_S = 0.15
HEARTBEAT_INTERVAL_S = 1.0  # at most; a quarter of the heartbeat timeout when that is short


def process_label(broker) -> str:
    """How this worker process names itself in job records: `{host}:{pid}:{broker id prefix}`."""
    return f"{socket.gethostname()}:{os.getpid()}:{broker.broker_id[:8]}"


class WorkerRuntime:
    """One thread per worker process: heartbeat, lazy "active" marks, and cancel requests for running jobs."""

    def __init__(self, broker, worker_label: str, heartbeat_timeout_ms: int, cancel_grace_s: float = 10.0) -> None:
        self.broker = broker
        self.client: redis.Redis = broker.client
        self.worker_label = worker_label
        self.heartbeat_interval_s = min(HEARTBEAT_INTERVAL_S, heartbeat_timeout_ms / 4000)
        self.running: dict[str, float] = {}  # job id -> monotonic start
        self.marked: set[str] = set()
        self.threads: dict[str, int] = {}  # job id -> the worker thread running it
        self.cancel_grace_s = cancel_grace_s
        self.cancels_seen: dict[str, float] = {}  # job id -> monotonic time its cancel request was first seen
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
                self.client.zrem(self.broker.keys.brokers, self.broker.broker_id)
        except redis.RedisError:
            pass

    def _owns_messages(self) -> bool:
        broker = self.broker
        with self.client.pipeline(transaction=False) as pipe:
            for queue in broker.get_declared_queues():
                keys = broker.keys.queue(queue)
                pipe.scard(keys.acks(broker.broker_id))
                pipe.scard(keys.acks(broker.broker_id, delayed=True))
            return any(pipe.execute())

    def job_started(self, job_id: str) -> None:
        with self._lock:
            self.running[job_id] = time.monotonic()
            self.threads[job_id] = threading.get_ident()

    def job_finished(self, job_id: str) -> None:
        with self._lock:
            self.running.pop(job_id, None)
            self.threads.pop(job_id, None)
            self.marked.discard(job_id)
            cancelled = self.cancels_seen.pop(job_id, None) is not None
        if cancelled and cancellation.forget(job_id):
            with contextlib.suppress(redis.RedisError):  # else it expires by itself
                self.client.delete(self.broker.keys.cancel_request(job_id))

    def _run(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_interval_s
        while not self._stop.wait(0.05):
            try:
                self._mark_active()
                if time.monotonic() >= next_beat:
                    self._beat()
                    self._check_cancels()
                    next_beat = time.monotonic() + self.heartbeat_interval_s
            except redis.RedisError:
                time.sleep(0.5)  # Redis away: consumers report it; keep trying quietly

    def _beat(self) -> None:
        self.broker.registry_scripts.heartbeat(keys=[self.broker.keys.brokers], args=[self.broker.broker_id])

    def _check_cancels(self) -> None:
        """Note cancel requests for the jobs running here; stop those still running after the grace period."""
        with self._lock:
            running = list(self.running)
        if not running:
            return
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in running:
                pipe.get(self.broker.keys.cancel_request(job_id))
            requests = pipe.execute()
        now = time.monotonic()
        for job_id, by in zip(running, requests):
            if by is None:
                continue
            with self._lock:
                if job_id not in self.running:
                    continue
                first_seen = self.cancels_seen.setdefault(job_id, now)
                thread_id = self.threads.get(job_id)
            cancellation.note_request(job_id, by.decode("utf-8", "replace") if isinstance(by, bytes) else str(by))
            if thread_id is not None and now - first_seen >= self.cancel_grace_s:
                with self._lock:
                    self.threads.pop(job_id, None)  # stopped once
                raise_thread_exception(thread_id, cancellation.JobCancelled)

    def _mark_active(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [
                (job_id, now - started)
                for job_id, started in self.running.items()
                if job_id not in self.marked and now - started >= ACTIVE_AFTER_S
            ]
            self.marked.update(job_id for job_id, _ in due)
        if not due:
            return
        script = self.broker.registry_scripts.mark_active
        keys = self.broker.keys
        with self.client.pipeline(transaction=False) as pipe:
            for job_id, running_for in due:
                script(keys=[keys.job(job_id)], args=[job_id, self.worker_label, int(running_for * 1000)], client=pipe)
            pipe.execute()


class Heartbeat(Middleware):
    """Runs the WorkerRuntime for the life of the worker process and tells it which jobs are running."""

    def __init__(self, heartbeat_timeout_ms: int, cancel_grace_s: float = 10.0) -> None:
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.cancel_grace_s = cancel_grace_s
        self.runtime: WorkerRuntime | None = None

    def before_worker_boot(self, broker, worker) -> None:
        self.runtime = WorkerRuntime(broker, process_label(broker), self.heartbeat_timeout_ms, self.cancel_grace_s)
        self.runtime.start()

    def after_worker_shutdown(self, broker, worker) -> None:
        if self.runtime:
            self.runtime.stop()

    def before_process_message(self, broker, message) -> None:
        if self.runtime:
            self.runtime.job_started(message.message_id)

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        if self.runtime:
            self.runtime.job_finished(message.message_id)

    def after_skip_message(self, broker, message) -> None:
        if self.runtime:
            self.runtime.job_finished(message.message_id)
