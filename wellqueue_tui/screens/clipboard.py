"""`y` and `Y` on the queue and job screens: copy a job's id, or its incident summary, and say so."""

from __future__ import annotations

from ..jobs.models import JobDetail
from ..sanitize import safe_str
from .context import ConsoleContext
from .incident_summary import incident_summary


def copy_job_id(console: ConsoleContext, job_id: str) -> None:
    console.copy_to_clipboard(safe_str(job_id, 1000))  # pasted into a terminal later: no control characters
    console.notify(f"Copied job id {safe_str(job_id, 80)}", title="Clipboard", markup=False)


def copy_incident(console: ConsoleContext, detail: JobDetail) -> None:
    summary = incident_summary(detail)
    console.copy_to_clipboard(summary)
    lines = summary.count("\n") + 1
    console.notify(
        f"Copied the incident summary of {safe_str(detail.summary.id, 80)} ({lines} lines, secrets redacted)",
        title="Clipboard",
        markup=False,
    )
