"""The Failures screen: failed jobs of every queue grouped by error signature, the largest group first, with
each group's trend, queues and most frequent payload values; enter opens a group's jobs, `R`/`D` retry or
remove a whole group after an exact-count preview."""

from __future__ import annotations

from typing import cast

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import DataTable

from ..console_data import FailureSource
from ..jobs.failure_groups import FailureGroup
from ..widgets import formats
from ..widgets.failure_groups import FailureGroupTable, group_detail
from .failure_actions import FailureGroupActions, progress_text
from .failure_group import FailureGroupScreen
from .record_table import RecordTableScreen, record_bindings

#: Groups the screen lists, the largest first (`wellqueue failures --limit 200` lists more); every extra row
#: costs the first render, and the 50 largest causes cover an incident.
SCREEN_GROUPS = 50


class FailuresScreen(RecordTableScreen[FailureGroupTable, FailureGroup]):
    """Failure groups, refreshed each tick; the highlighted one in full below the table."""

    BINDINGS = record_bindings(
        Binding("enter", "open_group", "Open group"),
        Binding("R", "bulk('retry')", "Retry all"),
        Binding("D", "bulk('remove')", "Remove all"),
        first="Largest",
        last="Smallest",
    )
    TABLE = FailureGroupTable
    NAME = "Failures"
    LOADING = "Grouping the failed jobs…"
    EMPTY = "No failed jobs in any queue."
    RECORD = "failure group"

    def __init__(self) -> None:
        super().__init__()
        self.add_class("failures-screen")
        self.progress = ""
        self.actions = FailureGroupActions(self, self.show_progress, self.bulk_done)
        self.loaded = False
        self.pending: list[tuple[str, tuple]] = []  # keys pressed before the first load arrived, in order

    def defer(self, name: str, *args: object) -> bool:
        """Keep an action pressed before the groups arrived (a burst such as `f enter R`); True if kept."""
        if not self.loaded:
            self.pending.append((name, args))
        return not self.loaded

    def on_record_table_screen_loaded(self, message: RecordTableScreen.Loaded) -> None:
        super().on_record_table_screen_loaded(message)
        if not self.loaded:
            self.loaded = True
            self.replay(self.pending)

    def replay(self, pending: list[tuple[str, tuple]]) -> None:
        """Run the kept keys in order; those after `enter` belong to the group screen it opens."""
        self.pending = []
        for index, (name, args) in enumerate(pending):
            if name == "open_group":
                self.open_group(pending[index + 1 :])
                return
            getattr(self, f"action_{name}")(*args)

    def fetch(self) -> list[FailureGroup]:
        return cast(FailureSource, self.console.source).failure_groups(SCREEN_GROUPS)

    def show_records(self, records: list[FailureGroup]) -> None:
        self.table.show_groups(records, self.console.now())

    def title_summary(self) -> Text:
        text = Text(end="")
        failed = sum(group.count for group in self.records)
        groups = len(self.records)
        text.append(f"  {formats.count(failed)} failed jobs in {groups} group{'' if groups == 1 else 's'}", style="dim")
        if groups >= SCREEN_GROUPS:
            text.append(f" (the largest {SCREEN_GROUPS})", style="dim")
        text.append(", every queue, largest first", style="dim")
        if self.progress:
            text.append(self.progress, style="bold")
        return text

    def detail(self, record: FailureGroup) -> Text:
        return group_detail(record, self.console.now())

    # Keys

    def action_cursor(self, step: int) -> None:
        if not self.defer("cursor", step):
            super().action_cursor(step)

    def action_edge(self, bottom: bool) -> None:
        if not self.defer("edge", bottom):
            super().action_edge(bottom)

    def action_open_group(self) -> None:
        if not self.defer("open_group"):
            self.open_group([])

    def open_group(self, then: list[tuple[str, tuple]]) -> None:
        if (group := self.target()) is not None:
            self.app.push_screen(FailureGroupScreen(group, then))

    @on(DataTable.RowSelected)
    def row_selected(self) -> None:
        self.action_open_group()

    def action_bulk(self, verb: str) -> None:
        if not self.defer("bulk", verb) and (group := self.target()) is not None:
            self.actions.ask(verb, group.id)

    def show_progress(self, done: int, total: int) -> None:
        self.progress = progress_text(done, total)
        self.show_title()

    def bulk_done(self) -> None:
        self.progress = ""
        self.refresh_data()
