"""Fixtures for registry tests: a broker with the sample kind on the private Redis, and in-process workers
(tests/security and tests/reliability reuse them)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import dramatiq
import pytest

from wellqueue_tui.jobs.broker import WellQueueBroker, build_broker, use_broker
from wellqueue_tui.jobs.kind import JobKind
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import Settings

from .sample_kinds import KIND as SAMPLE_KIND

SAMPLE_DIR = Path(__file__).parent


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, kind_modules=["sample_kinds"])


@contextlib.contextmanager
def make_broker(redis_url: str, settings: Settings, kinds: list[JobKind]) -> Iterator[WellQueueBroker]:
    """A WellQueue broker with only `kinds`, installed as the current broker until the block ends."""
    broker = build_broker(redis_url, settings=settings, kinds=kinds)
    use_broker(broker)
    try:
        yield broker
    finally:
        use_broker(None)
        broker.client.close()


@pytest.fixture
def broker(redis_client, redis_url, settings):
    """A WellQueue broker with only the sample kind (the Redis is emptied by `redis_client`)."""
    with make_broker(redis_url, settings, [SAMPLE_KIND]) as broker:
        yield broker


@pytest.fixture
def registry(broker) -> Registry:
    return Registry(broker.client, broker.keys)


@contextlib.contextmanager
def running_worker(broker, threads: int = 2, queues: Iterable[str] = ("samples",)) -> Iterator[dramatiq.Worker]:
    """An in-process worker on `queues`, started the way the worker entry point starts one."""
    if not getattr(broker, "_booted", False):  # what the worker entry point does once per process
        broker.emit_after("process_boot")
        broker._booted = True
    worker = dramatiq.Worker(broker, queues=set(queues), worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=5000)


#: The shortest deadline a wait gets: it returns as soon as the condition holds, so a short deadline only makes
#: a busy machine fail a test that is right.
MIN_PATIENCE_S = 30.0


def wait_for(predicate, timeout: float = MIN_PATIENCE_S, interval: float = 0.05):
    timeout = max(timeout, MIN_PATIENCE_S)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def state_of(registry: Registry, job_id: str) -> str | None:
    job = registry.get_job(job_id)
    return job.summary.state if job else None
