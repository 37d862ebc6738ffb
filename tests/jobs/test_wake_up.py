"""An idle consumer waits on its queue's wake-up marker, which every script that makes a job ready sets, so a job
on a quiet queue starts when it is stored rather than when the consumer's poll backoff runs out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dramatiq

from wellqueue_tui.jobs import enqueue
from wellqueue_tui.jobs.actions import promote_job

from .conftest import state_of, wait_for


@contextlib.contextmanager
def idle_worker(broker, queue: str = "samples") -> Iterator[dramatiq.Worker]:
    """A one-thread worker with a long poll backoff (4 s), its consumer of `queue` idle and waiting on the marker."""
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, queues={queue}, worker_threads=1, worker_timeout=4000)
    worker.start()
    keys = broker.keys.queue(queue)
    try:
        for name, marker in ((queue, keys.wake), (f"{queue}.DQ", keys.delayed_wake)):
            wait_for(lambda name=name: getattr(worker.consumers[name], "consumer", None) is not None)
            consumer = worker.consumers[name].consumer
            # idle: it has fetched nothing several times over and no marker is waiting to be taken
            wait_for(lambda consumer=consumer, marker=marker: consumer.misses >= 3 and not broker.client.exists(marker))
        yield worker
    finally:
        worker.stop(timeout=10_000)


def test_a_job_on_a_quiet_queue_wakes_the_idle_consumer(broker, registry):
    with idle_worker(broker) as worker:
        consumer = worker.consumers["samples"].consumer
        before = consumer.wakeups
        job_id = enqueue("samples", {"n": 1}, broker=broker)
        wait_for(lambda: state_of(registry, job_id) == "completed")
        assert consumer.wakeups > before  # the enqueue script's marker ended the wait, not the backoff


def test_a_prioritized_job_wakes_the_idle_consumer_too(broker, registry):
    with idle_worker(broker) as worker:
        consumer = worker.consumers["samples"].consumer
        before = consumer.wakeups
        job_id = enqueue("samples", {"n": 2}, priority=3, broker=broker)
        wait_for(lambda: state_of(registry, job_id) == "completed")
        assert consumer.wakeups > before


def test_every_script_that_makes_a_job_ready_sets_its_queues_marker(broker, registry):
    keys = broker.keys.queue("samples")
    enqueue("samples", {"n": 3}, delay_ms=60_000, job_id="later", broker=broker)
    assert broker.client.zcard(keys.delayed_wake) == 1  # the delay queue's consumer is woken to hold it
    assert not broker.client.exists(keys.wake)
    promote_job(registry, "later")
    assert broker.client.zcard(keys.wake) == 1
    enqueue("samples", {"n": 4}, broker=broker)
    enqueue("samples", {"n": 5}, broker=broker)
    assert broker.client.zcard(keys.wake) == 1  # one marker however many jobs: a flag, not a count


def test_a_retry_wakes_the_idle_delay_queue_consumer_that_holds_it_until_due(broker, registry):
    with idle_worker(broker) as worker:
        delay_consumer = worker.consumers["samples.DQ"].consumer
        before = delay_consumer.wakeups
        job_id = enqueue("samples", {"n": 6, "fail_times": 1}, broker=broker)
        wait_for(lambda: state_of(registry, job_id) == "completed")
        assert delay_consumer.wakeups > before  # the finish script's marker, not the 4 s backoff
