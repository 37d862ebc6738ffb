"""The report-generation queue: builds a production, compliance, environmental or safety report file
from the production store and tells each recipient it is ready.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from ...jobs.context import JobContext
from ...jobs.kind import JobKind
from ..production_store import ProductionStore
from ..reports import ReportTable, Scope, build_table, fetch_report_data, write_report
from ..reports.tables import TITLES, ReportType
from .fields import PAYLOAD_CONFIG, EmailAddress, Identifier, OrganizationId

QUEUE = "report-generation"

ReportFormat = Literal["csv", "xlsx", "pdf"]

#: The longest period each report type may cover, in days (start and end included).
MAX_SPAN_DAYS: dict[str, int] = {
    "production_daily": 92,
    "production_monthly": 400,
    "compliance_monthly": 400,
    "environmental_quarterly": 400,
    "safety_weekly": 400,
}


class DateRange(BaseModel):
    model_config = PAYLOAD_CONFIG

    start: dt.date
    end: dt.date

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"must be on or after start ({start.isoformat()})")
        return end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class ReportFilters(BaseModel):
    model_config = PAYLOAD_CONFIG

    operatorId: Identifier | None = None
    leaseId: Identifier | None = None
    wellIds: list[Identifier] | None = Field(default=None, min_length=1, max_length=500)


class ReportPayload(BaseModel):
    """Which report, over which days, in which format, and who hears when it is ready."""

    model_config = PAYLOAD_CONFIG

    reportType: ReportType
    format: ReportFormat
    dateRange: DateRange
    includeCharts: bool = False
    recipients: list[EmailAddress] = Field(default_factory=list, max_length=50)
    organizationId: OrganizationId | None = None
    filters: ReportFilters | None = None

    @model_validator(mode="after")
    def _span_within_limit(self) -> ReportPayload:
        limit = MAX_SPAN_DAYS[self.reportType]
        if self.dateRange.days > limit:
            raise ValueError(
                f"dateRange covers {self.dateRange.days} days; a {self.reportType} report covers at most "
                f"{limit} days, so split the period"
            )
        return self

    def scope(self) -> Scope:
        filters = self.filters or ReportFilters()
        return Scope(
            organization_id=self.organizationId,
            operator_id=filters.operatorId,
            lease_id=filters.leaseId,
            well_ids=tuple(filters.wellIds) if filters.wellIds is not None else None,
        )


def process(payload: ReportPayload, ctx: JobContext) -> dict:
    """Query the store, build the table, write the file, then enqueue one report_ready email per recipient."""
    start, end = payload.dateRange.start, payload.dateRange.end
    ctx.log(f"{payload.reportType} report for {start} to {end} as {payload.format}")
    ctx.progress(5)

    scope = payload.scope()
    store = ProductionStore(ctx.settings.production_db)
    data = fetch_report_data(payload.reportType, store, start, end, scope)
    ctx.log("query: done")
    ctx.progress(35)

    table = build_table(payload.reportType, data, start, end, scope)
    ctx.log(f"build: {len(table.rows)} row(s)" if table.rows else f"build: {table.empty_message}")
    ctx.progress(60)

    path = _write_atomically(payload, ctx, table)
    ctx.log(f"write: {path}")
    ctx.progress(85)

    title = TITLES[payload.reportType]
    for index, recipient in enumerate(payload.recipients):
        ctx.enqueue(
            "email-notifications",
            {
                "type": "report_ready",
                "priority": "medium",
                "recipients": [recipient],
                "subject": f"{title} ready: {start} to {end}",
                "body": (f"The {title} for {start} to {end} ({len(table.rows)} row(s), "
                         f"{payload.format.upper()}) is ready: {path.name}"),
                "data": {"reportPath": str(path), "reportType": payload.reportType},
                "organizationId": payload.organizationId,
            },
            job_id=f"report_ready:{ctx.job_id}:{index}",
        )
        ctx.progress(85 + 15 * (index + 1) / len(payload.recipients))
    ctx.log(f"notify: {len(payload.recipients)} recipient(s)")
    ctx.progress(100)
    return {"path": str(path), "rows": len(table.rows), "format": payload.format}


def report_path(reports_dir: Path, payload: ReportPayload, job_id: str) -> Path:
    """`{reportType}_{start}_{end}_{job id}.{format}`, with the job id reduced to filename-safe characters."""
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", job_id)[:80]
    name = f"{payload.reportType}_{payload.dateRange.start}_{payload.dateRange.end}_{safe_id}.{payload.format}"
    return reports_dir / name


def _write_atomically(payload: ReportPayload, ctx: JobContext, table: ReportTable) -> Path:
    """Write next to the final name, then rename: a retried or killed job never leaves half a file."""
    reports_dir = ctx.settings.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = report_path(reports_dir, payload, ctx.job_id)
    handle, temp_name = tempfile.mkstemp(dir=reports_dir, prefix=".partial-", suffix=f".{payload.format}")
    os.close(handle)
    temp = Path(temp_name)
    try:
        write_report(table, payload.format, temp, charts=payload.includeCharts)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


KIND = JobKind(
    name="generate_report",
    queue=QUEUE,
    payload=ReportPayload,
    process=process,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=15 * 60_000,
)
