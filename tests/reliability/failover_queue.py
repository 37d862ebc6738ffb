"""The queue of the failover scenario (`failover`): each start is appended to `starts.log` in the data dir,
outside Redis, so a start survives the failover that may lose its trace in Redis; each job also writes log
lines and progress, which must not fail it while Redis is switching masters.

Workers load it with WELLQUEUE_KIND_MODULES='["reliability.failover_queue"]' and tests/ on PYTHONPATH."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, Field

from wellqueue_tui.jobs.kind import JobKind

QUEUE = "failover"
STARTS_FILE = "starts.log"


class FailoverPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=0)
    sleep_ms: int = Field(default=0, ge=0, le=10_000)


def process(payload: FailoverPayload, ctx) -> None:
    with open(ctx.settings.data_dir / STARTS_FILE, "a") as starts:  # one short O_APPEND write per start
        starts.write(f"{ctx.job_id}\n")
    ctx.log(f"attempt {ctx.attempt} for n={payload.n}")
    deadline = time.monotonic() + payload.sleep_ms / 1000
    while time.monotonic() < deadline:
        ctx.progress(50)
        time.sleep(0.05)
    ctx.log("done")


KIND = JobKind(
    name="failover_job",
    queue=QUEUE,
    payload=FailoverPayload,
    process=process,
    max_attempts=3,
    backoff_ms=100,
    timeout_ms=60_000,
)
