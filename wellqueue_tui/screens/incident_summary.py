"""The text `Y` copies: one job's incident in a few lines to paste into a ticket or a chat, secrets redacted."""

from __future__ import annotations

import json

from ..jobs.models import JobDetail
from ..sanitize import redact, safe_str
from ..widgets.formats import timestamp
from ..widgets.job_errors import error_line

#: Traceback lines copied from its start, and payload fields listed at most.
TRACEBACK_LINES = 8
PAYLOAD_FIELDS = 12
#: Characters of one payload value (a nested object is shown as compact JSON).
VALUE_LIMIT = 120


def payload_fields(data: object) -> list[str]:
    """`wellId=WELL-TX-0012` for the payload's top-level fields, secret-looking ones redacted as in the job view."""
    if not isinstance(data, dict):
        return [safe_str(json.dumps(redact(data), default=str), VALUE_LIMIT)]
    fields = []
    for key, value in list(redact(data).items())[:PAYLOAD_FIELDS]:
        shown = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
        fields.append(f"{safe_str(key, 60)}={safe_str(shown, VALUE_LIMIT)}")
    if len(data) > PAYLOAD_FIELDS:
        fields.append(f"… (+{len(data) - PAYLOAD_FIELDS} fields)")
    return fields


def traceback_head(traceback: str) -> list[str]:
    """The traceback's first lines, and its last one (the exception) when it is longer; blank and marker
    lines left out."""
    # Python 3.11's `^^^^` markers under a call say nothing once pasted into a ticket: left out.
    lines = [safe_str(line, 200) for line in traceback.splitlines() if line.strip(" ^~")]
    if len(lines) <= TRACEBACK_LINES:
        return lines
    return [*lines[:TRACEBACK_LINES], f"  … ({len(lines) - TRACEBACK_LINES - 1} more lines)", lines[-1]]


def incident_summary(detail: JobDetail) -> str:
    """Queue, job, state, attempts and when; the error; the traceback's first lines; the key payload fields."""
    job = detail.summary
    lines = [
        f"WellQueue job {safe_str(job.id, 200)} in queue {safe_str(job.queue, 80)} (kind {safe_str(job.kind, 80)})",
        f"state {job.state}, attempt {job.attempts}/{job.max_attempts}, finished {timestamp(job.finished_at)}",
    ]
    if job.org:
        lines.append(f"organization {safe_str(job.org, 80)}")
    lines.append(f"error: {error_line(job.error) or '-'}")
    if detail.traceback:
        lines.append("traceback:")
        lines += [f"  {line}" for line in traceback_head(detail.traceback)]
    lines.append("payload: " + ", ".join(payload_fields(job.data)))
    return "\n".join(lines)
