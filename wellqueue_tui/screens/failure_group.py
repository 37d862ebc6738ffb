"""One failure group: its failed jobs of every queue a page at a time (latest first, with their errors), what
the group is about, and retry all / remove all of it after an exact-count preview."""

from __future__ import annotations

from typing import cast

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from ..console_data import FailureSource
from ..jobs.failure_groups import FailureGroup
from ..jobs.models import JobPage
from ..sanitize import safe_text
from ..widgets import formats
from ..widgets.failure_groups import group_detail
from ..widgets.job_table import AGE, ATTEMPTS, ERROR, ID, KEY, Column, JobTable
from .base import ConsoleScreen
from .failure_actions import FailureGroupActions, progress_text

#: Rows per page.
PAGE_SIZE = 20
QUEUE = Column("queue", "queue", 18, lambda job: job.queue, lambda job, now, width: safe_text(job.queue, 200))
#: A group spans queues: the queue replaces the duration of the failed-state columns.
GROUP_COLUMNS = (ID, QUEUE, KEY, ATTEMPTS, AGE, ERROR)


class GroupJobTable(JobTable):
    """The queue screen's job table; an enter before the first page arrived goes to the screen, which keeps it."""

    def action_select_cursor(self) -> None:
        if not self.row_count:
            raise SkipAction()
        super().action_select_cursor()


class FailureGroupScreen(ConsoleScreen):
    """The group's jobs, refreshed each tick; enter opens a job, `R`/`D` act on the whole group."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open_job", "Open"),
        Binding("R", "bulk('retry')", "Retry all"),
        Binding("D", "bulk('remove')", "Remove all"),
        Binding("n", "page(1)", "Next page", show=False),
        Binding("b", "page(-1)", "Previous page", show=False),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("g", "edge(False)", "First row", show=False),
        Binding("G", "edge(True)", "Last row", show=False),
    ]

    class Loaded(Message):
        def __init__(self, group: FailureGroup | None, page: JobPage) -> None:
            super().__init__()
            self.group = group
            self.page = page

    def __init__(self, group: FailureGroup, then: list[tuple[str, tuple]] | None = None) -> None:
        super().__init__(classes="failure-group-screen")
        self.group = group
        self.page_offset = 0
        self.total = group.count
        self.progress = ""
        self.sub_title = "Failure group"
        self.actions = FailureGroupActions(self, self.show_progress, self.bulk_done)
        self.loaded = False
        #: keys pressed before the first page arrived (also those typed after `enter` on the Failures screen)
        self.pending: list[tuple[str, tuple]] = list(then or [])

    def defer(self, name: str, *args: object) -> bool:
        if not self.loaded:
            self.pending.append((name, args))
        return not self.loaded

    def compose(self) -> ComposeResult:
        yield from self.compose_status()
        yield Static(classes="queue-title")
        yield Static(classes="fleet-detail group-detail")
        yield GroupJobTable(classes="job-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.table.use_columns(GROUP_COLUMNS)
        self.show_group()
        self.table.focus()

    @property
    def table(self) -> JobTable:
        return self.query_one(JobTable)

    # Loading

    def refresh_data(self) -> None:
        if not self.is_loading("group"):
            self.load(self.page_offset)

    @work(thread=True, exclusive=True, group="group")
    def load(self, offset: int) -> None:
        source = cast(FailureSource, self.console.source)
        with self.console.reading():
            group = source.failure_group(self.group.id)
            self.deliver(self.Loaded(group, source.failure_group_jobs(self.group.id, offset, PAGE_SIZE)))

    def on_failure_group_screen_loaded(self, message: Loaded) -> None:
        page = message.page
        if page.offset != self.page_offset:
            return
        if not page.jobs and page.offset:
            self.page_offset = max(0, (page.total - 1) // PAGE_SIZE * PAGE_SIZE)
            self.refresh_data()
            return
        if message.group is not None:
            self.group = message.group
        self.total = page.total
        self.table.show_jobs(page.jobs, self.console.now(), set())
        self.show_group()
        if not self.loaded:
            self.loaded = True
            pending, self.pending = self.pending, []
            for name, args in pending:
                getattr(self, f"action_{'open_job' if name == 'open_group' else name}")(*args)

    def show_group(self) -> None:
        text = Text(end="")
        text.append("Failure group ", style="bold")
        shown = len(self.table.jobs)
        if shown:
            text.append(
                f"  {self.page_offset + 1}–{self.page_offset + shown} of {formats.count(self.total)}", style="dim"
            )
        else:
            text.append("  no failed jobs left in this group", style="dim")
        text.append("  latest first", style="dim")
        if self.progress:
            text.append(self.progress, style="bold")
        self.query_one(".queue-title", Static).update(text)
        self.query_one(".group-detail", Static).update(group_detail(self.group, self.console.now()))

    # Keys

    def action_back(self) -> None:
        self.dismiss()

    def action_page(self, step: int) -> None:
        if self.defer("page", step):
            return
        offset = self.page_offset + step * PAGE_SIZE
        if 0 <= offset < max(self.total, 1):
            self.page_offset = offset
            self.load(offset)

    def action_cursor(self, step: int) -> None:
        if self.defer("cursor", step):
            return
        self.table.move_cursor(row=self.table.cursor_row + step)

    def action_edge(self, bottom: bool) -> None:
        if self.defer("edge", bottom):
            return
        self.table.move_cursor(row=self.table.row_count - 1 if bottom else 0)

    def action_open_job(self) -> None:
        if self.defer("open_job"):
            return
        if self.table.highlighted_id is not None:
            self.console.open_job(self.table.highlighted_id)

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.console.open_job(event.row_key.value)

    def action_bulk(self, verb: str) -> None:
        if self.defer("bulk", verb):
            return
        self.actions.ask(verb, self.group.id)

    def show_progress(self, done: int, total: int) -> None:
        self.progress = progress_text(done, total)
        self.show_group()

    def bulk_done(self) -> None:
        self.progress = ""
        self.page_offset = 0
        self.refresh_data()
