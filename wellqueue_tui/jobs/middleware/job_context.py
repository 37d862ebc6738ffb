"""Job context: gives each running job its JobContext (progress, log lines, follow-up jobs), writing
progress and logs straight to the job's registry keys, and takes it away when the job ends or is skipped.
A write Redis refuses (an outage, a failover under way) is buffered and retried, never failing the job."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
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
#: Log lines kept in memory while Redis is away (the oldest go first beyond this).
PENDING_LINES_MAX = 10_000
#: After Redis refused a write, job writes only buffer for this long before trying again.
RETRY_AFTER_S = 1.0

logger = logging.getLogger(__name__)


class RedisJobSink:
    """Progress and log lines of running jobs, written straight to the job's registry keys. While Redis refuses
    writes they wait in memory (the latest progress per job, up to PENDING_LINES_MAX log lines) and go out, in
    order, with the next write that succeeds or when the job ends."""

    def __init__(self, client: redis.Redis, keys: KeySchema, broker) -> None:
        self.client = client
        self.keys = keys
        self.broker = broker
        self._last_progress: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pending_progress: dict[str, float] = {}
        self._pending_lines: deque[tuple[str, str]] = deque(maxlen=PENDING_LINES_MAX)
        self._retry_at = 0.0  # after a refused write, the job's own writes only buffer until then

    def progress(self, job_id: str, percent: float) -> None:
        now = time.monotonic()
        if percent < 100 and now - self._last_progress.get(job_id, 0.0) < PROGRESS_MIN_INTERVAL_S:
            return
        self._last_progress[job_id] = now
        with self._lock:
            self._pending_progress[job_id] = round(percent, 1)
        self.flush()

    def log(self, job_id: str, line: str) -> None:
        stamped = storable(f"{time.strftime('%H:%M:%S')} {line[:2000]}")
        with self._lock:
            self._pending_lines.append((job_id, stamped))
        self.flush()

    def flush(self, *, force: bool = False) -> bool:
        """Write what is pending in one round trip; False (kept for the next try) when Redis refuses it. Within
        RETRY_AFTER_S of a refusal only `force` tries again, so an outage does not slow every log line."""
        if not force and time.monotonic() < self._retry_at:
            return False
        with self._lock:
            progress, self._pending_progress = self._pending_progress, {}
            lines = list(self._pending_lines)
            self._pending_lines.clear()
        if not progress and not lines:
            return True
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for job_id, line in lines:
                    pipe.rpush(self.keys.job_log(job_id), line)
                for job_id in {job_id for job_id, _line in lines}:
                    pipe.ltrim(self.keys.job_log(job_id), -LOG_LINES_KEPT, -1)
                for job_id, percent in progress.items():
                    pipe.hset(self.keys.job(job_id), "progress", percent)
                pipe.execute()
            self._retry_at = 0.0
            return True
        except redis.RedisError as exc:
            self._retry_at = time.monotonic() + RETRY_AFTER_S
            with self._lock:  # back in front of anything written meanwhile, newer progress winning
                self._pending_progress = {**progress, **self._pending_progress}
                self._pending_lines.extendleft(reversed(lines))
            logger.warning("Job progress and log lines kept in memory until Redis takes them: %s", exc)
            return False

    def enqueue(self, queue_or_kind: str, payload: dict, **options: Any) -> str:
        from ..submission import enqueue

        return enqueue(queue_or_kind, payload, broker=self.broker, **options)

    def children_of(self, job_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        """A flow parent's children: results of the completed ones and errors of the ignored failures, by id.
        Both hashes hold at most one field per child (a flow holds at most jobs.flows.MAX_FLOW_JOBS jobs)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.job_results(job_id))
            pipe.hgetall(self.keys.job_ignored(job_id))
            raw_results, raw_failures = pipe.execute()
        results = {_text(k): _result(v) for k, v in raw_results.items()}
        return results, {_text(k): _text(v) for k, v in raw_failures.items()}

    def forget(self, job_id: str) -> None:
        """The job ended: its progress is final (the finish sets it), only its log lines may still go out."""
        self._last_progress.pop(job_id, None)
        with self._lock:
            self._pending_progress.pop(job_id, None)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _result(raw: bytes | str) -> Any:
    text = _text(raw)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


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
        sink = self._sink(broker)
        results, failures = sink.children_of(message.message_id) if message.options.get("wq_children") else ({}, {})
        current_job.set(
            JobContext(
                message.message_id,
                queue,
                attempt,
                self.settings,
                sink,
                children_results=results,
                children_failures=failures,
            )
        )

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        self._end(message)

    def after_skip_message(self, broker, message) -> None:
        self._end(message)

    def _end(self, message) -> None:
        current_job.set(None)
        if self.sink:
            self.sink.flush(force=True)
            self.sink.forget(message.message_id)
