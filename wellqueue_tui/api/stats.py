"""Per-queue statistics: counts per state plus last-hour throughput, failure rate and mean duration."""

from __future__ import annotations

from ..jobs.models import MinuteStats, QueueCounts
from ..session import OperatorSession
from .models import QueueStats

WINDOW_MINUTES = 60


def queue_stats(counts: QueueCounts, minutes: list[MinuteStats]) -> QueueStats:
    completed = sum(m.completed for m in minutes)
    failed = sum(m.failed for m in minutes)
    duration = sum(m.duration_ms_sum for m in minutes)
    return QueueStats(
        name=counts.queue, waiting=counts.waiting, prioritized=counts.prioritized, delayed=counts.delayed,
        active=counts.active, completed=counts.completed, failed=counts.failed, paused=counts.paused,
        total=counts.total, completedLastHour=completed, failedLastHour=failed,
        failureRate=round(failed / (completed + failed), 4) if completed + failed else 0.0,
        meanDurationMs=round(duration / completed, 1) if completed else None,
    )


def read_queue_stats(session: OperatorSession, queue: str) -> QueueStats:
    """One queue's stats as the session sees them (a token with an org gets no cross-tenant throughput)."""
    return queue_stats(session.queue_counts(queue), session.throughput(queue, WINDOW_MINUTES))
