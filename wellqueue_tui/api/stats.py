"""Per-queue statistics: counts per state plus last-hour throughput, failure rate and mean duration, and the
queue's health figures (latency, consumers, stuck jobs, trend, breaker, firing alerts)."""

from __future__ import annotations

from ..jobs.models import MinuteStats, QueueCounts
from ..session import OperatorSession
from .models import QueueHealthOut, QueueStats

WINDOW_MINUTES = 60


def queue_stats(counts: QueueCounts, minutes: list[MinuteStats], health: QueueHealthOut | None = None) -> QueueStats:
    completed = sum(m.completed for m in minutes)
    failed = sum(m.failed for m in minutes)
    duration = sum(m.duration_ms_sum for m in minutes)
    return QueueStats(
        name=counts.queue,
        waiting=counts.waiting,
        prioritized=counts.prioritized,
        delayed=counts.delayed,
        active=counts.active,
        completed=counts.completed,
        failed=counts.failed,
        waitingChildren=counts.waiting_children,
        paused=counts.paused,
        total=counts.total,
        completedLastHour=completed,
        failedLastHour=failed,
        failureRate=round(failed / (completed + failed), 4) if completed + failed else 0.0,
        meanDurationMs=round(duration / completed, 1) if completed else None,
        health=health,
    )


def read_queue_stats(session: OperatorSession, queue: str, health: QueueHealthOut | None = None) -> QueueStats:
    """One queue's stats as the session sees them (a token with an org gets no cross-tenant throughput)."""
    if health is None:
        health = read_health_out(session, [queue]).get(queue)
    return queue_stats(session.queue_counts(queue), session.throughput(queue, WINDOW_MINUTES), health)


def read_health_out(session: OperatorSession, queues: list[str]) -> dict[str, QueueHealthOut]:
    """Health of `queues` with their breaker state and firing alerts (empty for a token with an org)."""
    figures = session.queue_health(queues)
    if not figures:
        return {}
    breakers = session.breakers()
    firing: dict[str, list[str]] = {}
    for alert in session.firing_alerts():
        firing.setdefault(alert.queue, []).append(alert.rule)
    return {
        item.queue: QueueHealthOut(
            latencySeconds=item.latency_s,
            consumers=item.consumers,
            stuck=item.stuck,
            crashLooping=item.crash_looping,
            arrivalPerMinute=item.arrival_per_min,
            finishedPerMinute=item.completion_per_min,
            failureRate=item.failure_rate,
            backlogGrowing=item.backlog_growing,
            drainSeconds=item.drain_s,
            warnings=list(item.warnings),
            breaker=breakers[item.queue].status if item.queue in breakers else None,
            firingAlerts=sorted(firing.get(item.queue, [])),
        )
        for item in figures
    }
