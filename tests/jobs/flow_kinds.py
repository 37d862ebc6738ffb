"""A job kind for the flow tests: it returns what its children returned, so a test sees what a parent saw.

Loaded by workers through settings.kind_modules (WELLQUEUE_KIND_MODULES='["flow_kinds"]' with this folder on
PYTHONPATH), as sample_kinds is."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from wellqueue_tui.jobs.kind import JobKind, PermanentJobError


class StepPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100)
    sleep_ms: int = Field(default=0, ge=0, le=60_000)
    permanent: bool = False  # fail at once, for good
    organizationId: str | None = None


def process(payload: StepPayload, ctx) -> dict:
    deadline = time.monotonic() + payload.sleep_ms / 1000
    while time.monotonic() < deadline:
        time.sleep(0.02)
    if payload.permanent:
        raise PermanentJobError(f"step {payload.name} cannot run")
    return {"name": payload.name, "children": ctx.children_results, "failures": ctx.children_failures}


KIND = JobKind(
    name="flow_step",
    queue="steps",
    payload=StepPayload,
    process=process,
    max_attempts=2,
    backoff_ms=100,
    timeout_ms=60_000,
)
KINDS = [KIND]
