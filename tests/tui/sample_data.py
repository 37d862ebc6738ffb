"""Fixed console data for the TUI tests: four queues, every state, one hostile job, a fixed clock."""

from __future__ import annotations

from wellqueue_tui.auth.identity import LOCAL_DEV, Identity
from wellqueue_tui.jobs.models import AttemptRecord, JobDetail, JobSummary, MinuteStats

from .static_source import StaticSource

#: 2025-06-15 15:06:40 UTC: the console's "now" in every test.
NOW = 1_750_000_000.0

#: Strings that try to escape into the terminal or the markup parser (reliability.md §4).
HOSTILE = {
    "markup": "[bold]x",
    "click": "[@click=app.quit]boom[/]",
    "close_tag": "value [/bold] end",
    "osc52": "\x1b]52;c;ZXZpbA==\x07",
    "osc8": "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "csi": "\x1b[2J\x1b[10;10Hmoved",
    "c1": "\x9b31mred",
    "bidi": "abc\u202edcba\u2066x\u2069",
    "nul": "a\x00b",
}


def job(
    job_id: str,
    queue: str,
    kind: str,
    state: str,
    data: dict,
    *,
    age_s: float,
    priority: int | None = None,
    attempts: int = 0,
    max_attempts: int = 3,
    progress: float = 0.0,
    took_ms: int | None = None,
    error: str | None = None,
    traceback: str | None = None,
    delayed_for_s: float | None = None,
    logs: list[str] | None = None,
    result: object | None = None,
    attempt_errors: list[AttemptRecord] | None = None,
) -> JobDetail:
    created = NOW - age_s
    started = created + 2 if state in ("active", "completed", "failed") else None
    finished = started + (took_ms or 0) / 1000 if started is not None and state != "active" else None
    summary = JobSummary(
        id=job_id,
        queue=queue,
        kind=kind,
        state=state,
        data=data,
        priority=priority,
        attempts=attempts,
        max_attempts=max_attempts,
        progress=progress,
        created_at=created,
        started_at=started,
        finished_at=finished,
        duration_ms=took_ms,
        error=error,
        org=None,
    )
    return JobDetail(
        summary=summary,
        options={  # as the registry stores them: the Dramatiq message options
            "wq_attempts": max_attempts,
            "wq_backoff": {"type": "exponential", "delay": 2000},
            "wq_keep": [100, 0, 50, 0],
            **({"wq_priority": priority} if priority is not None else {}),
        },
        delayed_until=NOW + delayed_for_s if delayed_for_s is not None else None,
        worker="host-a:4242:0" if started is not None else None,
        traceback=traceback,
        result=result,
        logs=logs or [],
        attempt_errors=attempt_errors or [],
    )


def _validation_jobs() -> list[JobDetail]:
    q, kind = "data-validation", "validate_production_data"
    jobs = [
        job(f"dv-w{n}", q, kind, "waiting", {"validationType": "production", "wellId": f"W-10{40 + n}"}, age_s=30 + n)
        for n in range(3)
    ]
    jobs.append(
        job(
            "dv-a1",
            q,
            kind,
            "active",
            {"validationType": "production", "wellId": "W-2001"},
            age_s=20,
            progress=40,
            attempts=1,
            logs=["checking ranges", "checking duplicates"],
        )
    )
    jobs += [
        job(
            f"dv-c{n}",
            q,
            kind,
            "completed",
            {"validationType": "production", "wellId": f"W-30{n}"},
            age_s=600 + 60 * n,
            attempts=1,
            progress=100,
            took_ms=800 + 100 * n,
            result={"valid": True},
        )
        for n in range(5)
    ]
    jobs.append(
        job(
            "dv-f1",
            q,
            kind,
            "failed",
            {"validationType": "production", "wellId": "W-4004", "production": {"oil": -5}},
            age_s=7200,
            attempts=3,
            took_ms=120,
            error="ValueError: oil volume must not be negative (got -5)",
            traceback='Traceback (most recent call last):\n  File "validate.py", line 12, in check\n'
            "    raise ValueError(msg)\nValueError: oil volume must not be negative (got -5)",
            attempt_errors=[
                AttemptRecord(n, NOW - 7200 + 10 * n, "ValueError: oil volume must not be negative") for n in (1, 2, 3)
            ],
            logs=["validating W-4004", "production.oil = -5"],
        )
    )
    jobs.append(job("dv-d1", q, kind, "delayed", {"validationType": "daily_sweep"}, age_s=60, delayed_for_s=1800))
    return jobs


def _report_jobs() -> list[JobDetail]:
    q, kind = "report-generation", "generate_report"
    jobs = [
        job(f"rg-w{n}", q, kind, "waiting", {"reportType": "production_daily", "format": "csv"}, age_s=10 + n)
        for n in range(2)
    ]
    jobs += [
        job(
            f"rg-p{n}",
            q,
            kind,
            "prioritized",
            {"reportType": "compliance_monthly", "format": "pdf"},
            age_s=15,
            priority=n + 1,
        )
        for n in range(2)
    ]
    jobs += [
        job(
            f"rg-c{n}",
            q,
            kind,
            "completed",
            {"reportType": "production_monthly", "format": "xlsx"},
            age_s=3600 + n,
            attempts=1,
            progress=100,
            took_ms=4200,
        )
        for n in range(3)
    ]
    # 25 failed jobs: two pages, some of them older than an hour (the clean test).
    jobs += [
        job(
            f"rg-f{n:02d}",
            q,
            kind,
            "failed",
            {"reportType": "safety_weekly", "format": "pdf"},
            age_s=600 * (n + 1),
            attempts=3,
            took_ms=3000,
            error="TimeoutError: template render exceeded 60 s",
        )
        for n in range(25)
    ]
    return jobs


def _email_jobs() -> list[JobDetail]:
    q, kind = "email-notifications", "send_notification"
    jobs = [
        job(
            f"em-w{n}", q, kind, "waiting", {"type": "report_ready", "recipients": [f"ops{n}@example.com"]}, age_s=5 + n
        )
        for n in range(4)
    ]
    jobs += [
        job(
            f"em-c{n}",
            q,
            kind,
            "completed",
            {"type": "alert", "recipients": ["lead@example.com"]},
            age_s=300,
            attempts=1,
            progress=100,
            took_ms=250,
        )
        for n in range(2)
    ]
    return jobs


def _webhook_jobs() -> list[JobDetail]:
    q, kind = "webhooks", "deliver_webhook"
    hostile = job(
        "wh-evil",
        q,
        kind,
        "failed",
        {"url": "https://hooks.example.com/x", "event": HOSTILE["click"], **HOSTILE},
        age_s=900,
        attempts=5,
        max_attempts=5,
        took_ms=50,
        error="HTTP 500 " + HOSTILE["osc52"] + HOSTILE["close_tag"],
        traceback="Traceback\n" + HOSTILE["csi"] + "\n" + HOSTILE["osc8"],
        logs=[HOSTILE["c1"], HOSTILE["bidi"], HOSTILE["nul"]],
    )
    return [
        hostile,
        job(
            "wh-d1",
            q,
            kind,
            "delayed",
            {"url": "https://hooks.example.com/a", "event": "well.validated", "data": {}},
            age_s=120,
            delayed_for_s=600,
        ),
        job(
            "wh-d2",
            q,
            kind,
            "delayed",
            {"url": "https://hooks.example.com/b", "event": "alert.raised", "data": {}},
            age_s=100,
            delayed_for_s=300,
            attempts=1,  # waiting for its retry, not scheduled
            error="ConnectionError: hooks.example.com:443 refused the connection\n(after 3 s)",
        ),
        job(
            "wh-c1",
            q,
            kind,
            "completed",
            {"url": "https://hooks.example.com/a", "event": "report.completed", "data": {}},
            age_s=400,
            attempts=1,
            progress=100,
            took_ms=90,
        ),
    ]


def _throughput(queue_index: int) -> list[MinuteStats]:
    """A fixed, wavy hour of throughput per queue (no randomness)."""
    last = int(NOW // 60)
    stats = []
    for back in range(60):
        completed = (back * (queue_index + 3)) % 11 + queue_index
        failed = 1 if (back + queue_index) % 13 == 0 else 0
        stats.append(MinuteStats(last - back, completed, failed, completed * (400 + 300 * queue_index)))
    return stats


QUEUES = ("data-validation", "report-generation", "email-notifications", "webhooks")


def sample_source(identity: Identity = LOCAL_DEV) -> StaticSource:
    jobs = _validation_jobs() + _report_jobs() + _email_jobs() + _webhook_jobs()
    return StaticSource(
        jobs,
        queues=QUEUES,
        paused={"email-notifications"},
        throughput={queue: _throughput(index) for index, queue in enumerate(QUEUES)},
        identity=identity,
        now=NOW,
    )
