"""`CACHE_WARM` (queue `platform.cache-warm`): load a dataset (`dataSource`, optionally `name?col=value`)
into the platform's cache table under `cacheKey` for `ttl` seconds (default 3600)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from pydantic import Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind, PermanentJobError

from .fields import BaseJobData
from .job_types import QUEUES, JobType
from .store import DATASETS, now_iso, now_ms, open_store, select

DEFAULT_TTL_S = 3600


class CacheWarmJobData(BaseJobData):
    cacheKey: str = Field(min_length=1, max_length=256)
    dataSource: str = Field(min_length=1, max_length=512)
    ttl: int | None = Field(default=None, ge=1, le=30 * 24 * 3600)  # seconds


def parse_source(source: str) -> tuple[str, dict]:
    dataset, _, query = source.partition("?")
    if dataset not in DATASETS:
        raise PermanentJobError(
            f"dataSource: unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}, "
            "optionally with ?column=value filters"
        )
    filters = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    unknown = [name for name in filters if name not in DATASETS[dataset]]
    if unknown:
        raise PermanentJobError(f"dataSource: {dataset} has no column {unknown[0]!r}")
    return dataset, filters


def warm_cache(payload: CacheWarmJobData, ctx: JobContext) -> dict:
    dataset, filters = parse_source(payload.dataSource)
    ttl = payload.ttl or DEFAULT_TTL_S
    with open_store(ctx.settings.data_dir) as db:
        rows = select(db, dataset, filters)
        db.execute(
            "INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?, ?)",
            (payload.cacheKey, json.dumps(rows), payload.dataSource, now_iso(), now_ms() + ttl * 1000),
        )
    ctx.progress(100)
    return {"cacheKey": payload.cacheKey, "entries": len(rows), "ttl": ttl}


KIND = JobKind(
    name=JobType.CACHE_WARM,
    queue=QUEUES[JobType.CACHE_WARM],
    payload=CacheWarmJobData,
    process=warm_cache,
    max_attempts=3,
    backoff_ms=2000,
    timeout_ms=60_000,
    tenant_field="tenantId",
)
