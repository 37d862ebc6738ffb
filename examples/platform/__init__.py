"""Seed 002, the platform queue module: EMAIL_SEND, USER_NOTIFICATION, DATA_EXPORT, FILE_PROCESS,
CACHE_WARM and CLEANUP, one queue each (`platform.email-send`, …), priorities 1-20 as the document counts
them (see `job_types`). Load with `WELLQUEUE_KIND_MODULES='["examples.platform"]'`."""

from __future__ import annotations

from . import cache_warm, cleanup, data_export, email_send, file_process, notifications
from .job_types import JobPriority, JobType
from .manager import add_job

KINDS = [email_send.KIND, notifications.KIND, data_export.KIND, file_process.KIND, cache_warm.KIND, cleanup.KIND]

__all__ = ["KINDS", "JobPriority", "JobType", "add_job"]
