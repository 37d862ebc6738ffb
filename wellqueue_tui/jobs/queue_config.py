"""What a queue's jobs get when their callers set nothing — attempts, backoff, timeout, retention — with the
worker threads this host gives it and the limits in force: the kind's own defaults under WELLQUEUE_DEFAULT_JOB_*
under the queue's WELLQUEUE_QUEUE_OPTIONS entry, the same resolution `enqueue` applies (jobs/submission.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings
from .kind import JobKind
from .models import QueueLimits
from .options import DEFAULT_KEEP_COMPLETED, DEFAULT_KEEP_FAILED, Retention


@dataclass(frozen=True)
class QueueConfig:
    """One queue's effective defaults, as the console's queue info panel shows them."""

    queue: str
    attempts: int
    backoff_type: str  # exponential | fixed
    backoff_delay_ms: int
    timeout_ms: int
    delay_ms: int
    keep_completed: Retention
    keep_failed: Retention
    threads: int | None  # per worker process on this host; None: this host runs no workers for it
    processes: int
    limits: QueueLimits


def queue_config(settings: Settings, kind: JobKind, limits: QueueLimits) -> QueueConfig:
    defaults = settings.job_defaults(kind.queue, attempts=kind.max_attempts, backoff_ms=kind.backoff_ms)
    return QueueConfig(
        queue=kind.queue,
        attempts=defaults.attempts,
        backoff_type=defaults.backoff["type"],
        backoff_delay_ms=defaults.backoff["delay"],
        timeout_ms=defaults.timeout_ms or kind.timeout_ms,
        delay_ms=defaults.delay_ms,
        keep_completed=Retention.parse(defaults.remove_on_complete, DEFAULT_KEEP_COMPLETED),
        keep_failed=Retention.parse(defaults.remove_on_fail, DEFAULT_KEEP_FAILED),
        threads=settings.worker_threads().get(kind.queue),
        processes=settings.worker_processes,
        limits=limits,
    )
