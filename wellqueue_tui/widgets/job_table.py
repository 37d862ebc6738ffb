"""The queue screen's job list: one page of `JobSummary` rows that survives refreshes and sorting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ..jobs.models import JobSummary
from ..sanitize import safe_text
from . import formats

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
    width: int | None
    sort_key: Callable[[JobSummary], Any]


#: The columns after the selection mark, each with how rows sort on it.
COLUMNS = (
    Column("id", "id", 12, lambda job: job.id),
    Column("key", "key", 18, job_key),
    Column("priority", "prio", 4, lambda job: job.priority if job.priority is not None else -1),
    Column("attempts", "tries", 5, lambda job: job.attempts),
    Column("age", "age", 4, lambda job: -(job.created_at or 0.0)),
    Column("duration", "took", 7, lambda job: job.duration_ms or 0),
    Column("progress", "progress", 10, lambda job: job.progress),
)


def selection_mark(selected: bool) -> Text:
    return Text("●" if selected else " ", style="bold")


def row_cells(job: JobSummary, now: float, selected: bool) -> list[Text]:
    created = None if job.created_at is None else now - job.created_at
    return [
        selection_mark(selected),
        safe_text(job.id, 200),
        safe_text(job_key(job), 200),
        Text("-" if job.priority is None else str(job.priority)),
        Text(f"{job.attempts}/{job.max_attempts}", style="bold red" if job.error else ""),
        Text(formats.age(created)),
        Text(formats.duration(job.duration_ms)),
        Text(formats.progress_bar(job.progress, width=5)),
    ]


class JobTable(DataTable):
    """Rows keyed by job id; a new page keeps the cursor on the same job when it is still there."""

    BINDINGS = [Binding("enter", "select_cursor", "Open job", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.page_jobs: list[JobSummary] = []  # as the source returned them
        self.jobs: list[JobSummary] = []  # as shown
        self.sort_column: int | None = None  # index into COLUMNS; None = the registry's page order

    def on_mount(self) -> None:
        self.add_column(Text(" "), key="selected", width=1)
        for column in COLUMNS:
            self.add_column(Text(column.label), key=column.key, width=column.width)

    @property
    def highlighted_id(self) -> str | None:
        if not self.jobs or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @property
    def sort_label(self) -> str:
        return "queue order" if self.sort_column is None else f"by {COLUMNS[self.sort_column].label}"

    def show_jobs(self, jobs: list[JobSummary], now: float, selected: set[str]) -> None:
        """Replace the rows, sorted as chosen, and put the cursor back on the job it was on."""
        keep_id, keep_row = self.highlighted_id, self.cursor_row
        self.page_jobs = jobs
        if self.sort_column is not None:
            jobs = sorted(jobs, key=COLUMNS[self.sort_column].sort_key)
        self.jobs = jobs
        self.clear()
        for job in jobs:
            self.add_row(*row_cells(job, now, job.id in selected), key=job.id)
        ids = [job.id for job in jobs]
        row = ids.index(keep_id) if keep_id in ids else min(max(keep_row, 0), len(ids) - 1)
        if ids:
            self.move_cursor(row=row, animate=False, scroll=True)

    def mark(self, job_id: str, selected: bool) -> None:
        self.update_cell(job_id, "selected", selection_mark(selected))

    def cycle_sort(self, now: float, selected: set[str]) -> None:
        """Sort the page by the next column; after the last one, back to the registry's order."""
        self.sort_column = 0 if self.sort_column is None else self.sort_column + 1
        if self.sort_column >= len(COLUMNS):
            self.sort_column = None
        self.show_jobs(self.page_jobs, now, selected)
