"""The platform document's queue manager on WellQueue: `add_job(JobType.X, data, {"priority": …})`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wellqueue_tui.jobs import EnqueueError, enqueue

from ..common.options import enqueue_options
from .job_types import QUEUES, engine_priority


def add_job(job_type: str, data: Mapping[str, Any], options: Mapping[str, Any] | None = None, *, broker=None) -> str:
    """Validate and enqueue one job; `options` as the document writes them (priority 1-20, delay, attempts,
    jobId, removeOnComplete, removeOnFail). Returns the job id."""
    if job_type not in QUEUES:
        raise EnqueueError(f"unknown job type {job_type!r}; use one of {', '.join(QUEUES)}")
    return enqueue(QUEUES[job_type], dict(data), broker=broker, **enqueue_options(options, priority=engine_priority))
