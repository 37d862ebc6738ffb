"""The `pam.reports` queue: a batch's price math as a PDF, CSV, XLSX or JSON file under
`{data_dir}/pam/reports/{tenantId}/`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from ..common import files, tables
from .fields import PAYLOAD_CONFIG, Identifier
from .store import open_store

COLUMNS = (
    "item",
    "series",
    "base date",
    "price date",
    "base price",
    "indexed share",
    "base index",
    "current index",
    "adjusted price",
    "change %",
)


class ReportPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    tenantId: Identifier
    reportType: Literal["price-math"]
    batchId: Identifier
    format: Literal["pdf", "csv", "xlsx", "json"] = "pdf"
    userId: Identifier | None = None


def price_math_rows(ctx: JobContext, payload: ReportPayload) -> list[dict]:
    with open_store(ctx.settings.data_dir) as db:
        rows = db.execute(
            "SELECT r.*, b.series_code, b.base_date, b.price_date, b.base_price, b.indexed_share "
            "FROM calc_results r JOIN batch_items b USING (tenant_id, batch_id, item_id) "
            "WHERE r.tenant_id = ? AND r.batch_id = ? ORDER BY r.item_id",
            (payload.tenantId, payload.batchId),
        ).fetchall()
    return [
        {
            "item": row["item_id"],
            "series": row["series_code"],
            "base date": row["base_date"],
            "price date": row["price_date"],
            "base price": row["base_price"],
            "indexed share": row["indexed_share"],
            "base index": row["base_index"],
            "current index": row["current_index"],
            "adjusted price": row["adjusted_price"],
            "change %": round(100 * (row["adjusted_price"] / row["base_price"] - 1), 4) if row["base_price"] else None,
        }
        for row in rows
    ]


def generate_report(payload: ReportPayload, ctx: JobContext) -> dict:
    ctx.progress(5)
    rows = price_math_rows(ctx, payload)
    if not rows:
        raise PermanentJobError(
            f"batchId: batch {payload.batchId!r} has no calculation results; run its calculation first"
        )
    ctx.progress(50)
    title = f"Price math - tenant {payload.tenantId}, batch {payload.batchId}"
    content = tables.render(rows, COLUMNS, payload.format, title=title)
    folder = files.pack_dir(ctx.settings.data_dir, "pam", "reports", files.safe_name(payload.tenantId))
    name = f"{payload.reportType}_{files.safe_name(payload.batchId)}_{files.safe_name(ctx.job_id)}.{payload.format}"
    path = files.write_atomic(folder / name, content)
    ctx.log(
        f"wrote {path.name} ({len(rows)} item(s), {len(content)} bytes)"
        + (f" for user {payload.userId}" if payload.userId else "")
    )
    ctx.progress(100)
    return {"path": str(path), "format": payload.format, "items": len(rows), "bytes": len(content)}


KIND = JobKind(
    name="pam_generate_report",
    queue="pam.reports",
    payload=ReportPayload,
    process=generate_report,
    max_attempts=3,
    backoff_ms=5000,
    timeout_ms=10 * 60_000,
    tenant_field="tenantId",
)
