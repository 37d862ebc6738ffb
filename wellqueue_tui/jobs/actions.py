"""Operator actions on the registry (retry, remove, promote, clean, drain, pause, resume), shared by the
console and the CLI. Each action is atomic per job (one Lua script) and honours a tenant scope `org`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import uuid4

from dramatiq.message import Message

from ..connection import reply_text, reply_texts
from ..sanitize import safe_str
from ..settings import get_settings
from .cancellation import REQUEST_TTL_S
from .models import JobState
from .registry import Registry, _state
from .replication import ReplicaWait
from .scripts import RegistryScripts

BATCH = 500
RESUBMIT_FIELDS = ("state", "gen", "queue", "kind", "data", "options")


@dataclass(frozen=True)
class ActionResult:
    action: str
    target: str
    count: int
    message: str
    warning: str | None = None  # something to tell besides the outcome (the audit entry could not be written)


class ActionError(Exception):
    """An action could not be done; the message says why and what to do."""


def _scripts(reg: Registry) -> RegistryScripts:
    scripts = getattr(reg, "_scripts", None)
    if scripts is None:
        scripts = reg._scripts = RegistryScripts(reg.client, reg.keys)
    return scripts


def _resubmit(reg: Registry, ids: list[str], expected: str, org: str | None) -> dict[str, int]:
    """Put failed (retry) or delayed (promote) jobs back on their ready queue; returns id -> script code."""
    if not ids:
        return {}
    with reg.client.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hmget(reg.keys.job(job_id), RESUBMIT_FIELDS)
        rows = pipe.execute(raise_on_error=False)
    script = _scripts(reg).resubmit
    codes: dict[str, int] = {}
    with reg.client.pipeline(transaction=False) as pipe:
        queued = []
        for job_id, row in zip(ids, rows):
            if isinstance(row, Exception):
                codes[job_id] = -3
                continue
            state, gen, queue, kind, data, options = (_decode(v) for v in row)
            if state is None:
                codes[job_id] = -2
                continue
            if state != expected:
                codes[job_id] = 0
                continue
            try:
                message = _rebuild(job_id, queue, kind, data, options, int(gen or 0) + 1)
            except (ValueError, TypeError, AttributeError, RecursionError):
                codes[job_id] = -3  # malformed record: cannot be rebuilt
                continue
            keys = reg.keys.queue(message.queue_name)
            script(
                keys=[
                    reg.keys.job(job_id),
                    keys.ready,
                    keys.prioritized,
                    keys.msgs,
                    keys.dead,
                    keys.dead_msgs,
                    keys.delayed_msgs,
                    keys.priority_seq,
                    keys.wake,
                ],
                args=[
                    job_id,
                    expected,
                    gen if gen is not None else "",
                    message.options["redis_message_id"],
                    message.encode(),
                    org or "",
                ],
                client=pipe,
            )
            queued.append(job_id)
        if not queued:
            return codes
        wait = ReplicaWait.from_settings(get_settings())  # acknowledged means replicated, when asked
        wait.queue(pipe)
        replies = wait.split(pipe.execute(), f"requeue of {len(queued)} job(s)")
        for job_id, code in zip(queued, replies):
            codes[job_id] = int(code)
    return codes


def _decode(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def _rebuild(
    job_id: str, queue: str | None, kind: str | None, data: str | None, options: str | None, gen: int
) -> Message:
    if not queue or not kind or kind.startswith("(") or data is None:
        raise ValueError("not a job message")
    payload = json.loads(data)
    stored_options = json.loads(options or "{}")
    if not isinstance(stored_options, dict):
        raise ValueError("options are not an object")
    message_options = {**stored_options, "wq_gen": gen, "redis_message_id": str(uuid4())}
    return Message(
        queue_name=queue, actor_name=kind, args=(payload,), kwargs={}, options=message_options, message_id=job_id
    )


def _single(codes: dict[str, int], job_id: str, verb: str, expected: str) -> None:
    code = codes.get(job_id, -2)
    job_id = safe_str(job_id, 200)
    if code == -2:
        raise ActionError(f"job {job_id!r} not found")
    if code == -3:
        raise ActionError(f"job {job_id!r} has a malformed record and cannot be {verb}; remove it instead")
    if code == 0:
        raise ActionError(f"job {job_id!r} is not {expected} (any more), so it cannot be {verb}")


def retry_job(reg: Registry, job_id: str, *, org: str | None = None) -> ActionResult:
    _single(_resubmit(reg, [job_id], "failed", org), job_id, "retried", "failed")
    return ActionResult("retry", job_id, 1, f"job {job_id} queued again")


def promote_job(reg: Registry, job_id: str, *, org: str | None = None) -> ActionResult:
    _single(_resubmit(reg, [job_id], "delayed", org), job_id, "promoted", "delayed")
    return ActionResult("promote", job_id, 1, f"job {job_id} will run now")


def retry_jobs(reg: Registry, job_ids: list[str], *, org: str | None = None) -> ActionResult:
    codes = _resubmit(reg, job_ids, "failed", org)
    done = sum(1 for c in codes.values() if c == 1)
    return ActionResult("retry", f"{len(job_ids)} selected", done, f"{done} of {len(job_ids)} jobs queued again")


def promote_jobs(reg: Registry, job_ids: list[str], *, org: str | None = None) -> ActionResult:
    codes = _resubmit(reg, job_ids, "delayed", org)
    done = sum(1 for c in codes.values() if c == 1)
    return ActionResult("promote", f"{len(job_ids)} selected", done, f"{done} of {len(job_ids)} delayed jobs promoted")


def retry_all_failed(reg: Registry, queue: str, *, org: str | None = None) -> ActionResult:
    done = 0
    seen: set[str] = set()
    while True:
        ids = reply_texts(reg.client.zrange(reg.keys.state(queue, JobState.FAILED, org), 0, BATCH - 1))
        ids = [i for i in ids if i not in seen]  # unretryable records stay in `failed`; don't loop on them
        if not ids:
            break
        seen.update(ids)
        done += sum(1 for c in _resubmit(reg, ids, "failed", org).values() if c == 1)
    return ActionResult("retry_all", queue, done, f"{done} failed jobs in {queue} queued again")


def _remove(reg: Registry, job_ids: list[str], org: str | None, states: str = "") -> dict[str, int]:
    if not job_ids:
        return {}
    with reg.client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(reg.keys.job(job_id), "queue")
        queues = pipe.execute(raise_on_error=False)
    script = _scripts(reg).remove
    codes: dict[str, int] = {}
    with reg.client.pipeline(transaction=False) as pipe:
        queued = []
        for job_id, queue in zip(job_ids, queues):
            if not isinstance(queue, bytes):  # gone, or not a job record at all
                codes[job_id] = -2
                continue
            keys = reg.keys.queue(queue.decode("utf-8", "replace"))
            script(
                keys=[reg.keys.job(job_id), keys.msgs, keys.delayed_msgs, keys.dead, keys.dead_msgs],
                args=[job_id, org or "", states],
                client=pipe,
            )
            queued.append(job_id)
        if not queued:
            return codes
        wait = ReplicaWait.from_settings(get_settings())  # acknowledged means replicated, when asked
        wait.queue(pipe)
        replies = wait.split(pipe.execute(), f"requeue of {len(queued)} job(s)")
        for job_id, code in zip(queued, replies):
            codes[job_id] = int(code)
    return codes


def remove_job(reg: Registry, job_id: str, *, org: str | None = None) -> ActionResult:
    code = _remove(reg, [job_id], org).get(job_id, -2)
    if code == -2:
        raise ActionError(f"job {job_id!r} not found")
    if code == 0:
        raise ActionError(f"job {job_id!r} is running; wait for it to finish (or fail) before removing it")
    return ActionResult("remove", job_id, 1, f"job {job_id} removed")


def cancel_job(reg: Registry, job_id: str, by: str, *, org: str | None = None) -> ActionResult:
    """Ask the worker running `job_id` to cancel it (jobs/cancellation.py); only a running job can be."""
    raw_state, raw_owner = reg.client.hmget(reg.keys.job(job_id), "state", "org")
    state = reply_text(raw_state, "replace") if raw_state is not None else None
    owner = reply_text(raw_owner, "replace") if raw_owner is not None else None
    if state is None or (org is not None and owner != org):
        raise ActionError(f"job {job_id!r} not found")
    if state != JobState.ACTIVE:
        raise ActionError(f"job {job_id!r} is not running (it is {state}); remove it instead")
    reg.client.set(reg.keys.cancel_request(job_id), by, ex=REQUEST_TTL_S)
    return ActionResult("cancel", job_id, 1, f"job {job_id} cancelled: it stops at its next check or after the grace")


def remove_jobs(reg: Registry, job_ids: list[str], *, org: str | None = None) -> ActionResult:
    done = sum(1 for c in _remove(reg, job_ids, org).values() if c == 1)
    return ActionResult("remove", f"{len(job_ids)} selected", done, f"{done} of {len(job_ids)} jobs removed")


CLEANABLE = (JobState.COMPLETED, JobState.FAILED, JobState.WAITING, JobState.DELAYED, JobState.PRIORITIZED)


def clean_jobs(
    reg: Registry, queue: str, state: str, older_than_ms: int, limit: int = 1000, *, org: str | None = None
) -> ActionResult:
    """Remove up to `limit` jobs of `state` that entered it (or, for delayed and prioritized, were created)
    more than `older_than_ms` ago."""
    state = _state(state)
    if JobState(state) not in CLEANABLE:
        raise ActionError(f"cannot clean {state} jobs; clean one of {', '.join(CLEANABLE)}")
    cutoff = reg.server_time() * 1000 - older_than_ms
    key = reg.keys.state(queue, state, org)
    done = 0
    while done < limit:
        if JobState(state) in (JobState.DELAYED, JobState.PRIORITIZED):  # scores are not entry times here
            candidates = _created_before(reg, key, cutoff, min(BATCH, limit - done))
        else:
            candidates = reply_texts(reg.client.zrangebyscore(key, "-inf", cutoff, 0, min(BATCH, limit - done)))
        if not candidates:
            break
        removed = sum(1 for c in _remove(reg, candidates, org, states=state).values() if c == 1)
        done += removed
        if removed == 0:
            break
    return ActionResult("clean", f"{queue}/{state}", done, f"{done} {state} jobs removed from {queue}")


def _created_before(reg: Registry, key: str, cutoff_ms: float, count: int) -> list[str]:
    ids = reply_texts(reg.client.zrange(key, 0, 4 * count - 1))
    with reg.client.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hget(reg.keys.job(job_id), "created_at")
        created = pipe.execute(raise_on_error=False)
    return [i for i, c in zip(ids, created) if (_ms(c) or cutoff_ms) < cutoff_ms][:count]


def _ms(raw) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def drain_queue(reg: Registry, queue: str, *, org: str | None = None) -> ActionResult:
    """Remove every job waiting to run (waiting and prioritized); delayed jobs stay."""
    done = 0
    for state in (JobState.WAITING, JobState.PRIORITIZED):
        key = reg.keys.state(queue, state, org)
        while True:
            ids = reply_texts(reg.client.zrange(key, 0, BATCH - 1))
            if not ids:
                break
            removed = sum(1 for c in _remove(reg, ids, org, states=str(state)).values() if c == 1)
            done += removed
            if removed == 0:
                break
    return ActionResult("drain", queue, done, f"{done} waiting jobs removed from {queue}")


def pause_queue(reg: Registry, queue: str) -> ActionResult:
    _known(reg, queue)
    with reg.client.pipeline(transaction=True) as pipe:
        pipe.sadd(reg.keys.paused, queue)
        pipe.publish(reg.keys.control_channel, json.dumps({"paused": queue}))
        pipe.execute()
    return ActionResult("pause", queue, 1, f"{queue} paused: workers on every host stop taking its jobs")


def resume_queue(reg: Registry, queue: str) -> ActionResult:
    _known(reg, queue)
    with reg.client.pipeline(transaction=True) as pipe:
        pipe.srem(reg.keys.paused, queue)
        pipe.publish(reg.keys.control_channel, json.dumps({"resumed": queue}))
        pipe.execute()
    return ActionResult("resume", queue, 1, f"{queue} resumed")


def _known(reg: Registry, queue: str) -> None:
    if not reg.client.sismember(reg.keys.queues, queue):
        raise ActionError(safe_str(f"unknown queue {queue!r}; known queues: {', '.join(reg.known_queues())}", 500))
