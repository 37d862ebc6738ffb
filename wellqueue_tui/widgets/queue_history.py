"""A queue's recent history: the throughput window the chart shows, and wait/run percentiles of recent jobs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text

from ..jobs.models import JobSummary
from . import formats
from .throughput_chart import ThroughputSeries

#: Chart windows in hours, in the order `t` steps through them (the per-minute stats are kept 48 h).
WINDOWS_H = (1, 6, 24, 48)
#: Points the chart draws at most: longer windows add minutes up into buckets.
CHART_POINTS = 72


def bucket_minutes(hours: int) -> int:
    """Minutes per chart point: 1 for the hour, 5 for 6 h, 20 for a day, 40 for two."""
    return max(1, math.ceil(hours * 60 / CHART_POINTS))


def bucketed(series: ThroughputSeries, size: int) -> ThroughputSeries:
    """Sums of `size` consecutive minutes (the newest bucket ends at the newest minute)."""
    if size == 1:
        return series
    start = len(series.completed) % size
    buckets = range(start, len(series.completed), size)
    completed = [sum(series.completed[i : i + size]) for i in buckets]
    failed = [sum(series.failed[i : i + size]) for i in buckets]
    return ThroughputSeries(completed, failed, series.duration_ms_sum)


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (`fraction` 0.5 for p50); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


@dataclass(frozen=True)
class LatencySample:
    """Wait (enqueue → start) and run times in ms of a page of completed jobs."""

    jobs: int
    waits_ms: list[float]
    runs_ms: list[float]

    @classmethod
    def of(cls, jobs: list[JobSummary]) -> LatencySample:
        # A retried job's start is its last attempt's: its wait would count the failures, so it is left out.
        waits = [
            (job.started_at - job.created_at) * 1000
            for job in jobs
            if job.started_at is not None and job.created_at is not None and job.attempts <= 1
        ]
        runs = [float(job.duration_ms) for job in jobs if job.duration_ms is not None]
        return cls(len(jobs), [max(0.0, wait) for wait in waits], runs)


def next_window(hours: int) -> int:
    return WINDOWS_H[(WINDOWS_H.index(hours) + 1) % len(WINDOWS_H)] if hours in WINDOWS_H else WINDOWS_H[0]


def history_text(series: ThroughputSeries, hours: int, sample: LatencySample | None) -> Text:
    """`6 h: 1,204 done, 12 failed (1.0%) · last 50 done: wait p50 1.2s p95 3.4s · run p50 0.8s p95 4.2s`."""
    text = Text(end="")
    done, failed = sum(series.completed), sum(series.failed)
    text.append(f"{hours} h: ", style="bold")
    text.append(f"{formats.count(done)} done, ")
    text.append(f"{formats.count(failed)} failed", style="bold red" if failed else "")
    text.append(f" ({formats.percent(series.failure_rate)})", style="dim")
    if sample is None or not sample.jobs:
        text.append(" · no completed jobs to time", style="dim")
        return text
    text.append(f" · last {sample.jobs} done:", style="dim")
    for position, (label, values) in enumerate((("wait", sample.waits_ms), ("run", sample.runs_ms))):
        text.append(" · " if position else " ", style="dim")
        text.append(f"{label} ", style="dim")
        text.append(f"p50 {formats.duration(percentile(values, 0.5))} p95 {formats.duration(percentile(values, 0.95))}")
    return text
