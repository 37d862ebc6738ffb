"""The incident timeline: audit entries (manual and breaker pauses and resumes among them), worker starts,
restarts and crash loops, schedule fires, alert firings and resolutions, and failure spikes, merged newest
first; plus a redacted text summary to paste into a ticket."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from ..auth.audit import AuditLog
from ..jobs.destinations import split_field
from ..jobs.keys import KeySchema
from ..workers.schedules import ScheduleStore
from ..workers.worker_records import WorkerRecords, WorkerState
from .alerts import alert_history

MAX_EVENTS = 500
#: A minute with at least this many permanent failures, and at least half its finished jobs failed, is a spike.
SPIKE_MIN_FAILED = 5
MAX_SPIKE_MINUTES = 24 * 60


@dataclass(frozen=True)
class TimelineEvent:
    at: float  # seconds since the epoch
    kind: str  # audit, pause, resume, breaker, worker, schedule, alert, failure_spike
    queue: str | None
    summary: str
    source: str  # where it was read: audit, workers, schedules, alerts, stats

    def as_dict(self) -> dict:
        return {"at": self.at, "kind": self.kind, "queue": self.queue, "summary": self.summary, "source": self.source}


def read_timeline(
    client: redis.Redis,
    keys: KeySchema,
    since: float,
    *,
    queue: str | None = None,
    now: float | None = None,
    limit: int = MAX_EVENTS,
) -> list[TimelineEvent]:
    """Everything that happened at or after `since`, newest first, optionally only about `queue`."""
    if now is None:
        seconds, micros = client.time()
        now = seconds + micros / 1e6
    known_queues = sorted(_text(q) for q in client.smembers(keys.queues))
    events = [
        *_audit_events(client, keys, since, known_queues),
        *_worker_events(client, keys, since),
        *_schedule_events(client, keys, since),
        *_alert_events(client, keys, since),
        *_failure_spikes(client, keys, [queue] if queue else known_queues, since, now),
    ]
    if queue is not None:
        events = [event for event in events if event.queue in (queue, None, "*")]
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]


def _audit_events(client: redis.Redis, keys: KeySchema, since: float, queues: list[str]) -> list[TimelineEvent]:
    events = []
    for entry in AuditLog(client, keys.audit).recent(1000):
        if entry.at < since:
            break
        action = entry.action
        kind = "breaker" if action.startswith("breaker_") else action if action in ("pause", "resume") else "audit"
        queue_part = split_field(entry.target)[0]  # a per-destination breaker names "{queue}@{destination}"
        target_queue = queue_part if queue_part in queues else None
        outcome = "" if entry.outcome == "ok" else f" ({entry.outcome})"
        summary = f"{entry.who} {action.replace('_', ' ')} {entry.target}{outcome}: {entry.detail}".rstrip(": ")
        events.append(TimelineEvent(entry.at, kind, target_queue, summary, "audit"))
    return events


def _worker_events(client: redis.Redis, keys: KeySchema, since: float) -> list[TimelineEvent]:
    events = []
    for worker in WorkerRecords(client, keys).list_workers():
        queues = ",".join(worker.queues)
        queue = worker.queues[0] if len(worker.queues) == 1 else None
        if worker.started and worker.started >= since:
            events.append(
                TimelineEvent(
                    worker.started,
                    "worker",
                    queue,
                    f"worker {worker.id} started (pid {worker.pid}, queues {queues})",
                    "workers",
                )
            )
        if (
            worker.state in (WorkerState.RESTARTING, WorkerState.CRASH_LOOP, WorkerState.FAILED)
            and worker.heartbeat >= since
        ):
            what = {
                WorkerState.RESTARTING: "exited and is restarting",
                WorkerState.CRASH_LOOP: "is crash-looping",
                WorkerState.FAILED: "failed to start",
            }[WorkerState(worker.state)]
            events.append(
                TimelineEvent(
                    worker.heartbeat,
                    "worker",
                    queue,
                    f"worker {worker.id} {what} (exit code {worker.last_exit_code}, {worker.restarts} restarts)",
                    "workers",
                )
            )
    return events


def _schedule_events(client: redis.Redis, keys: KeySchema, since: float) -> list[TimelineEvent]:
    store = ScheduleStore(client, keys)
    queues = {schedule.name: schedule.queue for schedule in store.list()}
    events = []
    for name, state in store.states().items():
        if state.last_fire_utc is None or state.last_fire_utc.timestamp() < since:
            continue
        outcome = f"failed: {state.last_error}" if state.last_error else f"enqueued {state.last_job_id}"
        events.append(
            TimelineEvent(
                state.last_fire_utc.timestamp(),
                "schedule",
                queues.get(name),
                f"schedule {name} fired, {outcome}",
                "schedules",
            )
        )
    return events


def _alert_events(client: redis.Redis, keys: KeySchema, since: float) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            entry.at,
            "alert",
            entry.queue,
            f"alert {entry.rule} {entry.event}"
            + (f" (value {entry.value:g})" if entry.value is not None else "")
            + f": {entry.detail}",
            "alerts",
        )
        for entry in alert_history(client, keys, MAX_EVENTS, since=since)
    ]


def _failure_spikes(
    client: redis.Redis, keys: KeySchema, queues: list[str], since: float, now: float
) -> list[TimelineEvent]:
    first, last = max(int(since // 60), int(now // 60) - MAX_SPIKE_MINUTES), int(now // 60)
    minutes = range(first, last + 1)
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for minute in minutes:
                pipe.hmget(keys.stats(queue, minute), "completed", "failed")
        rows = iter(pipe.execute())
    events = []
    for queue in queues:
        for minute in minutes:
            completed, failed = (int(v or 0) for v in next(rows))
            if failed >= SPIKE_MIN_FAILED and failed >= completed:
                events.append(
                    TimelineEvent(
                        minute * 60.0,
                        "failure_spike",
                        queue,
                        f"{failed} jobs failed in {queue} in one minute ({completed} completed)",
                        "stats",
                    )
                )
    return events


# --- the redacted summary for tickets ----------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_URL = re.compile(r"\b(https?://)([^/\s:]+)[^\s]*")
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*|\b[A-Fa-f0-9]{32,}\b")
_SECRET = re.compile(r"(?i)\b(password|secret|token|key|authorization)\b\s*[=:]\s*\S+")


def redact(text: str) -> str:
    """Text fit for a ticket: e-mail addresses, URL paths and queries, tokens and secrets removed."""
    text = _SECRET.sub(lambda m: f"{m.group(1)}=[redacted]", text)
    text = _TOKEN.sub("[token]", text)
    text = _EMAIL.sub("[email]", text)
    return _URL.sub(lambda m: f"{m.group(1)}{m.group(2)}/…", text)


def summarize(events: list[TimelineEvent], title: str = "WellQueue incident timeline") -> str:
    """Plain text, newest first, one event a line, every line redacted."""
    lines = [title, "=" * len(title)]
    for event in events:
        stamp = datetime.fromtimestamp(event.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        where = f"[{event.queue}] " if event.queue else ""
        lines.append(redact(f"{stamp}  {event.kind:<13} {where}{event.summary}"))
    if not events:
        lines.append("(nothing happened in this period)")
    return "\n".join(lines)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
