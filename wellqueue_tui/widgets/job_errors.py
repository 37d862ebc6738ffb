"""A job's error as one table line, and why a delayed job waits: for a retry, or because it was scheduled later."""

from __future__ import annotations

from rich.text import Text

from ..jobs.models import JobState, JobSummary
from ..sanitize import safe_str

#: Characters of an error read before it is cut to a cell (the cell is narrower; this bounds the work).
ERROR_READ_LIMIT = 400


def error_line(error: str | None, limit: int = ERROR_READ_LIMIT) -> str:
    """`TimeoutError: template render exceeded 60 s`: whitespace runs (newlines too) become one space, then
    the sanitizer makes the rest printable; "" when there is no error."""
    if not error:
        return ""
    return safe_str(" ".join(error[: limit * 2].split()), limit)


def waits_for_retry(job: JobSummary) -> bool:
    """A delayed job that already failed an attempt: the backoff holds it, it was not scheduled for later."""
    return job.state == JobState.DELAYED and job.attempts > 0 and bool(job.error)


def error_cell(job: JobSummary, width: int) -> Text:
    """The error, cut with an ellipsis to `width` cells; red on a failed job, muted on one that will retry."""
    text = Text(error_line(job.error), style="red" if job.state == JobState.FAILED else "yellow", end="")
    text.truncate(max(width, 1), overflow="ellipsis")
    return text


def delay_reason_cell(job: JobSummary) -> Text:
    """`retry 2/3` for a job the backoff holds, `scheduled` for one enqueued with a delay."""
    if waits_for_retry(job):
        return Text(f"retry {job.attempts + 1}/{job.max_attempts}", style="bold yellow", end="")
    return Text("scheduled", style="dim", end="")
