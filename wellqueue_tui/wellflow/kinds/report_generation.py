"""The report-generation queue: builds a production, compliance, environmental or safety report file
from the production store and tells each recipient it is ready.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer, PlainValidator, ValidationInfo, field_validator, model_validator

from ...jobs.context import JobContext
from ...jobs.kind import JobKind
from ..production_store import ProductionStore
from ..reports import ReportTable, Scope, build_table, fetch_report_data, write_report
from ..reports.tables import TITLES, ReportType
from .fields import PAYLOAD_CONFIG, EmailAddress, Identifier, OrganizationId

QUEUE = "report-generation"

ReportFormat = Literal["csv", "xlsx", "excel", "pdf"]
ReportPriority = Literal["urgent", "high", "medium", "low"]

#: The file each format is written as: WellFlow's `excel` is an .xlsx workbook.
FILE_FORMATS: dict[str, str] = {"csv": "csv", "xlsx": "xlsx", "excel": "xlsx", "pdf": "pdf"}

#: Report priorities map onto job priorities as e-mail priorities do (1 = highest); the rest keep the default.
JOB_PRIORITY = {"urgent": 1, "high": 2}

#: The longest period each report type may cover, in days (start and end included).
MAX_SPAN_DAYS: dict[str, int] = {
    "production_daily": 92,
    "production_monthly": 400,
    "compliance_monthly": 400,
    "environmental_quarterly": 400,
    "safety_weekly": 400,
}


def _day_or_instant(value: object) -> dt.date:
    """A plain date, or an ISO-8601 date-time with `Z` or an offset (a bare local time would be ambiguous),
    kept as given."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a date-time needs Z or an offset (2025-09-05T22:42:36Z), or give a plain date")
        return value
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date (2025-09-05) or an ISO-8601 date-time (2025-09-05T22:42:36.494Z)")
    text = value.strip()
    try:
        parsed = dt.date.fromisoformat(text) if len(text) <= 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a date (2025-09-05) or an ISO-8601 date-time (2025-09-05T22:42:36.494Z)") from None
    return _day_or_instant(parsed) if isinstance(parsed, dt.datetime) else parsed


#: A day, given as a plain date or as a date-time with Z or an offset; stored as given.
DayOrInstant = Annotated[
    dt.date, PlainValidator(_day_or_instant), PlainSerializer(lambda value: value.isoformat(), when_used="json")
]


def calendar_day(value: dt.date) -> dt.date:
    """The calendar day a date or date-time names: a date-time counts in its own offset (Z: UTC)."""
    return value.date() if isinstance(value, dt.datetime) else value


class DateRange(BaseModel):
    model_config = PAYLOAD_CONFIG

    start: DayOrInstant
    end: DayOrInstant

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and calendar_day(end) < calendar_day(start):
            raise ValueError(f"must be on or after start ({calendar_day(start).isoformat()})")
        return end

    @property
    def first_day(self) -> dt.date:
        return calendar_day(self.start)

    @property
    def last_day(self) -> dt.date:
        return calendar_day(self.end)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


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
    reportId: Identifier | None = None  # the caller's name for this report: in the file name and the notice
    priority: ReportPriority = "medium"
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

    @property
    def file_format(self) -> str:
        return FILE_FORMATS[self.format]

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
    start, end = payload.dateRange.first_day, payload.dateRange.last_day
    named = f" {payload.reportId}" if payload.reportId else ""
    ctx.log(f"{payload.reportType} report{named} for {start} to {end} as {payload.file_format}")
    ctx.progress(5)

    scope = payload.scope()
    store = ProductionStore(ctx.settings.production_db)
    data = fetch_report_data(payload.reportType, store, start, end, scope)
    ctx.log("query: done")
    ctx.progress(35)
    ctx.check_cancelled()  # between steps: an operator's cancel stops the report here

    table = build_table(payload.reportType, data, start, end, scope)
    ctx.log(f"build: {len(table.rows)} row(s)" if table.rows else f"build: {table.empty_message}")
    ctx.progress(60)
    ctx.check_cancelled()

    path = _write_atomically(payload, ctx, table)
    ctx.log(f"write: {path}")
    ctx.progress(85)
    ctx.check_cancelled()  # before anyone is told the report is ready

    title = TITLES[payload.reportType]
    for index, recipient in enumerate(payload.recipients):
        notice = {
            "type": "report_ready",
            "priority": payload.priority,
            "recipients": [recipient],
            "subject": f"{title}{named} ready: {start} to {end}",
            "body": (
                f"The {title}{named} for {start} to {end} ({len(table.rows)} row(s), "
                f"{payload.file_format.upper()}) is ready: {path.name}"
            ),
            "data": {
                "reportPath": str(path),
                "reportType": payload.reportType,
                **({"reportId": payload.reportId} if payload.reportId else {}),
            },
            "organizationId": payload.organizationId,
        }
        ctx.enqueue("email-notifications", notice, job_id=f"report_ready:{ctx.job_id}:{index}")
        ctx.progress(85 + 15 * (index + 1) / len(payload.recipients))
    ctx.log(f"notify: {len(payload.recipients)} recipient(s)")
    ctx.progress(100)
    result: dict = {"path": str(path), "rows": len(table.rows), "format": payload.file_format}
    if payload.reportId:
        result["reportId"] = payload.reportId
    return result


def report_path(reports_dir: Path, payload: ReportPayload, job_id: str) -> Path:
    """`{reportType}_{start}_{end}_{reportId or job id}.{extension}`, the id reduced to filename-safe
    characters (a report id names one report, so its re-runs replace the same file)."""
    safe_id = re.sub(r"[^A-Za-z0-9_-]", "_", payload.reportId or job_id)[:80]
    dates = payload.dateRange
    return reports_dir / f"{payload.reportType}_{dates.first_day}_{dates.last_day}_{safe_id}.{payload.file_format}"


def _write_atomically(payload: ReportPayload, ctx: JobContext, table: ReportTable) -> Path:
    """Write next to the final name, then rename: a retried or killed job never leaves half a file."""
    reports_dir = ctx.settings.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = report_path(reports_dir, payload, ctx.job_id)
    handle, temp_name = tempfile.mkstemp(dir=reports_dir, prefix=".partial-", suffix=f".{payload.file_format}")
    os.close(handle)
    temp = Path(temp_name)
    try:
        write_report(table, payload.file_format, temp, charts=payload.includeCharts)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def job_priority(payload: ReportPayload) -> int | None:
    """The job priority a report's own priority asks for (urgent 1, high 2); None keeps the queue's default."""
    return JOB_PRIORITY.get(payload.priority)


KIND = JobKind(
    name="generate_report",
    queue=QUEUE,
    payload=ReportPayload,
    process=process,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=15 * 60_000,
    priority_of=job_priority,
    example={
        "reportId": "RPT-1",
        "reportType": "environmental_quarterly",
        "organizationId": "ORG-8",
        "dateRange": {"start": "2025-09-01T00:00:00.000Z", "end": "2025-09-30T23:59:59.000Z"},
        "format": "pdf",
        "includeCharts": True,
        "recipients": ["manager@wellflow.com"],
        "priority": "medium",
    },
)
