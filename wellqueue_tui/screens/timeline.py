"""The incident timeline: audit entries, worker starts and restarts, pauses and resumes (manual or breaker),
schedule fires, alert firings and resolutions and failure spikes of the last hours, newest first; `f` narrows
it to one queue, `Y` copies a redacted summary for a ticket."""

from __future__ import annotations

from typing import cast

from rich.text import Text
from textual.binding import Binding

from ..console_data import HealthSource
from ..health.timeline import TimelineEvent, summarize
from ..sanitize import safe_text
from ..widgets.timeline_table import TimelineTable, event_detail
from .record_table import RecordTableScreen, record_bindings

#: How far back the screen looks (`wellqueue timeline --since` looks further).
SINCE_S = 2 * 3600


class TimelineScreen(RecordTableScreen[TimelineTable, TimelineEvent]):
    """Events newest first, refreshed each tick; optionally only those about one queue."""

    BINDINGS = record_bindings(
        Binding("f", "next_queue", "Filter queue"),
        Binding("Y", "copy_summary", "Copy summary"),
        first="Newest",
        last="Oldest",
    )
    TABLE = TimelineTable
    NAME = "Timeline"
    LOADING = "Loading the timeline…"
    EMPTY = "Nothing happened in the last 2 hours: no pauses, alerts, breaker trips, worker restarts or failure spikes."
    RECORD = "event"

    def __init__(self, queue: str | None = None) -> None:
        super().__init__()
        self.queue = queue

    def fetch(self) -> list[TimelineEvent]:
        return cast(HealthSource, self.console.source).timeline(SINCE_S, self.queue)

    def show_records(self, records: list[TimelineEvent]) -> None:
        self.table.show_events(records)

    def title_summary(self) -> Text:
        text = Text(end="")
        text.append("  last 2 h", style="dim")
        text.append("  queue ", style="dim")
        text.append_text(safe_text(self.queue or "all", 60, style="bold"))
        text.append(f"  {len(self.records)} event{'' if len(self.records) == 1 else 's'}, newest first", style="dim")
        return text

    def detail(self, record: TimelineEvent) -> Text:
        return event_detail(record)

    def action_next_queue(self) -> None:
        """All queues, then each known queue in turn, then all again."""
        choices: list[str | None] = [None, *sorted(self.console.counts)]
        position = choices.index(self.queue) if self.queue in choices else 0
        self.queue = choices[(position + 1) % len(choices)]
        self.records = []
        self.show_title()
        self.load()

    def action_copy_summary(self) -> None:
        title = f"WellQueue incident timeline, last 2 h{'' if self.queue is None else ', queue ' + self.queue}"
        self.app.copy_to_clipboard(summarize(self.records, title))
        self.notify(f"Copied a redacted summary of {len(self.records)} events", markup=False)
