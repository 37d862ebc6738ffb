"""Enqueue, run, retry, fail, delay, prioritize and retain jobs against a real private redis-server."""

from __future__ import annotations

import time

import pytest

from wellqueue_tui.jobs import EnqueueError, enqueue
from wellqueue_tui.jobs.keys import DEFAULT_KEYS as KEYS
from wellqueue_tui.jobs.models import STATES

from .conftest import running_worker, state_of, wait_for


def test_happy_path_records_result_progress_logs_and_counters(broker, registry):
    job_id = enqueue("samples", {"n": 21}, broker=broker)
    assert state_of(registry, job_id) == "waiting"
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "completed")
    job = registry.get_job(job_id)
    assert job.result == {"n": 21, "attempt": 1}
    assert job.summary.attempts == 1 and job.summary.progress == 100
    assert job.summary.duration_ms is not None and job.summary.finished_at >= job.summary.created_at
    assert any("attempt 1 for n=21" in line for line in job.logs)
    minutes = registry.throughput("samples", minutes=2)
    assert sum(m.completed for m in minutes) == 1
    assert registry.queue_counts("samples").completed == 1


def test_enqueue_by_kind_name_and_rejects_bad_input_naming_the_field(broker):
    assert enqueue("sample_job", {"n": 1}, broker=broker)
    with pytest.raises(EnqueueError, match="n: Input should be a valid integer"):
        enqueue("samples", {"n": "many"}, broker=broker)
    with pytest.raises(EnqueueError, match="unknown queue 'nope'"):
        enqueue("nope", {"n": 1}, broker=broker)
    with pytest.raises(EnqueueError, match="priority"):
        enqueue("samples", {"n": 1}, priority=0, broker=broker)
    with pytest.raises(EnqueueError, match="job_id"):
        enqueue("samples", {"n": 1}, job_id="bad id with spaces", broker=broker)


def test_same_job_id_enqueues_once(broker, registry):
    first = enqueue("samples", {"n": 1}, job_id="well-42:2026-11-24", broker=broker)
    second = enqueue("samples", {"n": 2}, job_id="well-42:2026-11-24", broker=broker)
    assert first == second == "well-42:2026-11-24"
    assert registry.queue_counts("samples").waiting == 1
    assert registry.get_job(first).summary.data["n"] == 1
    assert broker.client.llen(f"{broker.namespace}:samples") == 1


def test_delayed_job_waits_until_due(broker, registry):
    job_id = enqueue("samples", {"n": 3}, delay_ms=1500, broker=broker)
    detail = registry.get_job(job_id)
    assert detail.summary.state == "delayed"
    assert detail.delayed_until > detail.summary.created_at + 1.0
    with running_worker(broker):
        assert state_of(registry, job_id) == "delayed"
        wait_for(lambda: state_of(registry, job_id) == "completed", timeout=10)
    job = registry.get_job(job_id)
    assert job.summary.finished_at >= detail.delayed_until - 0.05


def test_prioritized_jobs_run_first_in_priority_order(broker, registry):
    plain = [enqueue("samples", {"n": i, "sleep_ms": 5}, broker=broker) for i in range(3)]
    urgent = enqueue("samples", {"n": 100, "sleep_ms": 5}, priority=1, broker=broker)
    low = enqueue("samples", {"n": 300, "sleep_ms": 5}, priority=3, broker=broker)
    high = enqueue("samples", {"n": 200, "sleep_ms": 5}, priority=2, broker=broker)
    counts = registry.queue_counts("samples")
    assert (counts.waiting, counts.prioritized) == (3, 3)
    assert [j.id for j in registry.list_jobs("samples", "prioritized").jobs] == [urgent, high, low]
    with running_worker(broker, threads=1):
        wait_for(lambda: registry.queue_counts("samples").completed == 6)
    finished = sorted(registry.list_jobs("samples", "completed").jobs, key=lambda j: j.finished_at)
    assert [j.id for j in finished] == [urgent, high, low, *plain]


def test_retries_with_exponential_backoff_then_fails_permanently(broker, registry):
    job_id = enqueue("samples", {"n": 5, "fail_times": 10}, attempts=3, backoff=200, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "failed", timeout=15)
    job = registry.get_job(job_id)
    assert job.summary.attempts == 3
    assert [a.number for a in job.attempt_errors] == [1, 2, 3]
    assert all("planned failure" in a.error for a in job.attempt_errors)
    gaps = [b.at - a.at for a, b in zip(job.attempt_errors, job.attempt_errors[1:])]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # base 200 ms, doubling (Bull's exponential backoff)
    assert "RuntimeError: planned failure 3 of 10" in job.summary.error
    assert "Traceback" in job.traceback
    # kept as a dead letter for triage
    assert broker.client.zcard(f"{broker.namespace}:samples.XQ") == 1


