"""Reads of the job registry: counts (ZCARD), pages (ZRANGE + pipelined HMGET), detail, throughput.
Every read is O(page) or O(1), whatever the number of jobs; a tenant scope reads the org's own index."""

from __future__ import annotations

import json
import math
from typing import overload

import redis

from ..connection import reply_texts
from .bounded_reads import RECORD_READ_BYTES, ROW_READ_BYTES, CutField, decode, queue_bounded_hmget
from .keys import DEFAULT_KEYS, KeySchema
from .limits import LIMIT_FIELDS, limits_from
from .models import (
    STATES,
    AttemptRecord,
    FlowNode,
    JobDetail,
    JobPage,
    JobState,
    JobSummary,
    MinuteStats,
    PayloadChange,
    QueueCounts,
    QueueLimits,
    count_field,
)
from .scripts import RegistryScripts

SUMMARY_FIELDS = (
    "id",
    "queue",
    "kind",
    "state",
    "data",
    "priority",
    "attempts",
    "max_attempts",
    "progress",
    "created_at",
    "started_at",
    "finished_at",
    "duration_ms",
    "error",
    "org",
)
DETAIL_FIELDS = (
    *SUMMARY_FIELDS,
    "options",
    "run_at",
    "worker",
    "traceback",
    "result",
    "attempt_errors",
    "redeliveries",
    "stalled_at",
    "duplicate_runs",
    "enqueued_at",
    "parent",
    "history",
)
STATE_NAMES = {str(s) for s in STATES}
#: Most children a job detail reads of a flow (the tree's first levels, breadth first).
MAX_TREE_NODES = 200
SEARCH_WINDOW = 2000  # a filter looks at the newest jobs of the state, never the whole set
#: Newest first for every state except the ones that run in order (oldest / highest priority first).
ASCENDING_STATES = {JobState.WAITING, JobState.PRIORITIZED, JobState.DELAYED}


class UnknownState(ValueError):
    pass


#: Largest number a registry field may hold and still be shown (epoch ms in the year 3000 is 3.3e13).
MAX_FIELD_NUMBER = 1e14


@overload
def _text(value: bytes) -> str: ...
@overload
def _text(value: bytes | None) -> str | None: ...
def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def _number(value: bytes | None, kind=float):
    if value in (None, b""):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or abs(number) > MAX_FIELD_NUMBER:
        return None
    return kind(number)


def _unreadable(job_id: str, error: Exception) -> JobSummary:
    return JobSummary(
        id=job_id,
        queue="?",
        kind="?",
        state="unknown",
        data={},
        priority=None,
        attempts=0,
        max_attempts=1,
        progress=0.0,
        created_at=None,
        started_at=None,
        finished_at=None,
        duration_ms=None,
        error=f"record unreadable: {error}",
        org=None,
    )


def _decode_summary(job_id: str, values: list[bytes | None], problems: list[str]) -> JobSummary:
    f = dict(zip(SUMMARY_FIELDS, values))
    data = _json(f["data"], None, "data", problems)
    if data is None and f["data"]:
        data = {"raw": _text(f["data"])[:2000]}
    state = _text(f["state"])
    if state is None:
        problems.append("record has no state")
    elif state not in STATE_NAMES:
        problems.append(f"unknown state {state[:40]!r}")
    ms = lambda key: (_number(f[key]) or 0) / 1000 or None  # noqa: E731
    return JobSummary(
        id=_text(f["id"]) or job_id,
        queue=_text(f["queue"]) or "?",
        kind=_text(f["kind"]) or "?",
        state=state if state in STATE_NAMES else "unknown",
        data=data if isinstance(data, dict) else ({} if data is None else {"value": data}),
        priority=_number(f["priority"], int),
        attempts=_number(f["attempts"], int) or 0,
        max_attempts=_number(f["max_attempts"], int) or 1,
        progress=_number(f["progress"]) or 0.0,
        created_at=ms("created_at"),
        started_at=ms("started_at"),
        finished_at=ms("finished_at"),
        duration_ms=_number(f["duration_ms"], int),
        error=_text(f["error"]) or None,
        org=_text(f["org"]) or None,
    )


