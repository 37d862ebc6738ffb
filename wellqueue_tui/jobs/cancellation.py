"""Cancelling a running job: an operator's request is a key per job (with a TTL); the worker process running
the job sees it within a heartbeat, its context then reports it (`ctx.cancelled`, `ctx.check_cancelled()`) so a
long processor stops between steps, and a job still running after the grace period is stopped hard. Either
way the job fails for good with "cancelled by <operator>"."""

from __future__ import annotations

import threading

#: A request for a job that no worker runs (it ended meanwhile) goes away by itself after this long.
REQUEST_TTL_S = 3600


class JobCancelled(Exception):
    """Raised in a job an operator cancelled (by `ctx.check_cancelled()`, or into its thread after the grace)."""


_seen: dict[str, str] = {}  # job id -> who asked, for the jobs this process runs
_lock = threading.Lock()


def note_request(job_id: str, by: str) -> None:
    """The worker runtime saw a cancel request for a job it runs."""
    with _lock:
        _seen[job_id] = by


def cancelled_by(job_id: str) -> str | None:
    with _lock:
        return _seen.get(job_id)


def forget(job_id: str) -> str | None:
    with _lock:
        return _seen.pop(job_id, None)


def describe(job_id: str) -> str:
    by = cancelled_by(job_id)
    return f"JobCancelled: cancelled by {by}" if by else "JobCancelled"
