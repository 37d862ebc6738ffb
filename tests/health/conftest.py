"""Fixtures for the health tests: a broker with the sample, e-mail and webhook kinds on the private Redis,
an enqueue function for alert notifications, and helpers that make worker records and stats."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.broker import WellQueueBroker
from wellqueue_tui.jobs.registry import Registry
from wellqueue_tui.settings import Settings
from wellqueue_tui.wellflow.kinds.email_notifications import KIND as EMAIL_KIND
from wellqueue_tui.wellflow.kinds.webhooks import KIND as WEBHOOK_KIND
from wellqueue_tui.workers.worker_records import (
    WorkerRecord,
    WorkerRecords,
    WorkerState,
)

from jobs.conftest import make_broker, running_worker, wait_for  # noqa: F401  (reused as they are)
from jobs.sample_kinds import KIND as SAMPLE_KIND

WEBHOOK_SECRET = "whsec-health-tests-0123456789"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, webhook_secret=WEBHOOK_SECRET, webhook_allowed_networks=["127.0.0.1/32"])


@pytest.fixture
def broker(redis_client, redis_url, settings) -> Iterator[WellQueueBroker]:
    with make_broker(redis_url, settings, [SAMPLE_KIND, EMAIL_KIND, WEBHOOK_KIND]) as broker:
        yield broker


@pytest.fixture
def registry(broker) -> Registry:
    return Registry(broker.client, broker.keys)


@pytest.fixture
def enqueue_fn(broker):
    return functools.partial(enqueue, broker=broker)


def worker_record(
    supervisor: str, slot: int, queues: tuple[str, ...], state: WorkerState = WorkerState.RUNNING
) -> WorkerRecord:
    host = supervisor.split(":", 1)[0]
    return WorkerRecord(
        id=f"{supervisor}:main:{slot}",
        supervisor=supervisor,
        host=host,
        group="main",
        queues=queues,
        threads=2,
        state=state,
        pid=1000 + slot,
        started=None,
        restarts=0,
        last_exit_code=None,
        rss_bytes=None,
        active=0,
    )


def publish(broker, *records: WorkerRecord) -> None:
    WorkerRecords(broker.client, broker.keys).publish(list(records))
