"""The Failures screen's table and detail: one row per failure group (count, trend, first and last seen, queues,
the most frequent payload values, the signature), and the highlighted group in full."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.actions import SkipAction

from ..jobs.failure_groups import FailureGroup
from ..sanitize import safe_text
from . import formats
from .keyed_table import KeyedTable

#: Hours the row's sparkline covers (one character an hour, the current hour last).
SPARK_HOURS = 12
SPARK_BLOCKS = " ▁▂▃▄▅▆▇█"
#: The narrowest the signature column gets (a narrow terminal scrolls sideways beyond it).
MIN_SIGNATURE_WIDTH = 24


def sparkline(values: list[int]) -> str:
    """One block character per value, scaled to the largest; an empty hour is a blank."""
    top = max(values, default=0)
    if top <= 0:
        return " " * len(values)
    steps = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[0 if v <= 0 else max(1, round(v / top * steps))] for v in values)


def queues_text(group: FailureGroup) -> str:
    """The queue with the most of the group's jobs, and how many others (`data-validation +2`)."""
    names = list(group.queues)
    if not names:
        return "-"
    return names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")


def top_value_text(group: FailureGroup) -> str:
    """The most frequent value of the first payload field the group has (`WELL-1250 ×30`)."""
    for rows in group.top_values.values():
        if rows:
            value, count = rows[0]
            return f"{value} ×{count}"
    return "-"


class FailureGroupTable(KeyedTable):
    """Failure groups, the largest first, keyed by group id."""

    COLUMNS = (
        ("count", "count", 6),
        ("trend", f"last {SPARK_HOURS} h", SPARK_HOURS),
        ("first", "first", 5),
        ("last", "last", 5),
        ("queues", "queues", 16),
        ("top", "top value", 14),
        ("signature", "error signature", None),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.groups: dict[str, FailureGroup] = {}
        self.shown: tuple[list[FailureGroup], float] = ([], 0.0)

    @property
    def signature_width(self) -> int:
        """What the fixed columns (with a cell of padding either side, and the scrollbar) leave the signature."""
        fixed = sum(width or 0 for _key, _label, width in self.COLUMNS) + 2 * len(self.COLUMNS) + 2
        return max(MIN_SIGNATURE_WIDTH, self.size.width - fixed)

    def on_resize(self) -> None:
        if self.groups:
            self.show_groups(*self.shown)  # the signature follows the width

    def action_select_cursor(self) -> None:
        if not self.row_count:
            raise SkipAction()  # nothing loaded yet: the screen's enter keeps the key for when the groups arrive
        super().action_select_cursor()

    @property
    def highlighted(self) -> FailureGroup | None:
        key = self.highlighted_key
        return None if key is None else self.groups.get(key)

    def show_groups(self, groups: list[FailureGroup], now: float) -> None:
        self.groups = {group.id: group for group in groups}
        self.shown = (groups, now)
        width = self.signature_width
        self.show_rows([(group.id, group_cells(group, now, width)) for group in groups])


def _ago(at: float | None, now: float) -> Text:
    return Text(formats.age(None if at is None else now - at))


def group_cells(group: FailureGroup, now: float, signature_width: int = 80) -> list[Text]:
    signature = safe_text(group.signature, 300)
    signature.truncate(signature_width, overflow="ellipsis")
    return [
        Text(formats.count(group.count), style="bold red"),
        Text(sparkline(group.trend(now, SPARK_HOURS)), style="red"),
        _ago(group.first_seen, now),
        _ago(group.last_seen, now),
        safe_text(queues_text(group), 200),
        safe_text(top_value_text(group), 200),
        signature,
    ]


def group_detail(group: FailureGroup, now: float) -> Text:
    """The signature, where and since when, the 24-hour trend and the top values of each field."""
    text = Text(end="")
    text.append(f"{formats.count(group.count)} failed  ", style="bold red")
    text.append_text(safe_text(group.signature, 300, style="bold"))
    text.append("\nqueues ", style="dim")
    text.append_text(safe_text(", ".join(f"{q} {formats.count(n)}" for q, n in group.queues.items()), 400))
    text.append("  first ", style="dim")
    text.append(formats.age(None if group.first_seen is None else now - group.first_seen) + " ago")
    text.append("  last ", style="dim")
    text.append(formats.age(None if group.last_seen is None else now - group.last_seen) + " ago")
    text.append("\n24 h ", style="dim")
    text.append(sparkline(group.trend(now, 24)), style="red")
    for name, rows in group.top_values.items():
        text.append(f"\n{name} ", style="dim")
        text.append_text(safe_text(", ".join(f"{value} ×{count}" for value, count in rows), 300))
    if group.error:
        text.append("\nlatest ", style="dim")
        text.append_text(safe_text(group.error, 300))
    return text
