"""One queue on the overview: counts per state, the paused flag and limits, the last hour's throughput, and its health
(latency, consumers, warnings, breaker) when the console's source reports it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from ..jobs.models import QueueCounts
from ..sanitize import safe_text
from . import formats
from .health_text import health_line
from .throughput_chart import ThroughputSeries

#: The panel's count grid: rows of (left state, right state).
COUNT_ROWS = (("waiting", "active"), ("prioritized", "completed"), ("delayed", "failed"))


def counts_text(counts: QueueCounts) -> Text:
    """Three rows of two `state  count` columns; a non-zero failed count stands out."""
    text = Text(end="")
    for row, states in enumerate(COUNT_ROWS):
        if row:
            text.append("\n")
        for column, state in enumerate(states):
            value = counts.of(state)
            text.append(f"  {state:<9}" if column else f"{state:<11}", style="dim")
            text.append(f"{formats.count(value):>5}", style="bold red" if state == "failed" and value else "bold")
    return text


def rate_text(series: ThroughputSeries) -> Text:
    """Failure rate and mean duration over the sparklines' hour."""
    text = Text(end="")
    text.append("fail rate ", style="dim")
    text.append(formats.percent(series.failure_rate), style="bold")
    text.append("  mean ", style="dim")
    text.append(formats.duration(series.mean_duration_ms), style="bold")
    return text


class QueuePanel(Vertical, can_focus=True):
    """A focusable card for one queue; the overview moves between them and opens the focused one."""

    def __init__(self, queue: str) -> None:
        super().__init__(classes="queue-panel")
        self.queue = queue
        self.border_title = safe_text(queue, 60)

    def compose(self) -> ComposeResult:
        yield Static(classes="panel-counts")
        with Horizontal(classes="panel-spark-row"):
            yield Label("completed/min", classes="spark-label")
            yield Sparkline([], classes="spark-completed")
        with Horizontal(classes="panel-spark-row"):
            yield Label("failed/min", classes="spark-label")
            yield Sparkline([], classes="spark-failed")
        yield Static(classes="panel-rates")
        yield Static(classes="panel-health")

    def on_mount(self) -> None:
        self.watch(self.app, "queue_health", lambda _value: self._show_health(), init=True)

    def _show_health(self) -> None:
        app = self.app
        health_by_queue = getattr(app, "queue_health", {})
        line = self.query_one(".panel-health", Static)
        line.display = self.queue in health_by_queue
        self.set_class(line.display, "-health")  # one more row (styles/health.tcss), in the grid too
        if self.parent is not None:
            self.parent.set_class(line.display, "-health")
        breakers = getattr(app, "breaker_states", {})
        held = sorted(
            target.partition("@")[2]
            for target, state in breakers.items()
            if target.startswith(f"{self.queue}@") and state.status != "closed"
        )
        line.update(health_line(health_by_queue.get(self.queue), breakers.get(self.queue), held))

    def show_counts(self, counts: QueueCounts) -> None:
        self.query_one(".panel-counts", Static).update(counts_text(counts))
        limited = counts.limits.summary() if counts.limits.any else ""
        self.border_subtitle = " · ".join(part for part in ("PAUSED" if counts.paused else "", limited) if part)
        self.set_class(counts.paused, "-paused")

    def show_throughput(self, series: ThroughputSeries) -> None:
        self.query_one(".spark-completed", Sparkline).data = series.completed
        self.query_one(".spark-failed", Sparkline).data = series.failed
        self.query_one(".panel-rates", Static).update(rate_text(series))
