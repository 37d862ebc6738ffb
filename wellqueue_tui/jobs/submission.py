"""Turn a job into a validated Dramatiq message and submit it to a given broker (`jobs.enqueue` picks the
default broker)."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from dramatiq.message import Message
from pydantic import BaseModel, ValidationError

from ..settings import DEFAULT_MAX_PAYLOAD_BYTES, get_settings
from .kind import JobKind, all_kinds
from .options import JOB_ID_PATTERN, JobOptions


class EnqueueError(ValueError):
    """The job was not accepted: unknown queue, invalid payload or options. The message names the field."""


def find_kind(queue_or_kind: str, kinds: dict[str, JobKind] | None = None) -> JobKind:
    """The job kind for a queue name or for the Dramatiq actor name of its kind."""
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
        raise EnqueueError(f"invalid payload for {kind.queue}: {describe_validation(exc)}") from None
    except RecursionError:
        raise EnqueueError(f"invalid payload for {kind.queue}: nested too deeply") from None


def describe_validation(exc: ValidationError, limit: int = 10) -> str:
    """pydantic's errors as `field.path: message; …`, with hostile field names made printable and bounded."""
    from ..sanitize import safe_str

    return "; ".join(
        safe_str(f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}", 300)
        for err in exc.errors()[:limit]
    )


def build_message(kind: JobKind, payload: BaseModel, options: JobOptions, job_id: str, sent: Any = None) -> Message:
    return _message(kind, wire_data(payload, sent), options.message_options(), job_id)


def _message(kind: JobKind, data: dict, message_options: dict, job_id: str) -> Message:
    org = data.get(kind.tenant_field) if kind.tenant_field else None
    if org:
        message_options["wq_org"] = org
    return Message(
        queue_name=kind.queue, actor_name=kind.name, args=(data,), kwargs={}, options=message_options, message_id=job_id
    )


def wire_data(payload: BaseModel, sent: Any = None) -> dict:
    """The job's data as stored and handed to the worker: the caller's own object when it is plain JSON, so
    a payload is kept exactly as written (`2025-09-05T22:42:36.494Z` stays so), else only the fields the
    caller set (the worker re-validates exactly that; defaults may be refused in some modes)."""
    return _wire_data_and_size(payload, sent)[0]


def _wire_data_and_size(payload: BaseModel, sent: Any) -> tuple[dict, int]:
    """`wire_data` and the length of its JSON as Dramatiq encodes it (compact), from one encoding."""
    if isinstance(sent, dict):
        try:
            return sent, len(json.dumps(sent, allow_nan=False, separators=(",", ":")))
        except (TypeError, ValueError, RecursionError):
            pass
    data = payload.model_dump(mode="json", exclude_unset=True)
    return data, len(json.dumps(data, separators=(",", ":")))


def enqueue(queue_or_kind: str, payload: Any, *, broker, **options: Any) -> str:
    """Validate and submit one job to `broker` (options as in `jobs.enqueue`); returns its id. A second call
    with the same `job_id` returns that id and enqueues nothing."""
    message, delay = prepare_message(broker, queue_or_kind, payload, **options)
    broker.submit(message, delay=delay, create_only=True, owned=True)
    return message.message_id


def enqueue_bulk(jobs: list[dict], *, broker) -> list[str]:
    """Validate every job first (nothing is enqueued if one is invalid), then submit them all to `broker` in
    one pipelined round trip. Each item: {"queue": ..., "payload": ..., plus any `enqueue` option}."""
    prepared = []
    for index, job in enumerate(jobs):
        spec = dict(job)
        try:
            queue, payload = spec.pop("queue"), spec.pop("payload")
            prepared.append(prepare_message(broker, queue, payload, **spec))
        except KeyError as exc:
            raise EnqueueError(f"job {index}: missing {exc.args[0]!r}") from None
        except TypeError as exc:
            raise EnqueueError(f"job {index}: {exc}") from None
        except EnqueueError as exc:
            raise EnqueueError(f"job {index}: {exc}") from None
    broker.submit_many(prepared, create_only=True, owned=True)
    return [message.message_id for message, _delay in prepared]


