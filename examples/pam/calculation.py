"""The `pam.calculation` queue: price every item of a batch from the stored index values.

adjusted price = base price × ((1 − share) + share × index(price date) / index(base date)). A batch the
store does not know fails at once; an index value not ingested yet is retried (the ingestion may still be
running). Results are upserted per item, and a `calc.batch.completed` message is left for webhook delivery.
"""

from __future__ import annotations

from pydantic import BaseModel

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from .fields import PAYLOAD_CONFIG, Identifier
from .store import (
    BatchItem,
    batch_items,
    index_value,
    now_iso,
    open_store,
    record_message,
)

COMPLETED_EVENT = "calc.batch.completed"


class IndexNotYetAvailable(Exception):
    """An index value the batch needs is missing; retried, since an ingestion may bring it."""


class CalculationPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    tenantId: Identifier
    batchId: Identifier


def adjusted_price(item: BatchItem, base_index: float, current_index: float) -> float:
    if base_index <= 0:
        raise PermanentJobError(
            f"item {item.item_id}: index {item.series_code} is {base_index} on "
            f"{item.base_date}; a base index must be positive"
        )
    share = item.indexed_share
    return round(item.base_price * ((1 - share) + share * current_index / base_index), 6)


def calculate(payload: CalculationPayload, ctx: JobContext) -> dict:
    ctx.progress(0)
    with open_store(ctx.settings.data_dir) as db:
        items = batch_items(db, payload.tenantId, payload.batchId)
        if not items:
            raise PermanentJobError(
                f"batchId: batch {payload.batchId!r} of tenant {payload.tenantId!r} has no "
                "items; define the batch before enqueueing its calculation"
            )
        results = []
        for number, item in enumerate(items, start=1):
            base = index_value(db, payload.tenantId, item.series_code, item.base_date)
            current = index_value(db, payload.tenantId, item.series_code, item.price_date)
            if base is None or current is None:
                missing = [
                    str(day) for day, value in ((item.base_date, base), (item.price_date, current)) if value is None
                ]
                raise IndexNotYetAvailable(
                    f"item {item.item_id}: no {item.series_code} value for "
                    f"{', '.join(missing)} yet; ingest it and the retry will pick it up"
                )
            results.append((item, base, current, adjusted_price(item, base, current)))
            ctx.progress(90 * number / len(items))
        calculated_at = now_iso()
        db.executemany(
            "INSERT OR REPLACE INTO calc_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (payload.tenantId, payload.batchId, item.item_id, base, current, price, calculated_at, ctx.job_id)
                for item, base, current, price in results
            ],
        )
    message_id = f"calc-{payload.tenantId}-{payload.batchId}"
    record_message(
        ctx.settings.data_dir,
        payload.tenantId,
        message_id,
        COMPLETED_EVENT,
        {
            "batchId": payload.batchId,
            "items": len(results),
            "calculatedAt": calculated_at,
            "total": round(sum(price for *_rest, price in results), 6),
        },
    )
    ctx.log(f"priced {len(results)} item(s) of batch {payload.batchId}")
    ctx.progress(100)
    return {"status": "SUCCESS", "timestamp": calculated_at, "items": len(results), "messageId": message_id}


KIND = JobKind(
    name="pam_run_calculation",
    queue="pam.calculation",
    payload=CalculationPayload,
    process=calculate,
    max_attempts=3,
    backoff_ms=5000,
    timeout_ms=5 * 60_000,
    tenant_field="tenantId",
)
