"""Job context: gives each running job its JobContext (progress, log lines, follow-up jobs), writing
progress and logs straight to the job's registry keys, and takes it away when the job ends or is skipped."""

from __future__ import annotations

import time
from typing import Any

import redis
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from ...settings import Settings
from ..context import JobContext, current_job
from ..keys import KeySchema
from .outcome import storable

PROGRESS_MIN_INTERVAL_S = 0.2
LOG_LINES_KEPT = 1000


class RedisJobSink:
    """Progress and log lines of running jobs, written straight to the job's registry keys."""

    def __init__(self, client: redis.Redis, keys: KeySchema, broker) -> None:
        self.client = client
        self.keys = keys
        self.broker = broker
        self._last_progress: dict[str, float] = {}

    def progress(self, job_id: str, percent: float) -> None:
        now = time.monotonic()
        if percent < 100 and now - self._last_progress.get(job_id, 0.0) < PROGRESS_MIN_INTERVAL_S:
            return
        self._last_progress[job_id] = now
        self.client.hset(self.keys.job(job_id), "progress", round(percent, 1))

    def log(self, job_id: str, line: str) -> None:
        stamped = storable(f"{time.strftime('%H:%M:%S')} {line[:2000]}")
        key = self.keys.job_log(job_id)
        with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(key, stamped)
            pipe.ltrim(key, -LOG_LINES_KEPT, -1)
            pipe.execute()

    def enqueue(self, queue_or_kind: str, payload: dict, **options: Any) -> str:
        from ..submission import enqueue

        return enqueue(queue_or_kind, payload, broker=self.broker, **options)

    def forget(self, job_id: str) -> None:
        self._last_progress.pop(job_id, None)


class JobContexts(Middleware):
    """Sets `current_job` for the thread running a message and clears it afterwards."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sink: RedisJobSink | None = None

    def _sink(self, broker) -> RedisJobSink:
        if self.sink is None:
            self.sink = RedisJobSink(broker.client, broker.keys, broker)
        return self.sink

    def before_process_message(self, broker, message) -> None:
        attempt = message.options.get("retries", 0) + 1
        queue = q_name(message.queue_name)
        current_job.set(JobContext(message.message_id, queue, attempt, self.settings, self._sink(broker)))

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        self._end(message)

    def after_skip_message(self, broker, message) -> None:
        self._end(message)

    def _end(self, message) -> None:
        current_job.set(None)
        if self.sink:
            self.sink.forget(message.message_id)
