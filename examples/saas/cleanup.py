"""The `saas.cleanup` queue: delete report and export files older than `olderThanDays`, for one organization
or all."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from ..common import files
from .fields import PAYLOAD_CONFIG, OrganizationId
from .store import area


class CleanupPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    target: Literal["reports", "exports", "all"] = "all"
    olderThanDays: int = Field(default=7, ge=0, le=3650)
    organizationId: OrganizationId | None = None


def clean_up(payload: CleanupPayload, ctx: JobContext) -> dict:
    cutoff = time.time() - payload.olderThanDays * 86400
    removed: dict[str, int] = {}
    for target in ("reports", "exports") if payload.target == "all" else (payload.target,):
        root = area(ctx.settings.data_dir, target)
        if payload.organizationId:
            root = root / files.safe_name(payload.organizationId)
        removed[target] = 0
        for path in sorted(root.rglob("*")) if root.exists() else ():
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed[target] += 1
    ctx.progress(100)
    return {"removed": removed, "olderThanDays": payload.olderThanDays}


KIND = JobKind(
    name="saas_clean_up",
    queue="saas.cleanup",
    payload=CleanupPayload,
    process=clean_up,
    max_attempts=3,
    backoff_ms=5000,
    timeout_ms=10 * 60_000,
)
