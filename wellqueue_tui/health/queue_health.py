"""Health per queue: latency (age of the oldest waiting job), consumers across all hosts, stuck jobs, recent
outcome rates and the backlog trend. Two pipelined round trips whatever the number of jobs: O(1) per queue
plus a bounded page of its oldest active jobs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from ..jobs.keys import KeySchema
from ..workers.worker_records import (
    ALIVE_WITHIN_S,
    WorkerInfo,
    WorkerRecords,
    WorkerState,
)

#: Oldest active jobs looked at per queue for stuck detection (older ones are the likely stuck ones).
STUCK_PAGE = 100
#: A job still active this long past its time limit was not stopped by it: it is stuck.
TIME_LIMIT_GRACE_S = 30.0
DEFAULT_WINDOW_MINUTES = 5
MAX_BROKERS = 1000
#: The backlog counts as growing when it rose by at least this many jobs and this share over the window.
GROWTH_MIN_JOBS = 5
GROWTH_MIN_SHARE = 0.10


@dataclass(frozen=True)
class QueueHealth:
    """One queue's health at `at` (Redis server time, seconds); rates are per minute."""

    queue: str
    at: float
    waiting: int  # ready to run: waiting plus prioritized
    delayed: int
    active: int
    paused: bool
    latency_s: float | None  # age of the oldest waiting job; None when nothing waits
    consumers: int  # running worker processes listening to the queue, on every host
    crash_looping: int  # processes for the queue that stopped restarting (crash loop)
    stuck_ids: tuple[str, ...]  # active past their time limit, or whose worker's heartbeat stopped
    completed: int  # in the window
    failed: int  # attempts that failed in the window (permanent failures, plus retries where counted)
    window_s: float
    arrival_per_min: float | None  # jobs created per minute (counted; estimated from backlog samples before)
    completion_per_min: float
    backlog_growing: bool
    drain_s: float | None  # at the current trend; None when the backlog does not shrink

    @property
    def stuck(self) -> int:
        return len(self.stuck_ids)

    @property
    def failure_rate(self) -> float | None:
        """Failed share of the attempts finished in the window (None when none finished)."""
        total = self.completed + self.failed
        return self.failed / total if total else None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Short words for the queue panel: "no consumer", "backlog growing", "stuck 3", ..."""
        found = []
        if self.consumers == 0:
            found.append("no consumer")
        if self.paused:
            found.append("paused")
        if self.backlog_growing:
            found.append("backlog growing")
        if self.stuck:
            found.append(f"stuck {self.stuck}")
        if self.crash_looping:
            found.append(f"crash loop {self.crash_looping}")
        return tuple(found)

    def as_dict(self) -> dict:
        """JSON-ready, for `wellqueue stats --json` and the REST stats."""
        return {
            "queue": self.queue,
            "at": self.at,
            "waiting": self.waiting,
            "delayed": self.delayed,
            "active": self.active,
            "paused": self.paused,
            "latency_s": self.latency_s,
            "consumers": self.consumers,
            "crash_looping": self.crash_looping,
            "stuck": self.stuck,
            "stuck_ids": list(self.stuck_ids),
            "completed": self.completed,
            "failed": self.failed,
            "failure_rate": self.failure_rate,
            "window_s": self.window_s,
            "arrival_per_min": self.arrival_per_min,
            "completion_per_min": self.completion_per_min,
            "backlog_growing": self.backlog_growing,
            "drain_s": self.drain_s,
            "warnings": list(self.warnings),
        }


def read_health(
    client: redis.Redis,
    keys: KeySchema,
    queues: list[str] | None = None,
    *,
    window_minutes: int = DEFAULT_WINDOW_MINUTES,
    heartbeat_timeout_ms: int = 15_000,
    workers: list[WorkerInfo] | None = None,
) -> list[QueueHealth]:
    """Health of `queues` (default: every known queue), sorted as given."""
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    if queues is None:
        queues = sorted(_text(q) for q in client.smembers(keys.queues))
    workers = workers if workers is not None else WorkerRecords(client, keys).list_workers()
    current_minute = now_ms // 60_000
    minutes = range(current_minute - window_minutes + 1, current_minute + 1)
    window_start_ms = minutes[0] * 60_000
    with client.pipeline(transaction=False) as pipe:
        pipe.smembers(keys.paused)
        pipe.zrange(keys.brokers, 0, MAX_BROKERS - 1, withscores=True)
        for queue in queues:
            for state in ("waiting", "prioritized", "delayed", "active"):
                pipe.zcard(keys.state(queue, state))
            pipe.zrange(keys.state(queue, "waiting"), 0, 0, withscores=True)
            pipe.zrange(keys.state(queue, "active"), 0, STUCK_PAGE - 1, withscores=True)
            pipe.zrangebyscore(keys.backlog_samples(queue), now_ms - window_minutes * 60_000, "+inf", start=0, num=1)
            for minute in minutes:
                pipe.hmget(keys.stats(queue, minute), "completed", "failed", "retried", "arrived")
        replies = pipe.execute(raise_on_error=False)
    paused = {_text(q) for q in _or(replies[0], set())}
    heartbeats = {_text(member)[:8]: score for member, score in _or(replies[1], [])}
    per_queue = 7 + len(minutes)
    rows = [replies[2 + i * per_queue : 2 + (i + 1) * per_queue] for i in range(len(queues))]
    active_details = _active_details(client, keys, [_or(row[5], []) for row in rows])
    health = []
    for queue, row, details in zip(queues, rows, active_details):
        waiting, prioritized, delayed, active = (_int(v) for v in row[:4])
        oldest = _or(row[4], [])
        stats = [_or(r, [None, None, None, None]) for r in row[7:]]
        completed = sum(_int(c) for c, _f, _r, _a in stats)
        failed = sum(_int(f) + _int(r) for _c, f, r, _a in stats)
        elapsed_s = max(1.0, (now_ms - window_start_ms) / 1000)
        backlog = waiting + prioritized
        arrival, growing, drain = _trend(backlog, _or(row[6], []), now_ms, completed + failed, elapsed_s)
        if any(a is not None for _c, _f, _r, a in stats):  # counted by enqueue.lua: exact, not estimated
            arrival = sum(_int(a) for _c, _f, _r, a in stats) * 60 / elapsed_s
        listening = [w for w in workers if _listens(w, queue)]
        health.append(
            QueueHealth(
                queue=queue,
                at=now_ms / 1000,
                waiting=backlog,
                delayed=delayed,
                active=active,
                paused=queue in paused,
                latency_s=max(0.0, (now_ms - oldest[0][1]) / 1000) if oldest else None,
                consumers=sum(
                    1 for w in listening if w.state == WorkerState.RUNNING and w.heartbeat_age_s < ALIVE_WITHIN_S
                ),
                crash_looping=sum(1 for w in listening if w.state == WorkerState.CRASH_LOOP),
                stuck_ids=tuple(stuck_jobs(details, heartbeats, now_ms, heartbeat_timeout_ms)),
                completed=completed,
                failed=failed,
                window_s=elapsed_s,
                arrival_per_min=arrival,
                completion_per_min=(completed + failed) * 60 / elapsed_s,
                backlog_growing=growing,
                drain_s=drain,
            )
        )
    return health


@dataclass(frozen=True)
class ActiveJob:
    id: str
    entered_ms: float  # when it became active (Redis server time)
    worker: str | None  # `{host}:{pid}:{broker id prefix}`
    time_limit_ms: int | None


def _active_details(client: redis.Redis, keys: KeySchema, pages: list[list]) -> list[list[ActiveJob]]:
    flat = [(i, _text(member), score) for i, page in enumerate(pages) for member, score in page]
    if not flat:
        return [[] for _ in pages]
    with client.pipeline(transaction=False) as pipe:
        for _i, job_id, _score in flat:
            pipe.hmget(keys.job(job_id), "worker", "options")
        rows = pipe.execute(raise_on_error=False)
    found: list[list[ActiveJob]] = [[] for _ in pages]
    for (i, job_id, score), row in zip(flat, rows):
        worker, options = _or(row, [None, None])
        found[i].append(ActiveJob(job_id, score, _text(worker) if worker else None, _time_limit(options)))
    return found


def stuck_jobs(
    jobs: list[ActiveJob], heartbeats: dict[str, float], now_ms: int, heartbeat_timeout_ms: int
) -> list[str]:
    """Ids of jobs past their time limit (plus grace), or whose worker process stopped heartbeating."""
    stuck = []
    for job in jobs:
        overdue = (
            job.time_limit_ms is not None and now_ms - job.entered_ms > job.time_limit_ms + TIME_LIMIT_GRACE_S * 1000
        )
        beat = heartbeats.get(job.worker.rsplit(":", 1)[-1]) if job.worker else None
        orphaned = job.worker is not None and (beat is None or now_ms - beat > heartbeat_timeout_ms)
        if overdue or orphaned:
            stuck.append(job.id)
    return stuck


def _trend(
    backlog: int, samples: list, now_ms: int, finished: int, elapsed_s: float
) -> tuple[float | None, bool, float | None]:
    """(arrivals per minute, growing, seconds to drain) from the oldest backlog sample in the window."""
    completion_per_s = finished / elapsed_s
    if not samples:
        return None, False, (0.0 if backlog == 0 else (backlog / completion_per_s if completion_per_s else None))
    at_ms, _, size = _text(samples[0]).partition(":")
    then_ms, then = float(at_ms), int(size or 0)
    span_s = max(1.0, (now_ms - then_ms) / 1000)
    growth_per_s = (backlog - then) / span_s
    arrival_per_min = max(0.0, (completion_per_s + growth_per_s) * 60)
    growing = backlog - then >= max(GROWTH_MIN_JOBS, GROWTH_MIN_SHARE * max(then, 1))
    if backlog == 0:
        drain = 0.0
    elif growth_per_s < 0:
        drain = backlog / -growth_per_s
    else:
        drain = None
    return arrival_per_min, growing, drain


def record_backlog(
    client: redis.Redis, keys: KeySchema, health: list[QueueHealth], keep_minutes: int = 2 * DEFAULT_WINDOW_MINUTES
) -> None:
    """Store one backlog sample per queue (the evaluator does, every few seconds), dropping old ones."""
    with client.pipeline(transaction=False) as pipe:
        for item in health:
            at_ms = int(item.at * 1000)
            key = keys.backlog_samples(item.queue)
            pipe.zadd(key, {f"{at_ms}:{item.waiting}": at_ms})
            pipe.zremrangebyscore(key, "-inf", at_ms - keep_minutes * 60_000)
            pipe.expire(key, keep_minutes * 60)
        pipe.execute()


def _listens(worker: WorkerInfo, queue: str) -> bool:
    return queue in worker.queues


def _time_limit(raw) -> int | None:
    try:
        options = json.loads(raw) if raw else {}
        limit = options.get("time_limit") if isinstance(options, dict) else None
        return int(limit) if limit else None
    except (ValueError, TypeError):
        return None


def _or(value, default):
    return default if isinstance(value, Exception) or value is None else value


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
