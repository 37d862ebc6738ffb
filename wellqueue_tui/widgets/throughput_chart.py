"""Per-minute throughput of a queue: the dense series behind sparklines, and a plotext chart of it."""

from __future__ import annotations

from dataclasses import dataclass

from textual_plotext import PlotextPlot

from ..jobs.models import MinuteStats
from ..sanitize import safe_str


@dataclass(frozen=True)
class ThroughputSeries:
    """Completed and failed jobs for each of the last N minutes, oldest first, gaps filled with 0."""

    completed: list[int]
    failed: list[int]
    duration_ms_sum: int

    @property
    def failure_rate(self) -> float | None:
        finished = sum(self.completed) + sum(self.failed)
        return sum(self.failed) / finished if finished else None

    @property
    def mean_duration_ms(self) -> float | None:
        done = sum(self.completed)
        return self.duration_ms_sum / done if done else None


def throughput_series(stats: list[MinuteStats], now: float, minutes: int = 60) -> ThroughputSeries:
    """Lay sparse per-minute stats on the last `minutes` minutes ending at `now` (epoch seconds)."""
    last = int(now // 60)
    first = last - minutes + 1
    completed = [0] * minutes
    failed = [0] * minutes
    duration_sum = 0
    for stat in stats:
        if first <= stat.minute <= last:
            completed[stat.minute - first] += stat.completed
            failed[stat.minute - first] += stat.failed
            duration_sum += stat.duration_ms_sum
    return ThroughputSeries(completed, failed, duration_sum)


class ThroughputChart(PlotextPlot):
    """Completed and failed jobs per minute (or per bucket of minutes) over a window, for one queue."""

    def show(self, queue: str, series: ThroughputSeries, bucket_minutes: int = 1, window: str = "") -> None:
        plt = self.plt
        plt.clear_figure()
        points = len(series.completed)
        if bucket_minutes == 1:
            when = [float(x) for x in range(-points + 1, 1)]
            unit, axis = "minute", "minutes ago"
        else:
            when = [(x * bucket_minutes) / 60 for x in range(-points + 1, 1)]
            unit, axis = f"{bucket_minutes} min", "hours ago"
        plt.plot(when, series.completed, label="completed", color="green", marker="braille")
        plt.plot(when, series.failed, label="failed", color="red", marker="braille")
        plt.ylim(0, max(1, *series.completed, *series.failed))
        plt.title(f"{safe_str(queue, 60)}: jobs per {unit}{window}")
        plt.xlabel(axis)
        self.refresh()
