"""Reads of the job registry: counts (ZCARD), pages (ZRANGE + pipelined HMGET), detail, throughput.
Every read is O(page) or O(1), whatever the number of jobs; a tenant scope reads the org's own index."""

from __future__ import annotations

import json

import redis

from .keys import PAUSED, QUEUES, job_key, job_log_key, state_key, stats_key
from .models import STATES, AttemptRecord, JobDetail, JobPage, JobState, JobSummary, MinuteStats, QueueCounts

SUMMARY_FIELDS = ("id", "queue", "kind", "state", "data", "priority", "attempts", "max_attempts", "progress",
                  "created_at", "started_at", "finished_at", "duration_ms", "error", "org")
DETAIL_FIELDS = SUMMARY_FIELDS + ("options", "run_at", "worker", "traceback", "result", "attempt_errors",
                                  "redeliveries", "stalled_at", "duplicate_runs", "enqueued_at")
SEARCH_WINDOW = 2000  # a filter looks at the newest jobs of the state, never the whole set
#: Newest first for every state except the ones that run in order (oldest / highest priority first).
ASCENDING_STATES = {JobState.WAITING, JobState.PRIORITIZED, JobState.DELAYED}


class UnknownState(ValueError):
    pass


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def _number(value: bytes | None, kind=float):
    if value in (None, b""):
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def _decode_summary(job_id: str, values: list[bytes | None], problems: list[str]) -> JobSummary:
    f = dict(zip(SUMMARY_FIELDS, values))
    try:
        data = json.loads(f["data"]) if f["data"] else {}
    except ValueError:
        problems.append("data is not valid JSON")
        data = {"raw": _text(f["data"])}
    if f["state"] is None:
        problems.append("record has no state")
    ms = lambda key: (_number(f[key]) or 0) / 1000 or None  # noqa: E731
    return JobSummary(
        id=_text(f["id"]) or job_id,
        queue=_text(f["queue"]) or "?",
        kind=_text(f["kind"]) or "?",
        state=_text(f["state"]) or "unknown",
        data=data if isinstance(data, dict) else {"value": data},
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
    """The read side of the registry over one Redis client; actions live in `jobs.actions`."""

    def __init__(self, client: redis.Redis, namespace: str = "wellqueue") -> None:
        self.client = client
        self.namespace = namespace

    def ping(self) -> bool:
        return bool(self.client.ping())

    def server_time(self) -> float:
        seconds, micros = self.client.time()
        return seconds + micros / 1e6

    def known_queues(self) -> list[str]:
        return sorted(q.decode() for q in self.client.smembers(QUEUES))

    def paused_queues(self) -> set[str]:
        return {q.decode() for q in self.client.smembers(PAUSED)}

    def queue_counts(self, queue: str, org: str | None = None) -> QueueCounts:
        return self.all_counts(org, queues=[queue])[0]

    def all_counts(self, org: str | None = None, queues: list[str] | None = None) -> list[QueueCounts]:
        queues = queues if queues is not None else self.known_queues()
        with self.client.pipeline(transaction=False) as pipe:
            for queue in queues:
                for state in STATES:
                    pipe.zcard(state_key(queue, state, org))
            pipe.smembers(PAUSED)
            *cards, paused = pipe.execute()
        paused_names = {p.decode() for p in paused}
        per = len(STATES)
        return [
            QueueCounts(queue, **{str(s): cards[i * per + j] for j, s in enumerate(STATES)}, paused=queue in paused_names)
            for i, queue in enumerate(queues)
        ]

    def page_ids(self, queue: str, state: str, offset: int, limit: int, org: str | None = None) -> list[str]:
        key = state_key(queue, _state(state), org)
        if JobState(state) in ASCENDING_STATES:
            ids = self.client.zrange(key, offset, offset + limit - 1)
        else:
            ids = self.client.zrevrange(key, offset, offset + limit - 1)
        return [i.decode() for i in ids]

    def list_jobs(self, queue: str, state: str, offset: int = 0, limit: int = 50, org: str | None = None) -> JobPage:
        state = _state(state)
        total = self.client.zcard(state_key(queue, state, org))
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
                pipe.hget(job_key(job_id), "data")
            datas = pipe.execute()
        matching = [i for i, d in zip(ids, datas) if i in direct or (d and needle in d.decode("utf-8", "replace").lower())]
        found = self._summaries(matching[:limit])
        return JobPage(queue, state, len(matching), 0, found)

    def _summaries(self, ids: list[str]) -> list[JobSummary]:
        if not ids:
            return []
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(job_key(job_id), SUMMARY_FIELDS)
            rows = pipe.execute()
        return [_decode_summary(job_id, row, []) for job_id, row in zip(ids, rows) if any(v is not None for v in row)]

    def get_job(self, job_id: str, org: str | None = None, log_lines: int = 200) -> JobDetail | None:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hmget(job_key(job_id), DETAIL_FIELDS)
            pipe.lrange(job_log_key(job_id), -log_lines, -1)
            row, logs = pipe.execute()
        if all(v is None for v in row):
            return None
        problems: list[str] = []
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
            attempt_errors=[
                AttemptRecord(int(n or 0), (at or 0) / 1000, str(err))
                for n, at, err in _json(f["attempt_errors"], [], "attempt_errors", problems)
                if isinstance(err, str)
            ],
            redeliveries=_number(f["redeliveries"], int) or 0,
            problems=problems,
        )

    def throughput(self, queue: str, minutes: int = 60, now: float | None = None) -> list[MinuteStats]:
        """Completed/failed per minute for the last `minutes` minutes, oldest first (one pipelined HGETALL each)."""
        current = int((now if now is not None else self.server_time()) // 60)
        wanted = range(current - minutes + 1, current + 1)
        with self.client.pipeline(transaction=False) as pipe:
            for minute in wanted:
                pipe.hmget(stats_key(queue, minute), "completed", "failed", "duration_ms_sum")
            rows = pipe.execute()
        return [MinuteStats(m, int(c or 0), int(f or 0), int(d or 0)) for m, (c, f, d) in zip(wanted, rows)]


def _state(state: str) -> str:
    try:
        return str(JobState(state))
    except ValueError:
        raise UnknownState(f"unknown state {state!r}; use one of {', '.join(STATES)}") from None


def _json(raw: bytes | None, default, name: str, problems: list[str]):
    if raw in (None, b""):
        return default
    try:
        return json.loads(raw)
    except ValueError:
        problems.append(f"{name} is not valid JSON")
        return default

