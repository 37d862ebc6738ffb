"""The `pam.ingestion` queue: store one upload of index data (CSV text or rows) for a series.

`data` is CSV with a `value` column and an optional `date` column (default: `asOfDate`), or a list of
`{"date", "value"}` rows. Values are upserted by (tenant, series, date, versionTag), so a retried or
repeated upload leaves the same rows. A malformed row fails the job at once, naming its line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from .fields import PAYLOAD_CONFIG, Identifier, SeriesCode
from .store import open_store

MAX_ROWS = 100_000
MAX_CSV_CHARS = 8 * 1024 * 1024
PROGRESS_EVERY = 500


class IndexRow(BaseModel):
    model_config = PAYLOAD_CONFIG

    date: dt.date | None = None
    value: float = Field(allow_inf_nan=False)


class IngestionPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    tenantId: Identifier
    seriesCode: SeriesCode
    asOfDate: dt.date
    versionTag: Identifier = "final"
    source: Identifier = "csv"
    data: (
        Annotated[str, StringConstraints(max_length=MAX_CSV_CHARS)]
        | Annotated[list[IndexRow], Field(max_length=MAX_ROWS)]
    )


def parse_rows(payload: IngestionPayload) -> list[tuple[dt.date, float]]:
    """The (date, value) pairs of the upload; CSV errors name the line."""
    if isinstance(payload.data, list):
        return [(row.date or payload.asOfDate, row.value) for row in payload.data]
    reader = csv.DictReader(io.StringIO(payload.data.strip()))
    columns = {name.strip().lower(): name for name in reader.fieldnames or ()}
    if "value" not in columns:
        raise PermanentJobError("data: the CSV needs a header row with a `value` column (and optionally `date`)")
    rows = []
    for line, record in enumerate(reader, start=2):
        raw_value = (record.get(columns["value"]) or "").strip()
        raw_date = (record.get(columns["date"]) or "").strip() if "date" in columns else ""
        try:
            value = float(raw_value)
            day = dt.date.fromisoformat(raw_date) if raw_date else payload.asOfDate
        except ValueError:
            raise PermanentJobError(
                f"data: CSV line {line}: expected an ISO date and a number, "
                f"got date={raw_date[:20]!r} value={raw_value[:20]!r}"
            ) from None
        if not math.isfinite(value):
            raise PermanentJobError(f"data: CSV line {line}: value must be a finite number")
        rows.append((day, value))
        if len(rows) > MAX_ROWS:
            raise PermanentJobError(f"data: more than {MAX_ROWS} rows; split the upload")
    return rows


def ingest(payload: IngestionPayload, ctx: JobContext) -> dict:
    rows = parse_rows(payload)
    if not rows:
        raise PermanentJobError("data: no index values in the upload")
    ctx.log(
        f"ingesting {len(rows)} value(s) of {payload.seriesCode} as of {payload.asOfDate} "
        f"({payload.versionTag}, from {payload.source})"
    )
    with open_store(ctx.settings.data_dir) as db:
        for start in range(0, len(rows), PROGRESS_EVERY):
            chunk = rows[start : start + PROGRESS_EVERY]
            db.executemany(
                "INSERT INTO index_values VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, series_code, value_date, version_tag) DO UPDATE SET "
                "value = excluded.value, as_of_date = excluded.as_of_date, source = excluded.source, "
                "job_id = excluded.job_id",
                [
                    (
                        payload.tenantId,
                        payload.seriesCode,
                        day.isoformat(),
                        payload.versionTag,
                        value,
                        payload.asOfDate.isoformat(),
                        payload.source,
                        ctx.job_id,
                    )
                    for day, value in chunk
                ],
            )
            ctx.progress(100 * (start + len(chunk)) / len(rows))
    days = sorted(day for day, _ in rows)
    return {
        "seriesCode": payload.seriesCode,
        "versionTag": payload.versionTag,
        "rows": len(rows),
        "from": days[0].isoformat(),
        "to": days[-1].isoformat(),
    }


KIND = JobKind(
    name="pam_ingest_index_data",
    queue="pam.ingestion",
    payload=IngestionPayload,
    process=ingest,
    max_attempts=3,
    backoff_ms=5000,
    timeout_ms=5 * 60_000,
    tenant_field="tenantId",
)
