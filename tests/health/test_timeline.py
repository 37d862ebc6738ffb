"""The incident timeline: audit entries, worker records, schedule fires, alert history and failure spikes,
merged newest first and filtered by queue; the ticket summary is redacted."""

from __future__ import annotations

from datetime import UTC, datetime

from wellqueue_tui.auth.audit import AuditLog
from wellqueue_tui.auth.identity import Identity, Role
from wellqueue_tui.health.alert_rules import AlertStore, build_rule
from wellqueue_tui.health.alerts import AlertEvaluator
from wellqueue_tui.health.timeline import (
    TimelineEvent,
    read_timeline,
    redact,
    summarize,
)
from wellqueue_tui.jobs import enqueue
from wellqueue_tui.workers.schedules import ScheduleStore, default_schedules
from wellqueue_tui.workers.worker_records import WorkerState

from .conftest import publish, worker_record


def test_sources_are_merged_newest_first_and_filtered_by_queue(broker, enqueue_fn) -> None:
    client = broker.client
    now = client.time()[0]
    AuditLog(client, broker.keys.audit).record(
        Identity("alice", Role.OPERATOR), "pause", "samples", 1, "ok", "samples paused"
    )
    restarting = worker_record("host-a:100", 0, ("samples",), WorkerState.RESTARTING)
    publish(broker, restarting)
    store = ScheduleStore(client, broker.keys)
    schedule = default_schedules()[0]
    store.add(schedule)
    store.record_fire(schedule.name, datetime.now(UTC), "cron:x:1")
    client.hset(broker.keys.stats("samples", now // 60), mapping={"failed": 7, "completed": 1})
    AlertStore(client, broker.keys).add(build_rule(name="depth", kind="waiting_depth", queue="samples", threshold=0))
    enqueue("samples", {"n": 1}, broker=broker)
    AlertEvaluator(client, broker.keys, enqueue_fn).run_once()

    events = read_timeline(client, broker.keys, since=now - 3600)
    kinds = {event.kind for event in events}
    assert {"pause", "worker", "schedule", "alert", "failure_spike"} <= kinds
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    only_samples = read_timeline(client, broker.keys, since=now - 3600, queue="samples")
    assert all(event.queue in ("samples", None, "*") for event in only_samples)
    assert not any(event.kind == "schedule" and event.queue != "samples" for event in only_samples)
    assert read_timeline(client, broker.keys, since=now + 3600) == []


def test_summary_is_redacted_for_tickets() -> None:
    events = [
        TimelineEvent(
            1_750_000_000,
            "alert",
            "webhooks",
            "alert sent to ops@example.com via https://hooks.example.com/secret/path?token=abc "
            "with eyJhbGciOi.eyJzdWIiOiJ4.c2lnbmF0dXJl and password=hunter2",
            "alerts",
        )
    ]
    text = summarize(events)
    assert "ops@example.com" not in text and "/secret/path" not in text and "hunter2" not in text
    assert "eyJhbGciOi" not in text and "https://hooks.example.com/…" in text and "[webhooks]" in text
    assert redact("nothing secret") == "nothing secret"
    assert "nothing happened" in summarize([])
