"""Worker processes as every console sees them: records in Redis, plus the control list that carries
scale/restart requests from any console to the supervisor that owns the processes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, cast

import redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..jobs.keys import KeySchema

# Records: zset `{prefix}:workers` (member = process id `{host}:{supervisor_pid}:{group}:{slot}`, score = last
# heartbeat in Redis server ms) plus hash `{prefix}:worker:{id}` (TTL 30 s), refreshed by the owning supervisor every
# ~2 s. Control: a console pushes a JSON request onto the list `{prefix}:ctl:{host}:{supervisor_pid}` (TTL 5 min, so
# requests to a vanished supervisor expire) and the supervisor pops it on its next refresh. A list rather than
# pub/sub: a request survives the supervisor's brief Redis outage, and the sender learns at once when no live
# supervisor matches.
RECORD_TTL_S = 30
STALE_AFTER_MS = 60_000
MAX_LISTED = 1000
CONTROL_TTL_S = 300
ALIVE_WITHIN_S = 15.0  # a supervisor refreshes every ~2 s; older records belong to one that stopped or hangs
MAX_REQUESTS_PER_POLL = 50


class WorkerState(StrEnum):
    RUNNING = "running"
    STOPPING = "stopping"  # asked to stop (drain, scale-down or restart), finishing its jobs
    RESTARTING = "restarting"  # exited unexpectedly, waiting out its backoff
    CRASH_LOOP = "crash-loop"  # restarted too often in a short time: no longer restarted until asked
    FAILED = "failed"  # exited with code 2 (bad arguments or import error): restarting cannot help
    STOPPED = "stopped"


class ControlError(RuntimeError):
    """A scale or restart request could not be addressed; the message says why and what to do."""


@dataclass(frozen=True)
class WorkerRecord:
    """What a supervisor publishes about one of its process slots."""

    id: str
    supervisor: str  # `{host}:{supervisor_pid}`
    host: str
    group: str
    queues: tuple[str, ...]
    threads: int
    state: WorkerState
    pid: int | None
    started: float | None  # epoch seconds (supervisor host clock)
    restarts: int
    last_exit_code: int | None
    rss_bytes: int | None
    active: int  # jobs this process holds in the registry's active sets
    last_error: str | None = None  # the process's last error-level log line

    def as_hash(self) -> dict[str, str]:
        return {
            "supervisor": self.supervisor,
            "host": self.host,
            "group": self.group,
            "queues": json.dumps(list(self.queues)),
            "threads": str(self.threads),
            "state": str(self.state),
            "pid": "" if self.pid is None else str(self.pid),
            "started": "" if self.started is None else f"{self.started:.3f}",
            "restarts": str(self.restarts),
            "last_exit_code": "" if self.last_exit_code is None else str(self.last_exit_code),
            "rss_bytes": "" if self.rss_bytes is None else str(self.rss_bytes),
            "active": str(self.active),
            "last_error": self.last_error or "",
        }


@dataclass(frozen=True)
class WorkerInfo:
    """One worker process as read back from Redis, by any console on any host."""

    id: str
    host: str
    supervisor: str
    group: str
    queues: tuple[str, ...]
    threads: int | None
    state: str
    pid: int | None
    started: float | None
    restarts: int
    last_exit_code: int | None
    rss_bytes: int | None
    active: int
    last_error: str | None
    heartbeat: float  # epoch seconds, Redis server clock
    heartbeat_age_s: float  # against Redis server time, so host clock skew does not matter
    problem: str | None = None  # set when the stored record is malformed


def server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _decode_worker(worker_id: str, fields: dict[str, str], score: float, now_ms: int) -> WorkerInfo:
    problems: list[str] = []

    def number(name: str, kind=int, required: bool = False):
        raw = fields.get(name, "")
        if raw == "":
            if required:
                problems.append(f"{name} missing")
            return None
        try:
            return kind(raw)
        except ValueError:
            problems.append(f"{name} is not a number: {raw[:40]!r}")
            return None

    try:
        queues = json.loads(fields.get("queues", "[]"))
        if not isinstance(queues, list) or not all(isinstance(q, str) for q in queues):
            raise ValueError
    except ValueError:
        problems.append("queues is not a JSON list of names")
        queues = []
    state = fields.get("state", "")
    if state not in {s.value for s in WorkerState}:
        problems.append(f"unknown state {state[:40]!r}")
    host = fields.get("host") or worker_id.split(":", 1)[0]
    return WorkerInfo(
        id=worker_id,
        host=host,
        supervisor=fields.get("supervisor", ""),
        group=fields.get("group", ""),
        queues=tuple(queues),
        threads=number("threads", required=True),
        state=state or "unknown",
        pid=number("pid"),
        started=number("started", float),
        restarts=number("restarts") or 0,
        last_exit_code=number("last_exit_code"),
        rss_bytes=number("rss_bytes"),
        active=number("active") or 0,
        last_error=fields.get("last_error") or None,
        heartbeat=score / 1000,
        heartbeat_age_s=max(0.0, (now_ms - score) / 1000),
        problem="; ".join(problems) or None,
    )


def read_rss_bytes(pid: int) -> int | None:
    """Resident memory of a local process (VmRSS in /proc), or None where that cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return None


