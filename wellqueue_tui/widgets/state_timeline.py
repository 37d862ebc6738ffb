"""A job's life so far: created, delayed until, started, finished, and every failed attempt's error."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..jobs.models import JobDetail
from ..sanitize import safe_text
from . import formats


def _relative(moment: float, now: float) -> str:
    offset = now - moment
    return f"{formats.age(offset)} ago" if offset >= 0 else f"in {formats.age(-offset)}"


def timeline_text(detail: JobDetail, now: float) -> Text:
    """One line per known moment, oldest first, then the attempts with their errors."""
    job = detail.summary
    moments = [
        ("created", job.created_at),
        ("delayed until", detail.delayed_until),
        ("started", job.started_at),
        ("finished", job.finished_at),
    ]
    text = Text(end="")
    for label, moment in moments:
        if moment is None:
            continue
        text.append(f"{label:<14}", style="dim")
        text.append(formats.timestamp(moment))
        text.append(f"  ({_relative(moment, now)})\n", style="dim")
    if job.duration_ms is not None:
        text.append(f"{'took':<14}", style="dim")
        text.append(formats.duration(job.duration_ms) + "\n")
    text.append(f"{'attempts':<14}", style="dim")
    text.append(f"{job.attempts} of {job.max_attempts}\n")
    if detail.worker:
        text.append(f"{'worker':<14}", style="dim")
        text.append_text(safe_text(detail.worker, 120))
        text.append("\n")
    if detail.redeliveries:
        text.append(f"{'redelivered':<14}", style="dim")
        text.append(f"{detail.redeliveries}× after a worker stopped mid-job\n", style="bold yellow")
    for attempt in detail.attempt_errors:
        text.append(f"{f'attempt {attempt.number}':<14}", style="dim")
        text.append(formats.timestamp(attempt.at) + "  ")
        text.append_text(safe_text(attempt.error, 200, style="red"))
        text.append("\n")
    text.rstrip()
    return text


class StateTimeline(Static):
    """Renders `timeline_text` for the job detail screen."""

    def show(self, detail: JobDetail, now: float) -> None:
        self.update(timeline_text(detail, now))
