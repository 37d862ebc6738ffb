"""`CLEANUP` (queue `platform.cleanup`): delete temp files or old logs older than `olderThan` ms (under
`{data_dir}/platform/tmp` or `/logs`, or a `path` inside them, matching `pattern`), or expired sessions."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from ..common import files
from .fields import BaseJobData
from .job_types import QUEUES, JobType
from .store import area, now_ms, open_store

FOLDERS = {"temp_files": ("tmp", "*"), "old_logs": ("logs", "*.log")}


class CleanupJobData(BaseJobData):
    targetType: Literal["temp_files", "old_logs", "expired_sessions"]
    olderThan: int = Field(ge=0)  # milliseconds
    path: str | None = Field(default=None, max_length=1024)
    pattern: str | None = Field(default=None, max_length=128, pattern=r"^[^/\\]+$")


def clean_up(payload: CleanupJobData, ctx: JobContext) -> dict:
    if payload.targetType == "expired_sessions":
        with open_store(ctx.settings.data_dir) as db:
            removed = db.execute(
                "DELETE FROM sessions WHERE expires_at_ms < ?", (now_ms() - payload.olderThan,)
            ).rowcount
        return {"targetType": payload.targetType, "removed": removed}
    folder, default_pattern = FOLDERS[payload.targetType]
    base = area(ctx.settings.data_dir, folder)
    root = files.inside(base, payload.path, "path") if payload.path else base
    cutoff = time.time() - payload.olderThan / 1000
    removed = kept = 0
    for path in sorted(root.rglob(payload.pattern or default_pattern)):
        if not path.is_file() or path.is_symlink():
            continue
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
        else:
            kept += 1
    ctx.log(f"removed {removed} file(s) under {root}, kept {kept} newer ones")
    ctx.progress(100)
    return {"targetType": payload.targetType, "removed": removed, "kept": kept}


KIND = JobKind(
    name=JobType.CLEANUP,
    queue=QUEUES[JobType.CLEANUP],
    payload=CleanupJobData,
    process=clean_up,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=10 * 60_000,
    tenant_field="tenantId",
)
