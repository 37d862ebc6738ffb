"""The queue engine's public face: `enqueue()`, `enqueue_bulk()` and `enqueue_flow()` (validated payload,
Bull-style options, idempotent ids) and job kind registration."""

from __future__ import annotations

from typing import Any

from . import flows, submission
from .flows import FlowJob
from .kind import JobKind, PermanentJobError, all_kinds
from .replication import ReplicationTimeout
from .submission import EnqueueError, build_message, describe_validation, find_kind, prepare_message, validate_payload

__all__ = [
    "EnqueueError",
    "FlowJob",
    "JobKind",
    "PermanentJobError",
    "ReplicationTimeout",
    "all_kinds",
    "build_message",
    "describe_validation",
    "enqueue",
    "enqueue_bulk",
    "enqueue_flow",
    "find_kind",
    "prepare_message",
    "validate_payload",
]


def enqueue(
    queue_or_kind: str,
    payload: Any,
    *,
    job_id: str | None = None,
    priority: int | None = None,
    delay_ms: int | None = None,
    attempts: int | None = None,
    backoff: int | dict | None = None,
    timeout_ms: int | None = None,
    remove_on_complete: bool | int | dict | None = None,
    remove_on_fail: bool | int | dict | None = None,
    broker=None,
) -> str:
    """Validate and submit one job; returns its id. A second call with the same `job_id` returns that id
    and enqueues nothing. `broker` defaults to the process-wide one."""
    return submission.enqueue(
        queue_or_kind,
        payload,
        broker=broker or _default_broker(),
        job_id=job_id,
        priority=priority,
        delay_ms=delay_ms,
        attempts=attempts,
        backoff=backoff,
        timeout_ms=timeout_ms,
        remove_on_complete=remove_on_complete,
        remove_on_fail=remove_on_fail,
    )


def enqueue_bulk(jobs: list[dict], *, broker=None) -> list[str]:
    """Validate every job first (nothing is enqueued if one is invalid), then submit them all in one
    pipelined round trip. Each item: {"queue": ..., "payload": ..., plus any `enqueue` option}."""
    return submission.enqueue_bulk(jobs, broker=broker or _default_broker())


def enqueue_flow(flow: dict, *, broker=None) -> FlowJob:
    """Validate and submit a flow (BullMQ FlowProducer.add): a parent job whose `children` run first; the
    parent waits in `waiting-children`, then runs with `ctx.children_results`. Shape in `jobs.flows`."""
    return flows.enqueue_flow(flow, broker=broker or _default_broker())


def _default_broker():
    from .broker import default_broker  # the broker pulls in Dramatiq's Redis stack: load it only to submit

    return default_broker()
