"""The queue screen's job list: one page of `JobSummary` rows that survives refreshes and sorting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ..jobs.models import JobState, JobSummary
from ..sanitize import safe_text
from . import formats
from .job_errors import delay_reason_cell, error_cell, error_line, waits_for_retry
from .keyed_table import add_fitted_rows

#: Payload fields that name what a job is about, in order of preference (the "key" column).
KEY_FIELDS = ("wellId", "reportType", "type", "template", "event", "to", "url", "name")


def job_key(job: JobSummary) -> str:
    """The value of the most telling payload field (a well id, a report type…), else the job kind."""
    for field in KEY_FIELDS:
        value = job.data.get(field) if isinstance(job.data, dict) else None
        if value not in (None, ""):
            return str(value)
    return job.kind


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None  # None: the error column, which takes the width the others leave
    sort_key: Callable[[JobSummary], Any]
    cell: Callable[[JobSummary, float, int], Text]  # (job, now, error width) -> the cell


def _age(job: JobSummary, now: float) -> Text:
    return Text(formats.age(None if job.created_at is None else now - job.created_at))


ID = Column("id", "id", 12, lambda job: job.id, lambda job, now, width: safe_text(job.id, 200))
KEY = Column("key", "key", 18, job_key, lambda job, now, width: safe_text(job_key(job), 200))
PRIORITY = Column(
    "priority",
    "prio",
    4,
    lambda job: job.priority if job.priority is not None else -1,
    lambda job, now, width: Text("-" if job.priority is None else str(job.priority)),
)
ATTEMPTS = Column(
    "attempts",
    "tries",
    5,
    lambda job: job.attempts,
    lambda job, now, width: Text(f"{job.attempts}/{job.max_attempts}", style="bold red" if job.error else ""),
)
AGE = Column("age", "age", 4, lambda job: -(job.created_at or 0.0), lambda job, now, width: _age(job, now))
DURATION = Column(
    "duration",
    "took",
    7,
    lambda job: job.duration_ms or 0,
    lambda job, now, width: Text(formats.duration(job.duration_ms)),
)
PROGRESS = Column(
    "progress",
    "progress",
    10,
    lambda job: job.progress,
    lambda job, now, width: Text(formats.progress_bar(job.progress, width=5)),
)
WAITS_FOR = Column(
    "waits_for",
    "waits for",
    9,
    lambda job: (not waits_for_retry(job), job.attempts),
    lambda job, now, width: delay_reason_cell(job),
)
ERROR = Column(
    "error", "error", None, lambda job: error_line(job.error), lambda job, now, width: error_cell(job, width)
)

QUEUE = Column("queue", "queue", 16, lambda job: job.queue, lambda job, now, width: safe_text(job.queue, 200))
STATE = Column("state", "state", 11, lambda job: job.state, lambda job, now, width: Text(job.state))

#: The columns after the selection mark, each with how rows sort on it.
COLUMNS = (ID, KEY, PRIORITY, ATTEMPTS, AGE, DURATION, PROGRESS)
#: Failed jobs trade the progress bar for their error; delayed jobs say whether a retry or a schedule holds them.
STATE_COLUMNS = {
    JobState.FAILED: (ID, KEY, ATTEMPTS, AGE, DURATION, ERROR),
    JobState.DELAYED: (ID, KEY, PRIORITY, ATTEMPTS, AGE, WAITS_FOR, ERROR),
}

#: The narrowest error column, and each column's share of padding (one cell either side).
MIN_ERROR_WIDTH = 16
CELL_PADDING = 2


#: A search's matches come from every queue and state: each row says where it is, and its error.
SEARCH_COLUMNS = (ID, QUEUE, STATE, KEY, AGE, ERROR)


def columns_for(state: str) -> tuple[Column, ...]:
    return STATE_COLUMNS.get(state, COLUMNS)  # type: ignore[call-overload]


def error_width(columns: tuple[Column, ...], table_width: int) -> int:
    """What the fixed columns (and the selection mark and scrollbar) leave for the error."""
    fixed = sum(column.width or 0 for column in columns if column.key != ERROR.key)
    fixed += 1 + CELL_PADDING * (len(columns) + 1) + 2
    return max(MIN_ERROR_WIDTH, table_width - fixed)


def selection_mark(selected: bool) -> Text:
    return Text("●" if selected else " ", style="bold")


def row_cells(
    job: JobSummary, now: float, selected: bool, columns: tuple[Column, ...] = COLUMNS, error_cells: int = 60
) -> list[Text]:
    return [selection_mark(selected), *(column.cell(job, now, error_cells) for column in columns)]


class JobTable(DataTable):
    """Rows keyed by job id, with the columns of the state shown; a new page keeps the cursor on the same job."""

    BINDINGS = [Binding("enter", "select_cursor", "Open job", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.page_jobs: list[JobSummary] = []  # as the source returned them
        self.jobs: list[JobSummary] = []  # as shown
        self.columns_shown: tuple[Column, ...] = ()
        self.sort_column: int | None = None  # index into `columns_shown`; None = the registry's page order
        self.shown_at = 0.0
        self.marked: set[str] = set()

    def on_mount(self) -> None:
        self.use_columns(COLUMNS)

    def use_columns(self, columns: tuple[Column, ...]) -> None:
        if columns == self.columns_shown:
            return
        self.clear(columns=True)
        self.columns_shown = columns
        self.sort_column = None
        self.add_column(Text(" "), key="selected", width=1)
        for column in columns:
            self.add_column(Text(column.label), key=column.key, width=column.width)

    @property
    def highlighted_id(self) -> str | None:
        if not self.jobs or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @property
    def sort_label(self) -> str:
        return "queue order" if self.sort_column is None else f"by {self.columns_shown[self.sort_column].label}"

    def show_jobs(self, jobs: list[JobSummary], now: float, selected: set[str], state: str = "") -> None:
        """Replace the rows, sorted as chosen, and put the cursor back on the job it was on."""
        keep_id, keep_row = self.highlighted_id, self.cursor_row
        if state:
            self.use_columns(columns_for(state))
        self.page_jobs, self.shown_at, self.marked = jobs, now, selected
        if self.sort_column is not None:
            jobs = sorted(jobs, key=self.columns_shown[self.sort_column].sort_key)
        self.jobs = jobs
        self.clear()
        # before its first layout the table has no width yet: the screen's is the best guess (on_resize corrects)
        width = error_width(self.columns_shown, self.size.width or self.app.size.width)
        add_fitted_rows(
            self, ((job.id, row_cells(job, now, job.id in selected, self.columns_shown, width)) for job in jobs)
        )
        ids = [job.id for job in jobs]
        row = ids.index(keep_id) if keep_id in ids else min(max(keep_row, 0), len(ids) - 1)
        if ids:
            self.move_cursor(row=row, animate=False, scroll=True)

    def on_resize(self) -> None:
        if ERROR in self.columns_shown and self.jobs:
            self.show_jobs(self.page_jobs, self.shown_at, self.marked)  # the error column follows the width

    def mark(self, job_id: str, selected: bool) -> None:
        self.update_cell(job_id, "selected", selection_mark(selected))

    def cycle_sort(self, now: float, selected: set[str]) -> None:
        """Sort the page by the next column; after the last one, back to the registry's order."""
        self.sort_column = 0 if self.sort_column is None else self.sort_column + 1
        if self.sort_column >= len(self.columns_shown):
            self.sort_column = None
        self.show_jobs(self.page_jobs, now, selected)
