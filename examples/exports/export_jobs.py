"""The `exports.export` queue: bookings or users as CSV, revenue per month as PDF, written to
`{data_dir}/exports/files/`."""

from __future__ import annotations

from collections import defaultdict

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from ..common import files, tables
from .payloads import BookingsCsv, ExportJob, RevenuePdf, job_of
from .store import COLUMNS, area, open_store

PRIORITY, ATTEMPTS = 5, 2
REVENUE_STATUSES = ("confirmed", "completed")
REVENUE_COLUMNS = ("month", "bookings", "guests", "revenue", "currency")


def filtered_rows(ctx: JobContext, table: str, filters: dict) -> list[dict]:
    columns = COLUMNS[table]
    unknown = [name for name in filters if name not in columns]
    if unknown:
        raise PermanentJobError(f"data.filters: {table} has no field {unknown[0]!r}; use {', '.join(columns)}")
    where, values = [], []
    for name, wanted in filters.items():
        options = wanted if isinstance(wanted, list) else [wanted]
        where.append(f"{name} IN ({', '.join('?' * len(options))})" if options else "0")
        values.extend(options)
    sql = f"SELECT {', '.join(columns)} FROM {table}" + (f" WHERE {' AND '.join(where)}" if where else "")
    with open_store(ctx.settings.data_dir) as db:
        return [dict(row) for row in db.execute(sql + " ORDER BY created_at, id", values).fetchall()]


def revenue_rows(ctx: JobContext, job: RevenuePdf) -> list[dict]:
    start, end = job.data.startDate, job.data.endDate
    if end < start:
        raise PermanentJobError("data.endDate: must not be before data.startDate")
    with open_store(ctx.settings.data_dir) as db:
        bookings = db.execute(
            f"SELECT date, guests, amount, currency FROM bookings WHERE status IN "
            f"({', '.join('?' * len(REVENUE_STATUSES))}) AND date >= ? AND date <= ? ORDER BY date",
            (*REVENUE_STATUSES, start.isoformat()[:10], end.isoformat()[:10] + "\uffff"),
        ).fetchall()
    months: dict[tuple[str, str], dict] = defaultdict(lambda: {"bookings": 0, "guests": 0, "revenue": 0.0})
    for booking in bookings:
        month = months[(booking["date"][:7], booking["currency"])]
        month["bookings"] += 1
        month["guests"] += booking["guests"]
        month["revenue"] = round(month["revenue"] + booking["amount"], 2)
    return [{"month": month, "currency": currency, **totals} for (month, currency), totals in sorted(months.items())]


def run_export(payload: ExportJob, ctx: JobContext) -> dict:
    job = job_of(payload)
    ctx.progress(10)
    if isinstance(job, RevenuePdf):
        rows = revenue_rows(ctx, job)
        period = f"{job.data.startDate:%Y-%m-%d} to {job.data.endDate:%Y-%m-%d}"
        content = tables.to_pdf(
            rows,
            REVENUE_COLUMNS,
            f"Revenue {period}",
            notes=(f"Bookings {' or '.join(REVENUE_STATUSES)}, per month and currency.",),
        )
        extension = "pdf"
    else:
        table = "bookings" if isinstance(job, BookingsCsv) else "users"
        rows = filtered_rows(ctx, table, job.data.filters)
        content, extension = tables.to_csv(rows, COLUMNS[table]), "csv"
    ctx.progress(80)
    path = files.write_atomic(
        area(ctx.settings.data_dir, "files") / f"{job.name}_{files.safe_name(ctx.job_id)}.{extension}", content
    )
    ctx.log(f"{job.name}: {len(rows)} row(s) -> {path.name}")
    ctx.progress(100)
    return {"success": True, "path": str(path), "rows": len(rows)}


KIND = JobKind(
    name="gnb_export",
    queue="exports.export",
    payload=ExportJob,
    process=run_export,
    max_attempts=ATTEMPTS,
    backoff_ms=2000,
    timeout_ms=10 * 60_000,
    priority_of=lambda _payload: PRIORITY,
    tenant_field=None,
)