def text(value: bytes | str) -> str:
    """A Redis reply as str, whether the client decodes responses or not."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- control requests ---------------------------------------------------------------------------------------


class ControlRequest(BaseModel):
    """An operator's request to a supervisor: scale a group by `delta`, or restart one process."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    action: Literal["scale", "restart"]
    group: str | None = None
    delta: int | None = Field(default=None, ge=-64, le=64)
    worker_id: str | None = None


def _alive(worker: WorkerInfo) -> bool:
    """Whether the worker's supervisor still runs and refreshes its records (so it will read requests)."""
    return bool(worker.supervisor) and worker.state != WorkerState.STOPPED and worker.heartbeat_age_s < ALIVE_WITHIN_S


class WorkerRecords:
    """The worker process records and control lists of one deployment (its key schema) on one Redis client."""

    def __init__(self, client: redis.Redis, keys: KeySchema) -> None:
        self.client = client
        self.keys = keys

    def publish(self, records: list[WorkerRecord], ttl_s: int = RECORD_TTL_S) -> int:
        """Write (or refresh) the records with a heartbeat from Redis server time, in one MULTI; returns that time."""
        now = server_ms(self.client)
        with self.client.pipeline(transaction=True) as pipe:
            for record in records:
                key = self.keys.worker(record.id)
                # redis-py types `mapping` with an invariant key union, which no dict[str, str] matches
                pipe.hset(key, mapping={**record.as_hash(), "heartbeat": str(now)})  # type: ignore[dict-item]
                pipe.expire(key, ttl_s)
                pipe.zadd(self.keys.workers, {record.id: now})
            pipe.execute()
        return now

    def remove(self, worker_ids: list[str]) -> None:
        """Forget processes that no longer exist (scaled away)."""
        if not worker_ids:
            return
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.workers, *worker_ids)
            pipe.delete(*(self.keys.worker(worker_id) for worker_id in worker_ids))
            pipe.execute()

    def list_workers(self, stale_after_ms: int = STALE_AFTER_MS) -> list[WorkerInfo]:
        """Every live worker process on every host, sorted by id.

        Members whose heartbeat is older than `stale_after_ms`, or whose hash expired, are dropped on read."""
        client = self.client
        now = server_ms(client)
        client.zremrangebyscore(self.keys.workers, "-inf", now - stale_after_ms - 1)
        members = cast(
            "list[tuple[bytes, float]]", client.zrange(self.keys.workers, 0, MAX_LISTED - 1, withscores=True)
        )
        with client.pipeline(transaction=False) as pipe:
            for member, _score in members:
                pipe.hgetall(self.keys.worker(text(member)))
            hashes = pipe.execute()
        workers, expired = [], []
        for (member, score), fields in zip(members, hashes, strict=True):
            worker_id = text(member)
            if not fields:
                expired.append(worker_id)
                continue
            workers.append(_decode_worker(worker_id, {text(k): text(v) for k, v in fields.items()}, score, now))
        if expired:
            client.zrem(self.keys.workers, *expired)
        return sorted(workers, key=lambda worker: worker.id)

    def request_scale(self, target: str, group: str, delta: int) -> str:
        """Ask the supervisor on `target` (a host name, or a supervisor id `host:pid`) to add or remove processes
        of `group`; returns the supervisor id the request went to."""
        if delta == 0:
            raise ControlError("scale: delta must be +N or -N, not 0")
        supervisors = sorted(
            {w.supervisor for w in self.list_workers() if target in (w.host, w.supervisor) and _alive(w)}
        )
        if not supervisors:
            raise ControlError(f"no running supervisor on {target!r}; check the host name on the workers screen")
        if len(supervisors) > 1:
            raise ControlError(
                f"{target!r} runs {len(supervisors)} supervisors ({', '.join(supervisors)}); "
                "name one of them instead of the host"
            )
        self._push(supervisors[0], ControlRequest(action="scale", group=group, delta=delta))
        return supervisors[0]

    def request_restart(self, worker_id: str) -> str:
        """Ask the supervisor that owns `worker_id` to restart that process; returns the supervisor id."""
        supervisor, state = self.client.hmget(self.keys.worker(worker_id), "supervisor", "state")
        if not supervisor or text(state or b"") == WorkerState.STOPPED:
            raise ControlError(f"no worker process {worker_id!r} (it may have stopped); refresh the workers screen")
        supervisor_id = text(supervisor)
        self._push(supervisor_id, ControlRequest(action="restart", worker_id=worker_id))
        return supervisor_id

    def _push(self, supervisor_id: str, request: ControlRequest) -> None:
        key = self.keys.worker_control(supervisor_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(key, request.model_dump_json(exclude_none=True))
            pipe.expire(key, CONTROL_TTL_S)
            pipe.execute()

    def take_requests(self, supervisor_id: str) -> tuple[list[ControlRequest], list[str]]:
        """Pop the pending requests for a supervisor: (valid requests, descriptions of malformed ones)."""
        # LPOP with a count replies with a list of values (or nothing)
        raw = (
            cast("list[bytes] | None", self.client.lpop(self.keys.worker_control(supervisor_id), MAX_REQUESTS_PER_POLL))
            or []
        )
        requests, rejected = [], []
        for item in raw:
            raw_request = text(item)
            try:
                requests.append(ControlRequest.model_validate_json(raw_request))
            except ValidationError as exc:
                rejected.append(f"{raw_request[:200]!r}: {exc.errors()[0]['msg']}")
        return requests, rejected
