"""Tell a user their file is ready: a follow-up `saas.email` job with a deterministic id (a retried job
enqueues no second e-mail)."""

from __future__ import annotations

import html
from pathlib import Path

from wellqueue_tui.jobs.context import JobContext


def file_ready(ctx: JobContext, address: str | None, what: str, path: Path, organization_id: str) -> str | None:
    if not address:
        return None
    text = f"Your {what} is ready: {path.name}\nIt is stored at {path}.\n"
    return ctx.enqueue(
        "saas.email",
        {
            "to": address,
            "subject": f"Your {what} is ready",
            "text": text,
            "html": f"<p>Your {html.escape(what)} is ready: <b>{html.escape(path.name)}</b></p>",
            "organizationId": organization_id,
        },
        job_id=f"{ctx.job_id}:notify",
    )
