"""The PAM document's queue API (`enqueueIngestion`, `enqueueCalculation`, …, `getJobStatus`) on WellQueue.

Options use the document's names (`jobId`, `delay`, `attempts`, `priority`). PAM counts priority the
other way round (1-1000, higher runs first, 0 = none); WellQueue runs 1 first, so `priority: p` becomes
WellQueue priority 1001 − p, and 0 means no priority.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wellqueue_tui.jobs import EnqueueError, enqueue
from wellqueue_tui.jobs.registry import Registry

from ..common.options import enqueue_options

MAX_PAM_PRIORITY = 1000
QUEUES = {
    "ingestion": "pam.ingestion",
    "calculation": "pam.calculation",
    "webhooks": "pam.webhooks",
    "reports": "pam.reports",
}


def engine_priority(pam_priority: int) -> int | None:
    """PAM's priority (higher first, 0 none) as WellQueue's (1 first)."""
    if isinstance(pam_priority, bool) or not isinstance(pam_priority, int) or not 0 <= pam_priority <= MAX_PAM_PRIORITY:
        raise EnqueueError(f"priority must be a whole number from 0 to {MAX_PAM_PRIORITY}, got {pam_priority!r}")
    return None if pam_priority == 0 else MAX_PAM_PRIORITY + 1 - pam_priority


def _enqueue(queue: str, data: Mapping[str, Any], options: Mapping[str, Any] | None, broker) -> str:
    return enqueue(QUEUES[queue], dict(data), broker=broker, **enqueue_options(options, priority=engine_priority))


def enqueue_ingestion(data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None) -> str:
    return _enqueue("ingestion", data, options, broker)


def enqueue_calculation(data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None) -> str:
    return _enqueue("calculation", data, options, broker)


def enqueue_webhook(data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None) -> str:
    return _enqueue("webhooks", data, options, broker)


def enqueue_report(data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None) -> str:
    return _enqueue("reports", data, options, broker)


def get_job_status(registry: Registry, queue: str, job_id: str) -> dict | None:
    """`{"state", "progress", "result"}` of a job of `queue` ("calculation" or "pam.calculation"), or None."""
    job = registry.get_job(job_id)
    if job is None or job.summary.queue not in (queue, QUEUES.get(queue)):
        return None
    return {"state": job.summary.state, "progress": job.summary.progress, "result": job.result}
