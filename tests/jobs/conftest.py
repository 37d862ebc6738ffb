"""Fixtures for registry tests: a broker with the sample kind on the private Redis, and in-process workers."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import dramatiq
import pytest

from wellqueue_tui.jobs.broker import build_broker, use_broker
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import Settings

from .sample_kinds import KIND as SAMPLE_KIND

SAMPLE_DIR = Path(__file__).parent


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, kind_modules=["sample_kinds"])


@pytest.fixture
def broker(redis_client, redis_url, settings):
    """A WellQueue broker with only the sample kind (the Redis is emptied by `redis_client`)."""
    broker = build_broker(redis_url, settings=settings, kinds=[SAMPLE_KIND])
    use_broker(broker)
    yield broker
    use_broker(None)
    broker.client.close()


@pytest.fixture
def registry(broker) -> Registry:
    return Registry(broker.client, broker.namespace)


@contextlib.contextmanager
def running_worker(broker, threads: int = 2, queues=("samples",)):
    if not getattr(broker, "_booted", False):  # what the worker entry point does once per process
        broker.emit_after("process_boot")
        broker._booted = True
    worker = dramatiq.Worker(broker, queues=set(queues), worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=5000)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
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