def prepare_message(
    broker,
    queue_or_kind: str,
    payload: Any,
    *,
    job_id=None,
    priority=None,
    delay_ms=None,
    attempts=None,
    backoff=None,
    timeout_ms=None,
    remove_on_complete=None,
    remove_on_fail=None,
) -> tuple[Message, int | None]:
    """The validated Dramatiq message for one job, and its delay."""
    kind = find_kind(queue_or_kind, broker.kinds)
    model = validate_payload(kind, payload)
    if priority is None and kind.priority_of is not None:
        priority = kind.priority_of(model)
    given = (priority, delay_ms, attempts, backoff, timeout_ms, remove_on_complete, remove_on_fail)
    message_options = None
    if all(value is None for value in given) and (job_id is None or _plain_job_id(job_id)):
        options, message_options = _default_options(kind, broker.kinds)  # the common case, built once per kind
    else:
        options = _build_options(kind, broker.kinds, job_id=job_id, given=given)
    data, size = _wire_data_and_size(model, payload)
    # a broker that names no limit (a stand-in with only `kinds`) gets the default one
    _check_size(kind, size, getattr(broker, "max_payload_bytes", DEFAULT_MAX_PAYLOAD_BYTES))
    message_options = _copy_options(message_options) if message_options is not None else options.message_options()
    return _message(kind, data, message_options, job_id or options.job_id or str(uuid4())), options.delay_ms


def _build_options(kind: JobKind, known_queues, *, job_id, given: tuple) -> JobOptions:
    priority, delay_ms, attempts, backoff, timeout_ms, remove_on_complete, remove_on_fail = given
    try:
        defaults = get_settings().job_defaults(
            kind.queue, attempts=kind.max_attempts, backoff_ms=kind.backoff_ms, known_queues=known_queues
        )
        return JobOptions.build(
            job_id=job_id,
            priority=priority,
            delay_ms=defaults.delay_ms if delay_ms is None else delay_ms,
            attempts=attempts,
            backoff=defaults.backoff if backoff is None else backoff,
            timeout_ms=defaults.timeout_ms if timeout_ms is None else timeout_ms,
            remove_on_complete=defaults.remove_on_complete if remove_on_complete is None else remove_on_complete,
            remove_on_fail=defaults.remove_on_fail if remove_on_fail is None else remove_on_fail,
            default_attempts=defaults.attempts,
            default_backoff_ms=kind.backoff_ms,
        )
    except (ValidationError, ValueError) as exc:
        raise EnqueueError(f"invalid job options: {_options_problem(exc)}") from None


#: (settings, kind, known queues) -> the options of a job whose caller set none, and their message options.
#: Entries hold their settings and kind, so a key whose ids were reused never matches another's objects.
_DEFAULTS: dict[tuple, tuple[Any, JobKind, JobOptions, dict]] = {}


def _default_options(kind: JobKind, known_queues) -> tuple[JobOptions, dict]:
    settings = get_settings()
    key = (id(settings), id(kind), frozenset(known_queues))
    hit = _DEFAULTS.get(key)
    if hit is not None and hit[0] is settings and hit[1] is kind:
        return hit[2], hit[3]
    options = _build_options(kind, known_queues, job_id=None, given=(None,) * 7)
    if len(_DEFAULTS) >= 256:  # settings re-read many times (tests): start over rather than grow
        _DEFAULTS.clear()
    _DEFAULTS[key] = (settings, kind, options, options.message_options())
    return options, _DEFAULTS[key][3]


def _plain_job_id(job_id: Any) -> bool:
    """A job id JobOptions would accept as it is (anything else takes the validating path for its error)."""
    return type(job_id) is str and JOB_ID_PATTERN.fullmatch(job_id) is not None


def _copy_options(options: dict) -> dict:
    """A copy of cached message options that a caller may change, nested lists and dicts included."""
    return {k: v.copy() if isinstance(v, dict | list) else v for k, v in options.items()}


def check_payload_size(kind: JobKind, data: Any, limit: int) -> None:
    """Refuse a payload whose JSON encoding exceeds `limit` bytes (WELLQUEUE_MAX_PAYLOAD_BYTES)."""
    _check_size(kind, len(json.dumps(data, separators=(",", ":"))), limit)  # as Dramatiq encodes it: compact


def _check_size(kind: JobKind, size: int, limit: int) -> None:
    if size > limit:
        raise EnqueueError(
            f"payload for {kind.queue} is {size} bytes of JSON, over the limit of {limit} bytes "
            "(WELLQUEUE_MAX_PAYLOAD_BYTES); store large data elsewhere and pass a reference"
        )


def _options_problem(exc: Exception) -> str:
    from ..sanitize import safe_str

    if isinstance(exc, ValidationError):
        return describe_validation(exc, 5)
    return safe_str(exc, 300)
