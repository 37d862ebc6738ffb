"""A test-only queue, `limited`, whose processor records when each job starts and how many jobs of the queue
run at that moment (in plain test keys on the same Redis), for the queue-limit tests.

Worker processes load it with WELLQUEUE_KIND_MODULES='["limit_kinds"]' and this folder on PYTHONPATH."""

from __future__ import annotations

import os
import threading
import time

import redis
from pydantic import BaseModel, ConfigDict, Field

from wellqueue_tui.jobs.kind import JobKind

QUEUE = "limited"
STARTS = "test:limited:starts"  # list of start times (epoch s, this host's clock)
RUNNING = "test:limited:running"  # jobs of the queue running now
CONCURRENT = "test:limited:concurrent"  # list: how many ran, each job's start included, at each start

_local = threading.local()


class LimitedPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=0)
    sleep_ms: int = Field(default=0, ge=0, le=60_000)


def _client() -> redis.Redis:
    if getattr(_local, "client", None) is None:
        _local.client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _local.client


def process(payload: LimitedPayload, ctx) -> dict:
    client = _client()
    with client.pipeline(transaction=True) as pipe:
        pipe.rpush(STARTS, repr(time.time()))
        pipe.incr(RUNNING)
        _, running = pipe.execute()
    client.rpush(CONCURRENT, running)
    try:
        time.sleep(payload.sleep_ms / 1000)
    finally:
        client.decr(RUNNING)
    return {"n": payload.n}


KIND = JobKind(
    name="limited_job",
    queue=QUEUE,
    payload=LimitedPayload,
    process=process,
    max_attempts=1,
    backoff_ms=100,
    timeout_ms=60_000,
)
