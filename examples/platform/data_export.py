"""`DATA_EXPORT` (queue `platform.data-export`): one of the platform's datasets, filtered, as CSV, JSON or
XLSX in `{data_dir}/platform/exports/`. `dataset` defaults to `users`; `filters` match columns exactly."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from ..common import files, tables
from .fields import BaseJobData
from .job_types import QUEUES, JobType
from .store import DATASETS, area, open_store, select


class DataExportJobData(BaseJobData):
    exportType: Literal["csv", "json", "xlsx"]
    filters: dict[str, Any]
    columns: list[str] | None = Field(default=None, min_length=1, max_length=50)
    dataset: Literal["users", "notifications", "sessions", "files"] = "users"


def export_data(payload: DataExportJobData, ctx: JobContext) -> dict:
    available = DATASETS[payload.dataset]
    columns = payload.columns or list(available)
    unknown = [c for c in [*columns, *payload.filters] if c not in available]
    if unknown:
        raise PermanentJobError(
            f"columns/filters: {', '.join(map(repr, unknown))} not in {payload.dataset}; use {', '.join(available)}"
        )
    with open_store(ctx.settings.data_dir) as db:
        rows = select(db, payload.dataset, payload.filters)
    ctx.progress(60)
    content = tables.render(rows, columns, payload.exportType, title=f"{payload.dataset} export")
    name = f"{payload.dataset}_{files.safe_name(ctx.job_id)}.{payload.exportType}"
    path = files.write_atomic(area(ctx.settings.data_dir, "exports") / name, content)
    ctx.log(f"exported {len(rows)} {payload.dataset} row(s) to {path.name}")
    ctx.progress(100)
    return {"path": str(path), "rows": len(rows), "format": payload.exportType}


KIND = JobKind(
    name=JobType.DATA_EXPORT,
    queue=QUEUES[JobType.DATA_EXPORT],
    payload=DataExportJobData,
    process=export_data,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=10 * 60_000,
    tenant_field="tenantId",
)
