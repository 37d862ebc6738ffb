"""Three test-only queues (`samples-a`, `-b`, `-c`) running the deterministic sample processor, each start
marked in the job log with a unique token (a write a client retried shows twice with the same token; a second
start has a new one).

Workers load them with WELLQUEUE_KIND_MODULES='["reliability.sample_queues"]' and tests/ on PYTHONPATH
(see conftest.multi_queue_pythonpath), so a scenario can spread its load over several queues."""

from __future__ import annotations

from uuid import uuid4

from wellqueue_tui.jobs.kind import JobKind

from jobs.sample_kinds import SamplePayload, process

QUEUES = ("samples-a", "samples-b", "samples-c")
START_MARK = "start"


def process_marking_each_start(payload: SamplePayload, ctx) -> dict:
    ctx.log(f"{START_MARK} {ctx.attempt} {uuid4().hex[:12]}")
    return process(payload, ctx)


KINDS = [
    JobKind(
        name=f"sample_job_{queue[-1]}",
        queue=queue,
        payload=SamplePayload,
        process=process_marking_each_start,
        max_attempts=3,
        backoff_ms=100,
        timeout_ms=60_000,
    )
    for queue in QUEUES
]