def test_flaky_job_succeeds_on_a_later_attempt(broker, registry):
    job_id = enqueue("samples", {"n": 6, "fail_times": 1}, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "completed", timeout=10)
    job = registry.get_job(job_id)
    assert job.summary.attempts == 2 and job.result == {"n": 6, "attempt": 2}
    assert len(job.attempt_errors) == 1


def test_permanent_error_fails_at_once(broker, registry):
    job_id = enqueue("samples", {"n": 7, "permanent": True}, attempts=5, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "failed")
    assert registry.get_job(job_id).summary.attempts == 1


def test_timeout_stops_the_job_and_counts_as_a_failed_attempt(broker, registry):
    job_id = enqueue("samples", {"n": 8, "sleep_ms": 5000}, timeout_ms=300, attempts=1, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "failed", timeout=10)
    job = registry.get_job(job_id)
    assert "TimeLimitExceeded" in job.summary.error
    assert job.summary.duration_ms < 5000  # cut short: the handler alone sleeps 5 s


def test_long_job_shows_as_active_while_it_runs(broker, registry):
    job_id = enqueue("samples", {"n": 9, "sleep_ms": 1500}, broker=broker)
    with running_worker(broker):
        wait_for(lambda: state_of(registry, job_id) == "active")
        assert registry.get_job(job_id).worker
        wait_for(lambda: state_of(registry, job_id) == "completed")


def test_retention_keeps_the_newest_completed(broker, registry):
    ids = [enqueue("samples", {"n": i}, remove_on_complete=2, broker=broker) for i in range(6)]
    with running_worker(broker, threads=1):
        wait_for(lambda: registry.queue_counts("samples").waiting == 0 and registry.queue_counts("samples").active == 0)
        wait_for(lambda: registry.queue_counts("samples").completed == 2)
    kept = {j.id for j in registry.list_jobs("samples", "completed").jobs}
    assert kept <= set(ids) and len(kept) == 2
    for gone in set(ids) - kept:
        assert registry.get_job(gone) is None
        assert not broker.client.exists(f"wq:job:{gone}:log")


def test_every_job_is_in_exactly_one_state_set(broker, registry):
    ids = [enqueue("samples", {"n": i, "fail_times": i % 3, "permanent": i % 7 == 0}, broker=broker) for i in range(30)]
    ids += [enqueue("samples", {"n": 99}, delay_ms=60_000, broker=broker)]
    with running_worker(broker, threads=4):
        wait_for(
            lambda: registry.queue_counts("samples").waiting == 0 and registry.queue_counts("samples").active == 0,
            timeout=20,
        )
    client = broker.client
    for job_id in ids:
        memberships = [s for s in STATES if client.zscore(KEYS.state("samples", s), job_id) is not None]
        assert memberships == [client.hget(f"wq:job:{job_id}", "state").decode()]
    counts = registry.queue_counts("samples")
    assert counts.total == len(ids)


def test_bulk_enqueue_validates_all_first_then_pipelines(broker, registry):
    from wellqueue_tui.jobs import enqueue_bulk

    with pytest.raises(EnqueueError, match="job 1: invalid payload"):
        enqueue_bulk(
            [{"queue": "samples", "payload": {"n": 1}}, {"queue": "samples", "payload": {"n": "x"}}], broker=broker
        )
    assert registry.queue_counts("samples").total == 0
    ids = enqueue_bulk(
        [{"queue": "samples", "payload": {"n": i}, "priority": 1 if i == 3 else None} for i in range(5)]
        + [
            {"queue": "samples", "payload": {"n": 9}, "job_id": "dup"},
            {"queue": "samples", "payload": {"n": 9}, "job_id": "dup"},
        ],
        broker=broker,
    )
    assert len(ids) == 7 and ids[-1] == ids[-2] == "dup"
    counts = registry.queue_counts("samples")
    assert (counts.waiting, counts.prioritized) == (5, 1)


def test_retention_by_age_drops_completed_jobs_older_than_the_limit(broker, registry):
    old = [enqueue("samples", {"n": i}, remove_on_complete={"age": 1}, broker=broker) for i in range(3)]
    with running_worker(broker):
        wait_for(lambda: registry.queue_counts("samples").completed == 3)
        time.sleep(1.2)
        fresh = enqueue("samples", {"n": 9}, remove_on_complete={"age": 1}, broker=broker)
        wait_for(lambda: state_of(registry, fresh) == "completed")
    assert [j.id for j in registry.list_jobs("samples", "completed").jobs] == [fresh]
    assert all(registry.get_job(i) is None for i in old)
