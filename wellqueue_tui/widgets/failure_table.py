"""The overview's most recent failures across every queue: when, where, which job and its error, newest first."""

from __future__ import annotations

from rich.text import Text

from ..jobs.models import JobSummary
from ..sanitize import safe_text
from . import formats
from .job_errors import error_cell
from .job_table import job_key
from .keyed_table import KeyedTable

#: Cells the fixed columns take with their padding (the error column gets the rest), and the error's least.
FIXED_CELLS = 5 + 20 + 14 + 16 + 2 * 5 + 2
MIN_ERROR_CELLS = 16


class FailureTable(KeyedTable):
    """Failed jobs keyed by id; enter opens the highlighted one."""

    COLUMNS = (
        ("age", "ago", 5),
        ("queue", "queue", 20),
        ("id", "id", 14),
        ("key", "key", 16),
        ("error", "error", None),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.failures: list[JobSummary] = []
        self.shown_at = 0.0

    def show_failures(self, failures: list[JobSummary], now: float) -> None:
        self.failures, self.shown_at = failures, now
        width = max(MIN_ERROR_CELLS, self.size.width - FIXED_CELLS)
        self.show_rows([(job.id, self.cells(job, now, width)) for job in failures])

    @staticmethod
    def cells(job: JobSummary, now: float, error_width: int) -> list[Text]:
        finished = job.finished_at or job.created_at
        return [
            Text(formats.age(None if finished is None else now - finished)),
            safe_text(job.queue, 60),
            safe_text(job.id, 200),
            safe_text(job_key(job), 200),
            error_cell(job, error_width),
        ]

    @property
    def highlighted(self) -> JobSummary | None:
        key = self.highlighted_key
        return next((job for job in self.failures if job.id == key), None)

    def on_resize(self) -> None:
        if self.failures:
            self.show_failures(self.failures, self.shown_at)
