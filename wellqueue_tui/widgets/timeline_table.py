"""The Timeline screen's table and detail: what happened, newest first, coloured by kind."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ..health.timeline import TimelineEvent
from ..sanitize import safe_text
from . import formats
from .keyed_table import KeyedTable

#: Kinds that mean something went wrong (red) or changed state (yellow); the rest are plain.
KIND_STYLES = {
    "alert": "bold red",
    "failure_spike": "bold red",
    "breaker": "bold yellow",
    "pause": "yellow",
    "resume": "green",
    "worker": "",
    "schedule": "dim",
    "audit": "",
}


def event_key(index: int, event: TimelineEvent) -> str:
    """Rows are keyed by time and position: events carry no id of their own."""
    return f"{event.at:.3f}:{index}"


class TimelineTable(KeyedTable):
    """Timeline events as the source returns them (newest first)."""

    COLUMNS = (
        ("at", "time (UTC)", 15),
        ("kind", "kind", 13),
        ("queue", "queue", 20),
        ("summary", "what happened", None),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: dict[str, TimelineEvent] = {}

    @property
    def highlighted(self) -> TimelineEvent | None:
        key = self.highlighted_key
        return None if key is None else self.events.get(key)

    def show_events(self, events: list[TimelineEvent]) -> None:
        keyed = [(event_key(index, event), event) for index, event in enumerate(events)]
        self.events = dict(keyed)
        self.show_rows(
            [
                (
                    key,
                    [
                        Text(formats.short_timestamp(event.at)),
                        Text(event.kind.replace("_", " "), style=KIND_STYLES.get(event.kind, "")),
                        safe_text(event.queue or "-", 60),
                        safe_text(event.summary, 300),
                    ],
                )
                for key, event in keyed
            ]
        )


def event_detail(event: TimelineEvent) -> Text:
    text = Text(end="")
    text.append(formats.timestamp(event.at))
    text.append("  ")
    text.append(event.kind.replace("_", " "), style=KIND_STYLES.get(event.kind, "bold") or "bold")
    if event.queue:
        text.append("  ")
        text.append_text(safe_text(event.queue, 100, style="bold"))
    text.append(f"  from {event.source}\n", style="dim")
    text.append_text(safe_text(event.summary, 2000))
    return text
