"""Fixed health data for the console tests: the sample queues with the default rules, a firing failure-rate
alert on webhooks, an open breaker, three stuck jobs, and a timeline of the incident."""

from __future__ import annotations

from wellqueue_tui.auth.identity import LOCAL_DEV, Identity
from wellqueue_tui.health.alert_rules import default_rules
from wellqueue_tui.health.alert_state import AlertState
from wellqueue_tui.health.alerts import HistoryEntry
from wellqueue_tui.health.breaker_state import BreakerState
from wellqueue_tui.health.timeline import TimelineEvent
from wellqueue_tui.workers.worker_records import WorkerInfo

from .sample_data import HOSTILE, NOW, sample_source
from .static_health import StaticHealthSource


def consumer(queue: str, slot: int) -> WorkerInfo:
    return WorkerInfo(
        id=f"host-a:4242:{queue}:{slot}",
        supervisor="host-a:4242",
        host="host-a",
        group=queue,
        queues=(queue,),
        threads=4,
        state="running",
        pid=5000 + slot,
        started=NOW - 3600,
        restarts=0,
        last_exit_code=None,
        rss_bytes=None,
        active=0,
        last_error=None,
        heartbeat=NOW,
        heartbeat_age_s=0.0,
    )


def firing_state(
    rule: str = "failure-rate", queue: str = "webhooks", at: float = NOW - 240, value: float = 0.8333
) -> AlertState:
    kind = {"failure-rate": "failure_rate", "stalled-jobs": "stuck_jobs"}.get(rule)
    return AlertState(rule=rule, queue=queue, kind=kind, status="firing", since=at, value=value, fired_at=at)


def incident() -> list[TimelineEvent]:
    return [
        TimelineEvent(
            NOW - 300, "failure_spike", "webhooks", "9 jobs failed in webhooks in one minute (0 completed)", "stats"
        ),
        TimelineEvent(
            NOW - 240,
            "alert",
            "webhooks",
            "alert failure-rate fired (value 0.833): failure rate > 10% over 5 min on *",
            "alerts",
        ),
        TimelineEvent(
            NOW - 235,
            "breaker",
            "webhooks",
            "circuit-breaker breaker open webhooks: 10 of 12 attempts failed (83% >= 50%)",
            "audit",
        ),
        TimelineEvent(
            NOW - 200,
            "audit",
            None,
            "ops@example.com retry https://hooks.example.com/secret?token=abc " + HOSTILE["markup"],
            "audit",
        ),
        TimelineEvent(
            NOW - 30,
            "worker",
            "report-generation",
            "worker host-a:4242:report-generation:0 exited and is restarting (exit code 1, 2 restarts)",
            "workers",
        ),
    ]


def health_source(identity: Identity = LOCAL_DEV, *, firing: list[AlertState] | None = None) -> StaticHealthSource:
    plain = sample_source()
    history = [
        HistoryEntry(
            "1-0", NOW - 240, "failure-rate", "webhooks", "fired", 0.8333, "failure rate > 10% over 5 min on *"
        ),
        HistoryEntry(
            "0-0", NOW - 7200, "queue-depth", "data-validation", "resolved", 12.0, "waiting_depth > 100 on *, for 60 s"
        ),
    ]
    return StaticHealthSource(
        list(plain.jobs.values()),
        queues=plain.queues,
        paused=plain.paused,
        throughput=plain.stats,
        identity=identity,
        now=NOW,
        workers=[consumer("data-validation", 0), consumer("data-validation", 1), consumer("webhooks", 0)],
        rules=default_rules(),
        states=[firing_state()] if firing is None else firing,
        history=history,
        breakers={
            "webhooks": BreakerState(
                queue="webhooks",
                status="open",
                since=NOW - 235,
                cooldown_s=30,
                opened=1,
                reason="10 of 12 attempts failed (83% >= 50%)",
            )
        },
        events=incident(),
        stuck={"report-generation": 3},
    )
