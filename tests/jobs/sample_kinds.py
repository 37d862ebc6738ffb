"""Job kinds for the registry tests: deterministic behaviour chosen by the payload.

Loaded by workers through settings.kind_modules (WELLQUEUE_KIND_MODULES='["sample_kinds"]' with this
folder on PYTHONPATH), so subprocess workers run exactly what the tests enqueue."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from wellqueue_tui.jobs.kind import JobKind, PermanentJobError


class SamplePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=-1000, le=10**9)
    sleep_ms: int = Field(default=0, ge=0, le=60_000)
    fail_times: int = Field(default=0, ge=0)  # fail this many attempts, then succeed
    permanent: bool = False
    needs_file: str | None = None  # fail (retryably) until this file exists in the data dir
    organizationId: str | None = None


def process(payload: SamplePayload, ctx) -> dict:
    ctx.log(f"attempt {ctx.attempt} for n={payload.n}")
    ctx.progress(10)
    deadline = time.monotonic() + payload.sleep_ms / 1000
    while time.monotonic() < deadline:  # short slices, as real work loops: a time limit can interrupt them
        time.sleep(0.02)
    if payload.permanent:
        raise PermanentJobError(f"n={payload.n} can never work")
    if payload.needs_file and not (ctx.settings.data_dir / payload.needs_file).exists():
        raise RuntimeError(f"{payload.needs_file} is not there yet")
    if ctx.attempt <= payload.fail_times:
        raise RuntimeError(f"planned failure {ctx.attempt} of {payload.fail_times}")
    ctx.progress(100)
    return {"n": payload.n, "attempt": ctx.attempt}


KIND = JobKind(
    name="sample_job",
    queue="samples",
    payload=SamplePayload,
    process=process,
    max_attempts=3,
    backoff_ms=100,
    timeout_ms=60_000,
)
