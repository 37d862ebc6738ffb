"""The `saas.reports` queue (5-minute timeout): an organization's audits, incidents or work permits, or a
compliance summary of all three, as JSON, CSV or PDF under `{data_dir}/saas/reports/{organizationId}/`."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from ..common import files, tables
from . import notify
from .fields import PAYLOAD_CONFIG, EmailAddress, Identifier, OrganizationId
from .store import RECORD_COLUMNS, area, entity_rows, open_store

COMPLIANCE_ENTITIES = ("audits", "incidents", "work-permits")


class ReportPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    type: Literal["audits", "incidents", "work-permits", "compliance"]
    organizationId: OrganizationId
    filters: dict[str, Any] = Field(default_factory=dict)
    format: Literal["json", "csv", "pdf"] = "json"
    userId: Identifier | None = None
    notifyEmail: EmailAddress | None = None


def report_rows(ctx: JobContext, payload: ReportPayload) -> tuple[list[dict], tuple[str, ...]]:
    with open_store(ctx.settings.data_dir) as db:
        if payload.type != "compliance":
            return entity_rows(db, payload.organizationId, payload.type, payload.filters), RECORD_COLUMNS
        summary = []
        for entity in COMPLIANCE_ENTITIES:
            statuses = Counter(
                row["status"] for row in entity_rows(db, payload.organizationId, entity, payload.filters)
            )
            summary += [
                {"entity": entity, "status": status, "count": count} for status, count in sorted(statuses.items())
            ]
        return summary, ("entity", "status", "count")


def generate_report(payload: ReportPayload, ctx: JobContext) -> dict:
    rows, columns = report_rows(ctx, payload)
    ctx.progress(60)
    title = f"{payload.type} report - {payload.organizationId}"
    content = tables.render(rows, columns, payload.format, title=title)
    folder = area(ctx.settings.data_dir, "reports", files.safe_name(payload.organizationId))
    path = files.write_atomic(folder / f"{payload.type}_{files.safe_name(ctx.job_id)}.{payload.format}", content)
    ctx.progress(90)
    notice = notify.file_ready(ctx, payload.notifyEmail, f"{payload.type} report", path, payload.organizationId)
    ctx.progress(100)
    return {"path": str(path), "rows": len(rows), "format": payload.format, "notification": notice}


KIND = JobKind(
    name="saas_generate_report",
    queue="saas.reports",
    payload=ReportPayload,
    process=generate_report,
    max_attempts=3,
    backoff_ms=5000,
    timeout_ms=5 * 60_000,
)
