"""Seed 003, GNB Transfer's queues: CSV/PDF exports, e-mail, AI calls and scheduled jobs on
`exports.export`, `exports.email`, `exports.ai` and `exports.scheduled`; each job is the document's
`{"name", "data"}` (see `queue_service`). Load with `WELLQUEUE_KIND_MODULES='["examples.exports"]'`."""

from __future__ import annotations

from . import ai_jobs, email_jobs, export_jobs, scheduled_jobs
from .queue_service import add_ai_job, add_email_job, add_export_job, add_scheduled_job

KINDS = [export_jobs.KIND, email_jobs.KIND, ai_jobs.KIND, scheduled_jobs.KIND]

__all__ = ["KINDS", "add_ai_job", "add_email_job", "add_export_job", "add_scheduled_job"]