class Registry:
    """The read side of one deployment's registry (its key schema) over one Redis client; actions live in
    `jobs.actions`."""

    _scripts: RegistryScripts  # set by `jobs.actions` on its first script call

    def __init__(self, client: redis.Redis, keys: KeySchema = DEFAULT_KEYS) -> None:
        if not isinstance(keys, KeySchema):  # a namespace string here would read another deployment's keys
            raise TypeError(f"Registry takes a KeySchema, not {type(keys).__name__}")
        self.client = client
        self.keys = keys

    def ping(self) -> bool:
        return bool(self.client.ping())

    def server_time(self) -> float:
        seconds, micros = self.client.time()
        return seconds + micros / 1e6

    def known_queues(self) -> list[str]:
        return sorted(reply_texts(self.client.smembers(self.keys.queues), "replace"))

    def paused_queues(self) -> set[str]:
        return set(reply_texts(self.client.smembers(self.keys.paused), "replace"))

    def queue_counts(self, queue: str, org: str | None = None) -> QueueCounts:
        return self.all_counts(org, queues=[queue])[0]

    def all_counts(self, org: str | None = None, queues: list[str] | None = None) -> list[QueueCounts]:
        queues = queues if queues is not None else self.known_queues()
        with self.client.pipeline(transaction=False) as pipe:
            for queue in queues:
                for state in STATES:
                    pipe.zcard(self.keys.state(queue, state, org))
            for queue in queues:
                pipe.hmget(self.keys.queue_limits(queue), *LIMIT_FIELDS)
            pipe.smembers(self.keys.paused)
            *replies, paused = pipe.execute(raise_on_error=False)
        per = len(STATES)
        cards = [c if isinstance(c, int) else 0 for c in replies[: per * len(queues)]]  # a foreign key counts 0
        limits = [limits_from(r) if isinstance(r, list) else QueueLimits() for r in replies[per * len(queues) :]]
        if isinstance(paused, Exception):
            paused = set()
        paused_names = {p.decode("utf-8", "replace") for p in paused}
        return [
            QueueCounts(
                queue,
                **{count_field(s): cards[i * per + j] for j, s in enumerate(STATES)},
                paused=queue in paused_names,
                limits=limits[i],
            )
            for i, queue in enumerate(queues)
        ]

    def page_ids(self, queue: str, state: str, offset: int, limit: int, org: str | None = None) -> list[str]:
        key = self.keys.state(queue, _state(state), org)
        if JobState(state) in ASCENDING_STATES:
            ids = self.client.zrange(key, offset, offset + limit - 1)
        else:
            ids = self.client.zrevrange(key, offset, offset + limit - 1)
        return reply_texts(ids, "replace")

    def list_jobs(self, queue: str, state: str, offset: int = 0, limit: int = 50, org: str | None = None) -> JobPage:
        state = _state(state)
        total = self.client.zcard(self.keys.state(queue, state, org))
        ids = self.page_ids(queue, state, offset, limit, org)
        return JobPage(queue, state, total, offset, self._summaries(ids))

    def search_jobs(self, queue: str, state: str, text: str, limit: int = 50, org: str | None = None) -> JobPage:
        """Jobs whose id or payload contains `text` (case-insensitive), among the newest SEARCH_WINDOW of the state."""
        state = _state(state)
        needle = text.lower()
        ids = self.page_ids(queue, state, 0, SEARCH_WINDOW, org)
        direct = [i for i in ids if needle in i.lower()]
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in ids:
                queue_bounded_hmget(pipe, self.keys.job(job_id), ("data",), ROW_READ_BYTES)
            rows = [decode(row) for row in pipe.execute(raise_on_error=False)]
        datas = [None if isinstance(row, Exception) or isinstance(row[0], CutField) else row[0] for row in rows]
        matching = [
            i
            for i, d in zip(ids, datas)
            if i in direct or (isinstance(d, bytes) and needle in d.decode("utf-8", "replace").lower())
        ]
        found = self._summaries(matching[:limit])
        return JobPage(queue, state, len(matching), 0, found)

    def _summaries(self, ids: list[str]) -> list[JobSummary]:
        if not ids:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in ids:
                queue_bounded_hmget(pipe, self.keys.job(job_id), SUMMARY_FIELDS, ROW_READ_BYTES)
            rows = [decode(row) for row in pipe.execute(raise_on_error=False)]
        summaries = []
        for job_id, row in zip(ids, rows):
            if isinstance(row, Exception):  # e.g. WRONGTYPE: someone wrote another type at the job's key
                summaries.append(_unreadable(job_id, row))
            elif any(v is not None for v in row):
                summaries.append(_decode_summary(job_id, row, []))
        return summaries

    def get_job(self, job_id: str, org: str | None = None, log_lines: int = 200) -> JobDetail | None:
        with self.client.pipeline(transaction=False) as pipe:
            queue_bounded_hmget(pipe, self.keys.job(job_id), DETAIL_FIELDS, RECORD_READ_BYTES)
            pipe.lrange(self.keys.job_log(job_id), -log_lines, -1)
            pipe.srandmember(self.keys.job_children(job_id), MAX_TREE_NODES)
            reply, logs, children = pipe.execute(raise_on_error=False)
        row = decode(reply)
        problems: list[str] = []
        if isinstance(row, Exception):
            return JobDetail(
                summary=_unreadable(job_id, row),
                options={},
                delayed_until=None,
                worker=None,
                traceback=None,
                result=None,
                problems=[f"record unreadable: {row}"],
            )
        if all(v is None for v in row):
            return None
        if isinstance(logs, Exception):
            problems.append(f"log unreadable: {logs}")
            logs = []
        summary = _decode_summary(job_id, list(row[: len(SUMMARY_FIELDS)]), problems)
        if org is not None and summary.org != org:
            return None  # another tenant's job is "not found"
        f = dict(zip(DETAIL_FIELDS, row))
        return JobDetail(
            summary=summary,
            options=_json(f["options"], {}, "options", problems),
            delayed_until=(_number(f["run_at"]) or 0) / 1000 or None,
            worker=_text(f["worker"]) or None,
            traceback=_text(f["traceback"]) or None,
            result=_json(f["result"], None, "result", problems),
            logs=[line.decode("utf-8", "replace") for line in logs],
            attempt_errors=_attempts(_json(f["attempt_errors"], [], "attempt_errors", problems), problems),
            redeliveries=_number(f["redeliveries"], int) or 0,
            problems=problems,
            history=_history(_json(f["history"], [], "history", problems), problems),
            parent=_text(f["parent"]) or None,
            children=self.flow_tree(children) if isinstance(children, list) and children else (),
        )

    def flow_tree(self, child_ids: list[bytes]) -> tuple[FlowNode, ...]:
        """A flow parent's children and theirs, read a level at a time (one pipeline per level), sorted by id,
        at most MAX_TREE_NODES in all."""
        budget = MAX_TREE_NODES
        levels: list[tuple[list[str], list]] = []
        ids = sorted(reply_texts(child_ids, "replace"))[:budget]
        while ids:
            budget -= len(ids)
            with self.client.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hmget(self.keys.job(job_id), "queue", "state")
                    pipe.srandmember(self.keys.job_children(job_id), max(budget, 0))
                replies = pipe.execute(raise_on_error=False)
            rows = [(replies[i], replies[i + 1]) for i in range(0, len(replies), 2)]
            levels.append((ids, rows))
            ids = []
            for _, kids in rows:
                if isinstance(kids, list):
                    ids.extend(sorted(reply_texts(kids, "replace")))
            ids = ids[: max(budget, 0)]
        nodes: dict[str, FlowNode] = {}
        for ids_at, rows in reversed(levels):
            for job_id, (fields, kids) in zip(ids_at, rows):
                queue, state = fields if isinstance(fields, list) else (None, None)
                below = sorted(reply_texts(kids, "replace")) if isinstance(kids, list) else []
                nodes[job_id] = FlowNode(
                    job_id,
                    _text(queue) or "?",
                    _text(state) or "removed",
                    tuple(nodes[k] for k in below if k in nodes),
                )
        first = levels[0][0] if levels else []
        return tuple(nodes[i] for i in first)

    def throughput(self, queue: str, minutes: int = 60, now: float | None = None) -> list[MinuteStats]:
        """Completed/failed per minute for the last `minutes` minutes, oldest first (one pipelined HGETALL each)."""
        current = int((now if now is not None else self.server_time()) // 60)
        wanted = range(current - minutes + 1, current + 1)
        with self.client.pipeline(transaction=False) as pipe:
            for minute in wanted:
                pipe.hmget(self.keys.stats(queue, minute), "completed", "failed", "duration_ms_sum")
            rows = pipe.execute()
        return [MinuteStats(m, int(c or 0), int(f or 0), int(d or 0)) for m, (c, f, d) in zip(wanted, rows)]


def _attempts(raw: list, problems: list[str]) -> list[AttemptRecord]:
    records = []
    for item in raw:
        try:
            number, at, error = item
            records.append(AttemptRecord(int(number or 0), float(at or 0) / 1000, str(error)))
        except (TypeError, ValueError, OverflowError):
            problems.append("attempt_errors holds a malformed entry")
    return records


def _history(raw: list, problems: list[str]) -> list[PayloadChange]:
    changes = []
    for item in raw:
        try:
            changes.append(PayloadChange(float(item["at"]) / 1000, str(item["by"]), str(item["data"])))
        except (TypeError, ValueError, KeyError, OverflowError):
            problems.append("history holds a malformed entry")
    return changes


def _state(state: str) -> str:
    try:
        return str(JobState(state))
    except ValueError:
        raise UnknownState(f"unknown state {state!r}; use one of {', '.join(STATES)}") from None


def _json(raw: bytes | None, default, name: str, problems: list[str]):
    if raw in (None, b""):
        return default
    if isinstance(raw, CutField):
        problems.append(f"{name} is too large to show ({raw.size} bytes, left in Redis)")
        return default
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        problems.append(f"{name} is not valid JSON (or nested too deeply)")
        return default
    if default is not None and not isinstance(value, type(default)):
        problems.append(f"{name} is a {type(value).__name__}, not a {type(default).__name__}")
        return default
    return value
