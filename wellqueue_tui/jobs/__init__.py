"""`enqueue()`: the one public way to submit work (validated payload, Bull-style options, idempotent ids)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from dramatiq.message import Message
from pydantic import BaseModel, ValidationError

from .kinds import JobKind, all_kinds
from .options import JobOptions

#: E-mail priorities map onto job priorities so urgent alerts jump the queue (1 = highest).
NOTIFICATION_PRIORITY = {"urgent": 1, "high": 2}


class EnqueueError(ValueError):
    """The job was not accepted: unknown queue, invalid payload or options. The message names the field."""


def find_kind(queue_or_kind: str, kinds: dict[str, JobKind] | None = None) -> JobKind:
    """The job kind for a queue name (`data-validation`) or an actor name (`validate_production_data`)."""
    kinds = kinds if kinds is not None else all_kinds()
    if queue_or_kind in kinds:
        return kinds[queue_or_kind]
    for kind in kinds.values():
        if kind.name == queue_or_kind:
            return kind
    raise EnqueueError(f"unknown queue {queue_or_kind!r}; known queues: {', '.join(sorted(kinds))}")


def validate_payload(kind: JobKind, payload: Any) -> BaseModel:
    try:
        return kind.payload.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()[:10]
        )
        raise EnqueueError(f"invalid payload for {kind.queue}: {problems}") from None


def build_message(kind: JobKind, payload: BaseModel, options: JobOptions, job_id: str) -> Message:
    data = payload.model_dump(mode="json", exclude_none=True)
    message_options = options.message_options()
    org = data.get("organizationId")
    if org:
        message_options["wq_org"] = org
    return Message(queue_name=kind.queue, actor_name=kind.name, args=(data,), kwargs={},
                   options=message_options, message_id=job_id)


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
    and enqueues nothing."""
    from .broker import default_broker

    broker = broker or default_broker()
    kind = find_kind(queue_or_kind, broker.kinds)
    model = validate_payload(kind, payload)
    if priority is None and kind.queue == "email-notifications":
        priority = NOTIFICATION_PRIORITY.get(getattr(model, "priority", None))
    try:
        options = JobOptions.build(
            job_id=job_id, priority=priority, delay_ms=delay_ms, attempts=attempts, backoff=backoff,
            timeout_ms=timeout_ms, remove_on_complete=remove_on_complete, remove_on_fail=remove_on_fail,
            default_attempts=kind.max_attempts, default_backoff_ms=kind.backoff_ms,
        )
    except (ValidationError, ValueError) as exc:
        raise EnqueueError(f"invalid job options: {_options_problem(exc)}") from None
    job_id = options.job_id or str(uuid4())
    message = build_message(kind, model, options, job_id)
    broker.submit(message, delay=options.delay_ms, create_only=True)
    return job_id


def _options_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
    return str(exc)
