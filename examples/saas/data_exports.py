"""The `saas.data-exports` queue (2 attempts, 10-minute timeout): an organization's entities as one JSON
file, or a ZIP of one CSV per entity, under `{data_dir}/saas/exports/{organizationId}/`."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Literal

from pydantic import BaseModel, Field

from wellqueue_tui.jobs.context import JobContext
from wellqueue_tui.jobs.kind import JobKind

from ..common import files, tables
from . import notify
from .fields import PAYLOAD_CONFIG, EmailAddress, Identifier, OrganizationId
from .store import RECORD_COLUMNS, USER_COLUMNS, area, entity_rows, now_iso, open_store

Entity = Literal["stations", "audits", "incidents", "work-permits", "contractors", "users"]


class DataExportPayload(BaseModel):
    model_config = PAYLOAD_CONFIG

    organizationId: OrganizationId
    entities: list[Entity] = Field(min_length=1, max_length=6)
    format: Literal["json", "csv"] = "json"
    userId: Identifier | None = None
    notifyEmail: EmailAddress | None = None


def export_data(payload: DataExportPayload, ctx: JobContext) -> dict:
    entities = list(dict.fromkeys(payload.entities))
    exported: dict[str, list[dict]] = {}
    for number, entity in enumerate(entities, start=1):
        with open_store(ctx.settings.data_dir) as db:
            exported[entity] = entity_rows(db, payload.organizationId, entity)
        ctx.progress(80 * number / len(entities))
    if payload.format == "json":
        content = json.dumps(
            {"organizationId": payload.organizationId, "exportedAt": now_iso(), **exported}, indent=2
        ).encode()
        extension = "json"
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, rows in exported.items():
                columns = USER_COLUMNS if name == "users" else RECORD_COLUMNS
                archive.writestr(f"{name}.csv", tables.to_csv(rows, columns))
        content, extension = buffer.getvalue(), "zip"
    folder = area(ctx.settings.data_dir, "exports", files.safe_name(payload.organizationId))
    path = files.write_atomic(folder / f"export_{files.safe_name(ctx.job_id)}.{extension}", content)
    notice = notify.file_ready(ctx, payload.notifyEmail, "data export", path, payload.organizationId)
    ctx.progress(100)
    return {"path": str(path), "counts": {name: len(rows) for name, rows in exported.items()}, "notification": notice}


KIND = JobKind(
    name="saas_export_data",
    queue="saas.data-exports",
    payload=DataExportPayload,
    process=export_data,
    max_attempts=2,
    backoff_ms=5000,
    timeout_ms=10 * 60_000,
)
