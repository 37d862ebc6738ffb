"""`USER_NOTIFICATION` (queue `platform.user-notification`): store an in-app notification for a user,
once per job (a retry or redelivery finds its own row)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from .fields import BaseJobData
from .job_types import QUEUES, JobType
from .store import now_iso, open_store


class UserNotificationJobData(BaseJobData):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)
    type: Literal["info", "warning", "error", "success"] = "info"  # the document's example leaves it out
    metadata: dict[str, Any] = Field(default_factory=dict)


def notify_user(payload: UserNotificationJobData, ctx: JobContext) -> dict:
    with open_store(ctx.settings.data_dir) as db:
        created = db.execute(
            "INSERT OR IGNORE INTO notifications (id, user_id, title, body, type, metadata, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ctx.job_id,
                payload.userId,
                payload.title,
                payload.body,
                payload.type,
                json.dumps(payload.metadata),
                now_iso(),
            ),
        ).rowcount
    ctx.progress(100)
    return {"notificationId": ctx.job_id, "userId": payload.userId, "created": bool(created)}


KIND = JobKind(
    name=JobType.USER_NOTIFICATION,
    queue=QUEUES[JobType.USER_NOTIFICATION],
    payload=UserNotificationJobData,
    process=notify_user,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=30_000,
    tenant_field="tenantId",
)
